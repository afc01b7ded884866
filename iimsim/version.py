"""The version every run records in its manifest (kept apart so that the lower layers can read it)."""

__version__ = "0.1.0"
