"""The text extraction reads: markup blanked out without moving a character, and a size cap.

Parsing a normalised copy of the same length keeps every spaCy offset valid in the original
text, so evidence sentences are always sliced from what the paper says.
"""

from __future__ import annotations

import html
import re

# arXiv abstracts are at most 1,920 characters; 20,000 leaves room for long S2 abstracts while
# bounding the parse of a pathological input to well under a second.
MAX_PARSE_CHARS = 20_000

_CITATION = re.compile(r"\\(?:cite[a-z]*|ref|eqref|label|url|footnote)\*?\{[^{}]*\}")
_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
_MARKUP_CHARS = re.compile(r"[\\{}$^_~]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,200})?/?>")


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _unescape(match: re.Match[str]) -> str:
    raw = match.group(0)
    char = html.unescape(raw)
    if char == raw or len(char) > len(raw):
        return raw
    return char + " " * (len(raw) - len(char))


def normalize(text: str) -> str:
    """`text` with LaTeX and HTML markup blanked and entities decoded, at the same length.

    >>> normalize(r"gain \\cite{x} of $\\alpha$ &amp; more")
    'gain          of          &     more'
    """
    out = _CITATION.sub(_blank, text)
    out = _TAG.sub(_blank, out)
    out = _COMMAND.sub(_blank, out)
    out = _MARKUP_CHARS.sub(" ", out)
    return _ENTITY.sub(_unescape, out)


def cap(text: str, limit: int = MAX_PARSE_CHARS) -> str:
    """The prefix of `text` that is parsed: at most `limit` characters, cut at a whitespace."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit]
