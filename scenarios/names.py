"""Names the scenarios use, importable without the schema (so the command line starts without pydantic)."""

SUBTYPES: tuple[str, ...] = ("DM", "PM", "IMNM_HMGCR", "IMNM_SRP", "ASS", "IBM", "JDM")
