"""Names the scenarios use, importable without the schema (so the command line starts without pydantic)."""

from iimsim.pathway.vocabulary import SUBTYPES  # noqa: F401  (re-exported)


def folder_name(label: str) -> str:
    """A scenario's name (a label, which may hold anything) as one safe file or folder name: the parts between
    slashes that are not "." or "..", joined by '_'; letters, digits, '.', '_' and '-' kept and every other run of
    characters one '_'; no leading dot (nothing hidden); at most 100 characters; "scenario" if nothing is left."""
    import re

    parts = [part for part in re.split(r"[/\\]+", label) if part not in ("", ".", "..")]
    safe = re.sub(r"[^\w.-]+", "_", "_".join(parts), flags=re.ASCII).lstrip(".")[:100]
    return safe or "scenario"
