"""The repository speaks of the product only: its code, comments, docs, scenarios and tests cite the clinical
documents by title or by their key in docs/sources.md, never by a file number or a path outside the
repository, and say nothing of how the product was made (history belongs in git and CHANGELOG.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_FOLDERS = {".git", ".venv", "venv", "runs", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis",
                   "node_modules"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".j2", ".txt", ".cfg", ".csv", ".sh", ".yml", ".yaml", ".json", ".cff",
                 ".html", ".ini", ".mmd", ".svg"}
# Patterns are put together from pieces so that this file does not match them itself.
S, E = "ses" + "sion", "evi" + "dence"
FORBIDDEN = {
    "a clinical document by its file number": r"\bseeds? 00\d",
    "a file outside the repository": rf"\b{E}\.md\b|\.\./{'sha' + 'red'}\b",
    "a tracker's issue": r"\bissue #?\d|\bissue's\b|\b(?:this|that|the performance|the disease-course) issue\b",
    "how the product was made": r"\bdesign " + "card",
    "a working " + S: rf"\b(?:this|that|the same|a later|later|latest|earlier|previous) {S}\b|\b{S}'s machine\b",
}
# "Session" is the product's own word for an infusion unit's chair time, and Streamlit's for a browser's visit:
# a line speaking of either, or near one that does, may use it.
SESSION_CONTEXTS = re.compile(r"chair|infusion|unit\b|visit|queue|closing|opening|streamlit|browser|"
                              r"session_state|session's state|scope=\"session\"", re.IGNORECASE)
BARE_SESSION = re.compile(rf"\b{S}\b", re.IGNORECASE)
# A commit hash in prose (docs and changelog): seven or more hex digits with both a letter and a digit.
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")


def text_files() -> list[Path]:
    """Every text file of the repository (not the version control's own, nor virtual environments or runs)."""
    files = []
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if not path.is_file() or parts & SKIPPED_FOLDERS or any(p.endswith(".egg-info") for p in parts):
            continue
        if path.suffix in TEXT_SUFFIXES or (path.suffix == "" and path.parent.name == ".ci"):
            files.append(path)
    return files


def offences(path: Path) -> list[str]:
    """Each line of `path` that breaks the rule, with what it is."""
    found = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except UnicodeDecodeError:
        return found
    for number, line in enumerate(lines, 1):
        where = f"{path.relative_to(ROOT)}:{number}"
        for what, pattern in FORBIDDEN.items():
            if re.search(pattern, line, re.IGNORECASE):
                found.append(f"{where}: {what}: {line.strip()[:100]}")
        near = "\n".join(lines[max(0, number - 4):number + 3])
        if BARE_SESSION.search(line) and not SESSION_CONTEXTS.search(near):
            found.append(f"{where}: 'session' outside an infusion unit or the app: {line.strip()[:100]}")
        if path.suffix == ".md" and COMMIT_HASH.search(line):
            found.append(f"{where}: a commit hash in prose: {line.strip()[:100]}")
    return found


def test_the_scan_sees_the_repository():
    names = {p.relative_to(ROOT).as_posix() for p in text_files()}
    assert {"README.md", "pyproject.toml", "scenarios/builtin/baseline.toml", "tests/test_wording.py"} <= names


def test_no_words_about_how_the_product_was_made():
    found = [line for path in text_files() for line in offences(path)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line, offends", [
    ("the treatment algorithm of seed " + "003", True),
    ("as the design " + "card says", True),
    ("measured in this " + S, True),
    ("see issue " + "12", True),
    ("one " + S + " of an IVIG visit queues for a chair", False),
    ("st.session_state keeps the run", False),
    ("a random seed of 3", False),
    ("rebuilt by the performance work (4c9f695)", True),
])
def test_the_rule_tells_product_words_from_history(tmp_path, line, offends, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / "note.md"
    path.write_text(line + "\n", "utf-8")
    assert bool(offences(path)) is offends
