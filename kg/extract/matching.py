"""Vocabulary matching: where a Doc names a concept, through its aliases and their variants.

Aliases match case-insensitively, with spelling variants generated once (hyphen or space or
nothing between parts: "pre-training", "pre training", "pretraining"; singular or plural of the
last word). Acronyms ("ICL", "CoT") match case-sensitively. Contextual aliases ("scale") count
only near one of their context words (within CONTEXT_WINDOW words, same sentence; a hyphenated
word such as "in-context" is one word). Overlapping matches: the longest wins; a span that
matches several concepts evidences all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Token

from kg.vocabulary import Vocabulary


@dataclass(frozen=True)
class Mention:
    """A concept named by tokens doc[start:end]; `generic` if by a contextual alias;
    `subsumed` if a narrower concept named in the same sentence takes it over; `listed` if
    one item of an enumeration ("translation, summarization and reasoning", "ranging from
    dialogue to reasoning")."""

    concept: str
    start: int
    end: int
    generic: bool = False
    subsumed: bool = False
    listed: bool = False


CONTEXT_WINDOW = 5
_PLURAL_EXCEPTIONS = {"data", "corpus", "bias", "analysis", "process", "loss", "series", "less"}


def _number_variants(word: str) -> set[str]:
    """The word and its plural or singular (regular English inflection only)."""
    out = {word}
    if not word.isalpha() or len(word) < 4 or word.lower() in _PLURAL_EXCEPTIONS:
        return out
    lower = word.lower()
    if lower.endswith("ies"):
        out.add(word[:-3] + "y")
    elif lower.endswith(("ses", "xes", "ches", "shes")):
        out.add(word[:-2])
    elif lower.endswith("s") and not lower.endswith("ss"):
        out.add(word[:-1])
    elif lower.endswith("y") and lower[-2:-1] not in "aeiou":
        out.add(word[:-1] + "ies")
    elif lower.endswith(("s", "x", "ch", "sh")):
        out.add(word + "es")
    else:
        out.add(word + "s")
    return out


def variants(alias: str) -> set[str]:
    """Spelling variants of an alias: hyphenation (also all words hyphenated, as a modifier)
    and the number of its last word."""
    forms = {alias}
    for joined, split in (("finetun", "fine-tun"), ("pretrain", "pre-train")):
        if joined in alias.lower():
            forms.add(re.sub(joined, split, alias, flags=re.IGNORECASE))
    if "-" in alias:
        forms |= {alias.replace("-", " "), alias.replace("-", "")}
    if " " in alias and re.search(r"\b(pre|multi|non|meta|self|re) ", alias):
        forms.add(re.sub(r"\b(pre|multi|non|meta|self|re) ", r"\1-", alias))
    if 1 <= alias.count(" ") <= 2:
        forms.add(alias.replace(" ", "-"))  # used as a modifier: "in-context-learning tasks"
    out: set[str] = set()
    for form in forms:
        head, _, last = form.rpartition(" ")
        out |= {f"{head} {w}" if head else w for w in _number_variants(last)}
    return out


def is_acronym(alias: str) -> bool:
    """Acronym-like aliases ("ICL", "CoT", "kNN") match case-sensitively."""
    if " " in alias:
        return False
    upper = sum(ch.isupper() for ch in alias)
    return upper >= 2 or (upper == 1 and not alias[0].isupper())


class ConceptMatcher:
    """Finds vocabulary mentions in Docs made by `nlp` (a pure function of the Doc)."""

    def __init__(self, nlp: Language, vocabulary: Vocabulary) -> None:
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._context: dict[str, frozenset[str]] = {}
        self._generic_keys: set[str] = set()
        self.subsumed_by = {c.id: frozenset(c.subsumed_by) for c in vocabulary if c.subsumed_by}
        self.categorical = frozenset(c.id for c in vocabulary if c.categorical)
        self.property_of = {c.id: c.property_of for c in vocabulary if c.property_of}
        strings = nlp.vocab.strings
        groups: list[tuple[str, tuple[str, ...]]] = []
        for concept in vocabulary:
            groups.append((concept.id, concept.aliases))
            for n, group in enumerate(concept.contextual):
                key = f"{concept.id}|{n}"
                groups.append((key, group.aliases))
                self._generic_keys.add(key)
                self._context[key] = frozenset(
                    form for word in group.context for form in _number_variants(word)
                )
        for key, aliases in groups:
            exact = [a for a in aliases if is_acronym(a)]
            loose = sorted({v for a in aliases if not is_acronym(a) for v in variants(a)})
            if exact:
                acr = sorted({v for a in exact for v in (a, a + "s")})
                self._exact.add(key, [nlp.make_doc(a) for a in acr])
            if loose:
                self._lower.add(key, [nlp.make_doc(a) for a in loose])
            strings.add(key)

    def __call__(self, doc: Doc) -> list[Mention]:
        """Mentions in `doc`, in text order, overlaps resolved (longest span wins)."""
        strings = doc.vocab.strings
        raw: list[tuple[int, int, str, bool]] = []
        for matcher in (self._lower, self._exact):
            for match_id, start, end in matcher(doc):
                key = strings[match_id]
                generic = key in self._generic_keys
                concept = key.split("|", 1)[0]
                if generic and not self._in_context(doc, start, end, self._context[key]):
                    continue
                raw.append((start, end, concept, generic))
        return list(_longest(raw))

    def mark_subsumed(self, mentions: Iterable[Mention]) -> tuple[Mention, ...]:
        """Mentions of one sentence, those of a concept subsumed by another one named there
        marked `subsumed` ("reasoning" next to "chain-of-thought")."""
        mentions = tuple(mentions)
        named = {m.concept for m in mentions}
        return tuple(
            replace(m, subsumed=True) if self.subsumed_by.get(m.concept, set()) & named else m
            for m in mentions
        )

    @staticmethod
    def _in_context(doc: Doc, start: int, end: int, words: frozenset[str]) -> bool:
        """A context word within CONTEXT_WINDOW words of the alias, in the same sentence.
        Hyphenated words count as one ("in-context", "pre-training"), as spaCy splits them."""
        sent = doc[start].sent
        before = _words(doc[sent.start : start])[-CONTEXT_WINDOW:]
        after = _words(doc[end : sent.end])[:CONTEXT_WINDOW]
        return any(w in words for forms in (*before, *after) for w in forms)


def _words(tokens: Iterable[Token]) -> list[tuple[str, ...]]:
    """The words of a token sequence, each as its forms (lower case, lemma, without hyphens):
    tokens joined by hyphens without spaces ("in", "-", "context") make one word."""
    words: list[list[Token]] = []
    glued = False
    for tok in tokens:
        if tok.is_space:
            glued = False
            continue
        if glued and words:
            words[-1].append(tok)
        else:
            words.append([tok])
        following = tok.doc[tok.i + 1].text if tok.i + 1 < len(tok.doc) else ""
        glued = not tok.whitespace_ and "-" in (tok.text, following)
    out: list[tuple[str, ...]] = []
    for parts in words:
        text = "".join(t.lower_ for t in parts)
        lemma = "".join(t.lemma_.lower() for t in parts)
        out.append((text, text.strip("-"), lemma))
    return out


def _longest(raw: Iterable[tuple[int, int, str, bool]]) -> Iterator[Mention]:
    """Keep the longest non-overlapping spans; every concept matching a kept span is kept."""
    by_span: dict[tuple[int, int], dict[str, bool]] = {}
    for start, end, concept, generic in raw:
        concepts = by_span.setdefault((start, end), {})
        concepts[concept] = concepts.get(concept, True) and generic
    taken: set[int] = set()
    kept: list[tuple[int, int]] = []
    for start, end in sorted(by_span, key=lambda s: (s[0] - s[1], s[0])):
        if taken.isdisjoint(range(start, end)):
            kept.append((start, end))
            taken.update(range(start, end))
    for start, end in sorted(kept):
        for concept, generic in by_span[(start, end)].items():
            yield Mention(concept, start, end, generic)
