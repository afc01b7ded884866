"""Text from a scenario (its name, description, currency) or a message quoting it, for Streamlit's Markdown
elements (captions, headers, messages, button labels): shown as the text it is, never as formatting, a link, an
image fetched or HTML."""

from __future__ import annotations

import string

from iimsim.scenarios.loader import one_line


def as_text(text: str) -> str:
    """`text` as one line with every ASCII punctuation character escaped (CommonMark's backslash escapes: each
    shows as itself)."""
    return "".join("\\" + c if c in string.punctuation else c for c in one_line(str(text)))
