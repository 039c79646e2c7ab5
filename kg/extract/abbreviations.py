"""Abbreviations defined in the text ("in-context learning (ICL)") linked to their long form.

The long form is found with the algorithm of Schwartz & Hearst, "A simple algorithm for
identifying abbreviation definitions in biomedical text", PSB 2003 (as in scispacy's
`abbreviation.py`): match the short form's characters right to left inside the words before
the parenthesis, the first character at the start of a word. A short form whose long form names
a concept then names that concept wherever it occurs in the paper; a short form defined for
something else stops counting for a concept it happens to spell. The concept mentions must
cover at least half the words of the long form or start it ("reinforcement learning with
verifiable rewards (RLVR)"); otherwise the long form names something else
and its words do not count ("Partial Answer Compression (PAC)" is not about compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from kg.extract.matching import Mention


@dataclass(frozen=True)
class Abbreviation:
    """A short form (its tokens, e.g. ("ICL",)) defined for doc[long_start:long_end]."""

    short: tuple[str, ...]
    long_start: int
    long_end: int


def _valid_short(text: str) -> bool:
    return (
        2 <= len(text) <= 10
        and text[0].isalnum()
        and any(ch.isupper() for ch in text)
        and len(text.split()) <= 2
    )


def long_form_start(long_text: str, short: str) -> int | None:
    """Start of the shortest suffix of `long_text` that `short` abbreviates, or None.

    >>> long_form_start("models can do in-context learning", "ICL")
    14
    """
    s_idx, l_idx = len(short) - 1, len(long_text) - 1
    while s_idx >= 0:
        ch = short[s_idx].lower()
        if not ch.isalnum():
            s_idx -= 1
            continue
        while l_idx >= 0 and (
            long_text[l_idx].lower() != ch
            or (s_idx == 0 and l_idx > 0 and long_text[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = long_text.rfind(" ", 0, l_idx + 1) + 1
    return start


def find_abbreviations(doc: Doc) -> list[Abbreviation]:
    """Definitions "long form (SF)" in `doc`."""
    found: list[Abbreviation] = []
    for tok in doc:
        if tok.text != "(" or tok.i == 0:
            continue
        close = next((t.i for t in doc[tok.i + 1 : tok.i + 5] if t.text == ")"), None)
        if close is None or close == tok.i + 1:
            continue
        short = doc[tok.i + 1 : close].text
        if not _valid_short(short):
            continue
        sent_start = tok.sent.start
        words = sum(1 for t in doc[sent_start : tok.i] if not t.is_punct)
        window = min(len(short) + 5, 2 * len(short), words)
        first = tok.i
        seen = 0
        while first > sent_start and seen < window:
            first -= 1
            seen += 0 if doc[first].is_punct else 1
        candidate: Span = doc[first : tok.i]
        start_char = long_form_start(candidate.text, short)
        if start_char is None:
            continue
        span = doc.char_span(
            candidate.start_char + start_char, candidate.end_char, alignment_mode="expand"
        )
        if span is None or len(span) < 1 or span.text.lower() == short.lower():
            continue
        found.append(
            Abbreviation(tuple(t.text for t in doc[tok.i + 1 : close]), span.start, span.end)
        )
    return found


def _occurrences(doc: Doc, short: tuple[str, ...]) -> list[tuple[int, int]]:
    """Token spans of `doc` spelling `short` (or its plural in "s"), case-sensitively."""
    plural = (*short[:-1], short[-1] + "s")
    n = len(short)
    return [
        (i, i + n)
        for i in range(len(doc) - n + 1)
        if tuple(t.text for t in doc[i : i + n]) in (short, plural)
    ]


def link_abbreviations(
    docs: Sequence[Doc], mentions: Sequence[list[Mention]]
) -> list[list[Mention]]:
    """`mentions` per doc, plus every use of a short form defined for a concept, minus uses of
    vocabulary acronyms that the text defines as something else."""
    linked: dict[tuple[str, ...], set[str]] = {}
    # Concepts a short form's long form names by a specific alias; one named only through a
    # contextual alias ("gradient descent (GD)" next to "in-context") links as generic.
    specific: dict[tuple[str, ...], set[str]] = {}
    inside_other_names: list[set[tuple[int, int]]] = []
    for doc, doc_mentions in zip(docs, mentions, strict=True):
        others: set[tuple[int, int]] = set()
        inside_other_names.append(others)
        for abbr in find_abbreviations(doc):
            inside = [
                m for m in doc_mentions if m.start < abbr.long_end and m.end > abbr.long_start
            ]
            words = [t.i for t in doc[abbr.long_start : abbr.long_end] if not t.is_punct]
            covered = [i for i in words if any(m.start <= i < m.end for m in inside)]
            names_it = 2 * len(covered) >= len(words) or any(
                m.start == abbr.long_start for m in inside
            )
            concepts = {m.concept for m in inside} if names_it else set()
            if not concepts:
                others.update((m.start, m.end) for m in inside)
            linked.setdefault(abbr.short, set()).update(concepts)
            for m in inside:
                if names_it and not m.generic:
                    specific.setdefault(abbr.short, set()).add(m.concept)
    if not linked:
        return [list(m) for m in mentions]
    mentions = [
        [m for m in doc_mentions if (m.start, m.end) not in others]
        for doc_mentions, others in zip(mentions, inside_other_names, strict=True)
    ]
    spelled = {
        form: c for short, c in linked.items() for form in (short, (*short[:-1], short[-1] + "s"))
    }
    out: list[list[Mention]] = []
    for doc, doc_mentions in zip(docs, mentions, strict=True):
        kept = [
            m
            for m in doc_mentions
            if m.concept in spelled.get(tuple(t.text for t in doc[m.start : m.end]), {m.concept})
        ]
        taken = {(m.start, m.end, m.concept) for m in kept}
        for short, concepts in linked.items():
            for start, end in _occurrences(doc, short):
                for concept in sorted(concepts - {m.concept for m in kept if m.start == start}):
                    if (start, end, concept) not in taken:
                        generic = concept not in specific.get(short, set())
                        kept.append(Mention(concept, start, end, generic))
                        taken.add((start, end, concept))
        out.append(sorted(kept, key=lambda m: (m.start, m.end, m.concept)))
    return out
