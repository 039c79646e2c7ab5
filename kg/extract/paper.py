"""A paper as extraction sees it: sentences with their role, offsets and concept mentions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from spacy.tokens import Doc, Span

from kg.extract.abbreviations import link_abbreviations
from kg.extract.matching import ConceptMatcher, Mention
from kg.extract.roles import Role, is_survey, sentence_role


@dataclass(frozen=True)
class Sentence:
    """One sentence (the title counts as one) with offsets into title + "\\n" + abstract."""

    span: Span
    start: int
    end: int
    role: Role
    mentions: tuple[Mention, ...]
    position: int  # 0 for the title, then 1, 2, ... through the abstract

    @property
    def concepts(self) -> set[str]:
        """The concepts the sentence names (subsumed mentions left out)."""
        return {m.concept for m in self.mentions if not m.subsumed}


@dataclass(frozen=True)
class PaperView:
    """The sentences of a paper, title first; `survey` if it presents itself as one."""

    sentences: tuple[Sentence, ...]
    survey: bool = False


_NEGATING = {"without", "no", "w/o", "non", "nor"}
# "A versus B" compares two things the paper studies; neither is a baseline.
_BASELINE = {"than", "unlike", "compared", "comparably", "baseline", "baselines"}


def _asserted(doc: Doc, mentions: list[Mention]) -> list[Mention]:
    """Mentions that are neither negated ("without fine-tuning", "no instruction tuning"), nor
    a baseline ("outperforms fine-tuning baselines", "comparably to fine-tuning", "competitive
    with fine-tuning approaches"), nor held fixed ("under a fixed context length")."""
    kept = []
    for m in mentions:
        before = {t.lower_ for t in doc[max(0, m.start - 2) : m.start]}
        root = doc[m.start : m.end].root
        heads = {t.lower_ for t in (root.head, root.head.head)}
        if before & (_NEGATING | _BASELINE) or heads & (_NEGATING | _BASELINE):
            continue
        if _after_parity(doc, m.start) or before & _HELD:
            continue
        kept.append(m)
    return kept


# What is held fixed is a condition of the experiment, not a factor it varies.
_HELD = {"fixed", "constant", "same", "equal", "matched", "controlled", "identical"}
# Words of parity: what a method is on par with is the yardstick ("competitive with X").
_PARITY = {"competitive", "competitiveness", "par", "gap", "rival", "close", "closer"}


def _after_parity(doc: Doc, start: int) -> bool:
    """The noun phrase starting the words before doc[start] follows a word of parity
    ("competitive with prior fine-tuning approaches", "the gap to supervised fine-tuning"),
    read off the words: the parse of such phrases is unreliable."""
    first = doc[start].sent.start
    for i in range(start - 1, max(first, start - 10) - 1, -1):
        tok = doc[i]
        if tok.lower_ in ("with", "to"):
            return i > first and doc[i - 1].lemma_.lower() in _PARITY
        if "-" in (doc[i - 1].text, tok.text, doc[i + 1].text):
            continue  # "state-of-the-art"
        if tok.is_punct or tok.pos_ in ("ADP", "SCONJ", "CCONJ", "AUX", "VERB"):
            return False
    return False


LIST_SIZE = 3


def _listed(doc: Doc, mentions: list[Mention]) -> list[Mention]:
    """Mentions marked `listed` when they are one item of a coordination of LIST_SIZE or more
    conjuncts, or of a range ("tasks ranging from dialogue to arithmetic reasoning"): an
    enumeration of tasks, methods or risks names each only in passing."""
    out = []
    for m in mentions:
        root = doc[m.start : m.end].root
        top = root
        while top.dep_ == "conj" and top.head.i != top.i:
            top = top.head
        size, stack = 1, [top]
        while stack:
            conjuncts = [c for c in stack.pop().children if c.dep_ == "conj"]
            size += len(conjuncts)
            stack.extend(conjuncts)
        ranged = any(a.lemma_ == "range" and a.pos_ == "VERB" for a in root.ancestors)
        out.append(replace(m, listed=True) if size >= LIST_SIZE or ranged else m)
    return out


def _trimmed(span: Span) -> Span | None:
    """`span` without leading and trailing whitespace tokens (None if nothing is left)."""
    words = [t.i for t in span if not t.is_space]
    return span.doc[words[0] : words[-1] + 1] if words else None


def read_paper(
    title: Doc, abstract: Doc, matcher: ConceptMatcher, abstract_offset: int
) -> PaperView:
    """Sentences of a paper's parsed title and abstract; `abstract_offset` is where the
    abstract starts in title + "\\n" + abstract."""
    title_mentions, abstract_mentions = link_abbreviations(
        (title, abstract),
        (_asserted(title, matcher(title)), _asserted(abstract, matcher(abstract))),
    )
    title_mentions = _listed(title, title_mentions)
    abstract_mentions = _listed(abstract, abstract_mentions)
    sentences: list[Sentence] = []
    whole = _trimmed(title[:])
    if whole is not None:
        sentences.append(
            Sentence(
                whole,
                whole.start_char,
                whole.end_char,
                Role.TITLE,
                matcher.mark_subsumed(
                    m for m in title_mentions if whole.start <= m.start < whole.end
                ),
                0,
            )
        )
    position = 0
    for sent in abstract.sents:
        span = _trimmed(sent)
        if span is None:
            continue
        position += 1
        sentences.append(
            Sentence(
                span,
                abstract_offset + span.start_char,
                abstract_offset + span.end_char,
                sentence_role(span, first=position == 1),
                matcher.mark_subsumed(
                    m for m in abstract_mentions if span.start <= m.start < span.end
                ),
                position,
            )
        )
    survey = is_survey(title.text, [s.span.text for s in sentences])
    return PaperView(tuple(sentences), survey)
