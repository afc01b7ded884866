"""Text from a scenario (its name, description, currency) or a message quoting it, for Streamlit's Markdown
elements (captions, headers, messages, button labels): shown as the text it is, never as formatting, a link, an
image fetched or HTML."""

from __future__ import annotations

import string

from iimsim.scenarios.loader import MAX_MESSAGE_CHARACTERS, one_line


def as_text(text: str, whole: bool = False) -> str:
    """`text` as one line with every ASCII punctuation character escaped (CommonMark's backslash escapes: each
    shows as itself); shortened as messages are unless `whole` (a figure's caption, written by the report)."""
    line = one_line(str(text), limit=None if whole else MAX_MESSAGE_CHARACTERS)
    return "".join("\\" + c if c in string.punctuation else c for c in line)
