"""Typed records that flow between the stages: papers, authors, citations, claims, concepts.

Records are frozen dataclasses with plain-JSON conversions (`to_dict` / `from_dict`); the rule
for a paper's identity (`paper_key`) lives here, in one place.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal["ability", "factor", "mechanism", "risk"]
KINDS: tuple[Kind, ...] = ("ability", "factor", "mechanism", "risk")
Relation = Literal["affects", "explains"]
POLARITIES: dict[str, tuple[str, ...]] = {
    "affects": ("increases", "decreases", "matters", "no-effect"),
    "explains": ("supports", "refutes"),
}

# New-style ids (0704.0001 .. 2912.99999) and old-style ids (hep-th/9901001, cs.CL/0112017).
_ARXIV_ID = re.compile(
    r"(?:arxiv:|https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/)?"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?(?:\.pdf)?",
    re.IGNORECASE,
)


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """Return (id without version, version or None) for any spelling of an arXiv id or URL.

    >>> split_arxiv_id("http://arxiv.org/abs/2202.12837v2")
    ('2202.12837', 2)
    """
    m = _ARXIV_ID.fullmatch(raw.strip())
    if not m:
        raise ValueError(f"not an arXiv id: {raw!r}")
    version = m.group("v")
    return m.group("id"), int(version) if version else None


def normalize_title(title: str) -> str:
    """Title folded for matching the same work across sources (case, accents, punctuation)."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def paper_key(arxiv_id: str | None, s2_paper_id: str | None, doi: str | None) -> str:
    """A paper's key: arXiv id without version, else `s2:<paperId>`, else `doi:<doi>`."""
    if arxiv_id:
        return split_arxiv_id(arxiv_id)[0]
    if s2_paper_id:
        return f"s2:{s2_paper_id}"
    if doi:
        return f"doi:{doi.lower()}"
    raise ValueError("a paper needs an arXiv id, a Semantic Scholar id or a DOI")


def content_hash(title: str, abstract: str | None) -> str:
    """Hash of the text extraction reads; a change re-triggers extraction."""
    return hashlib.sha256(f"{title}\n{abstract or ''}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Paper:
    """One work, as one source saw it. `source` is recorded for every field it gives."""

    paper_id: str
    title: str
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None  # first version, ISO date
    updated: str | None = None  # this version, ISO date
    year: int | None = None
    categories: tuple[str, ...] = ()
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    s2_paper_id: str | None = None
    s2_corpus_id: int | None = None
    citation_count: int | None = None
    influential_citation_count: int | None = None
    reference_count: int | None = None
    abstract_complete: bool | None = None
    url: str | None = None
    source: str = "snapshot"

    @property
    def text(self) -> str:
        """The text extraction reads: title + newline + abstract (offsets index into it)."""
        return f"{self.title}\n{self.abstract or ''}"

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.abstract)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["authors"] = list(self.authors)
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["authors"] = tuple(kwargs.get("authors") or ())
        kwargs["categories"] = tuple(kwargs.get("categories") or ())
        return cls(**kwargs)


@dataclass(frozen=True)
class Author:
    """A person; `author_id` is the Semantic Scholar id when known, else `name:<folded name>`."""

    author_id: str
    name: str

    @classmethod
    def from_name(cls, name: str, s2_author_id: str | None = None) -> Author:
        if s2_author_id:
            return cls(f"s2:{s2_author_id}", name)
        return cls(f"name:{normalize_title(name)}", name)


@dataclass(frozen=True)
class Citation:
    """`citing` cites `cited` (both paper keys), with the citing sentences when known."""

    citing: str
    cited: str
    source: str = "snapshot"
    contexts: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    is_influential: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["contexts"] = list(self.contexts)
        data["intents"] = list(self.intents)
        return data


@dataclass(frozen=True)
class Claim:
    """A finding a paper states: `subject` affects/explains `object`, with its evidence."""

    subject: str
    relation: Relation
    object: str
    polarity: str
    sentence: str
    char_start: int
    char_end: int
    hedged: bool = False
    confidence: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claim:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Extraction:
    """What extraction found in one paper: the `kg extract` contract, line for line."""

    paper_id: str
    concepts: tuple[str, ...]
    claims: tuple[Claim, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper_id": self.paper_id,
            "concepts": list(self.concepts),
            "claims": [c.to_dict() for c in self.claims],
        }


@dataclass(frozen=True)
class ContextualAliases:
    """Generic aliases of a concept ("scale") that count only near a context word ("model")."""

    aliases: tuple[str, ...]
    context: tuple[str, ...]


@dataclass(frozen=True)
class Concept:
    """A vocabulary entry: `id` is `kind:slug` and never changes once published."""

    id: str
    label: str
    aliases: tuple[str, ...] = ()
    note: str | None = None
    # Aliases too generic to count alone ("scale", "format"), each group accepted only near
    # one of its context words.
    contextual: tuple[ContextualAliases, ...] = ()
    # Narrower concepts that take over this one's mentions in a sentence naming them
    # ("chain-of-thought reasoning" is about chain-of-thought, not reasoning in general).
    subsumed_by: tuple[str, ...] = ()
    # A factor that varies in kind, not amount (order, format, architecture): a stated
    # difference reads as `matters`, there being no "more of" it to increase anything.
    categorical: bool = False
    # The ability whose prompts or outputs this factor is a property of (the length of a chain
    # of thought): its claims on another ability are read as claims on this one.
    property_of: str | None = None

    @property
    def kind(self) -> Kind:
        kind = self.id.split(":", 1)[0]
        assert kind in KINDS, self.id
        return kind
