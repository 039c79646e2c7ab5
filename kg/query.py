"""`KnowledgeGraph`: the Python query API over a built graph.

```python
from kg import KnowledgeGraph

kg = KnowledgeGraph.load()                # the graph shipped in graphs/emergent_abilities/
kg.factors("ICL")                         # which factors matter for in-context learning
kg.evidence("factor:label-correctness", "ICL")   # who says so, with the sentences
kg.contested()                            # where papers disagree
kg.new_since("2024-05-01")                # what is new
```

Every question returns `Rows`: a list of frozen dataclasses with `.to_dicts()` and, where
pandas is installed, `.to_pandas()`. Concepts are named by id (`ability:in-context-learning`),
label (`In-context learning`) or alias (`ICL`, `in-context learning`), case and hyphens aside.
All indexes are built once at load time, so each question is a lookup plus a small loop.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import networkx as nx

from kg.config import REPO_ROOT
from kg.errors import UsageError
from kg.graph import CONCEPT_KINDS, consensus, load_graph
from kg.records import POLARITIES
from kg.store import Store, default_home

DEFAULT_GRAPH = REPO_ROOT / "graphs" / "emergent_abilities" / "graph.json"

R = TypeVar("R")
Since = int | str | date | None


class Rows(list[R], Generic[R]):
    """A list of typed records that converts to plain dicts or a pandas DataFrame."""

    def __init__(self, record: type[R], items: Iterable[R] = ()) -> None:
        super().__init__(items)
        self.record = record

    def to_dicts(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in self]  # type: ignore[call-overload]

    def to_pandas(self) -> Any:
        """A `pandas.DataFrame` with one column per record field."""
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("to_pandas() needs pandas: pip install 'kg[pandas]'") from None
        columns = [f.name for f in fields(self.record)]  # type: ignore[arg-type]
        return pd.DataFrame(self.to_dicts(), columns=columns)


@dataclass(frozen=True)
class ConceptRow:
    """A vocabulary concept in the graph."""

    concept: str
    label: str
    kind: str
    aliases: tuple[str, ...]
    n_papers: int
    n_claims: int


@dataclass(frozen=True)
class FactorRow:
    """A concept that papers claim affects (or, for mechanisms, explains) a target concept.

    `counts` is the number of papers stating each polarity; `consensus` is `agreed` (two or more
    papers, none opposed), `contested` (two papers state opposed polarities) or `single-source`.
    """

    concept: str
    label: str
    kind: str
    relation: str
    target: str
    counts: dict[str, int]
    papers: tuple[str, ...]
    n_papers: int
    first_year: int | None
    last_year: int | None
    consensus: str


@dataclass(frozen=True)
class Evidence:
    """One claim of one paper, with its evidence sentence and where to read the paper."""

    paper_id: str
    title: str
    year: int | None
    url: str | None
    subject: str
    relation: str
    object: str
    polarity: str
    sentence: str
    hedged: bool
    confidence: float


@dataclass(frozen=True)
class Contested:
    """A subject/object pair whose papers disagree, with each side's evidence."""

    subject: str
    subject_label: str
    object: str
    object_label: str
    relation: str
    counts: dict[str, int]
    papers: tuple[str, ...]
    sides: dict[str, tuple[Evidence, ...]]


@dataclass(frozen=True)
class PaperRow:
    """A paper of the corpus. `pagerank` and `cited_in_corpus` are within the corpus;
    `citation_count` is the source's (Semantic Scholar) count when known."""

    paper_id: str
    title: str
    year: int | None
    published: str | None
    venue: str | None
    authors: tuple[str, ...]
    url: str | None
    citation_count: int | None
    cited_in_corpus: int
    pagerank: float
    concepts: tuple[str, ...]
    n_claims: int


@dataclass(frozen=True)
class YearCount:
    """Papers on a concept in one year, and their claims about it."""

    year: int
    papers: int
    claims: int


@dataclass(frozen=True)
class _Claim:
    paper: str
    position: int
    subject: str
    relation: str
    object: str
    polarity: str
    sentence: str
    hedged: bool
    confidence: float


def _fold(text: str) -> str:
    """A name folded for matching: case, hyphens, underscores and spacing aside."""
    return " ".join(re.sub(r"[-_\s]+", " ", text.casefold()).split())


def _since_key(since: Since) -> tuple[str, int | str] | None:
    """`since` as ("year", 2023) or ("date", "2023-05-01"); None for no filter."""
    if since is None:
        return None
    if isinstance(since, bool):
        raise UsageError(f"since={since!r}: give a year (2023) or an ISO date (2023-05-01)")
    if isinstance(since, int):
        return ("year", since)
    if isinstance(since, date):
        return ("date", since.isoformat())
    text = str(since).strip()
    if re.fullmatch(r"\d{4}", text):
        return ("year", int(text))
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
        try:
            date.fromisoformat(text if len(text) == 10 else f"{text}-01")
        except ValueError:
            pass
        else:
            return ("date", text if len(text) == 10 else f"{text}-01")
    raise UsageError(f"since={since!r}: give a year (2023) or an ISO date (2023-05-01)")


class KnowledgeGraph:
    """A loaded graph with the questions researchers ask of it."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        nodes = graph.nodes
        self._concepts = sorted(n for n, k in graph.nodes(data="kind") if k in CONCEPT_KINDS)
        self._papers = sorted(n for n, k in graph.nodes(data="kind") if k == "paper")
        # When a paper appeared: its first version's date, else the end of its year (so a
        # paper known only by year counts as new for any date in that year).
        self._date: dict[str, str] = {}
        self._year: dict[str, int | None] = {}
        for p in self._papers:
            attrs = nodes[p]
            year = attrs.get("year")
            self._year[p] = year
            self._date[p] = attrs.get("published") or (f"{year}-12-31" if year else "")
        self._claims: list[_Claim] = []
        self._by_object: dict[str, list[_Claim]] = defaultdict(list)
        self._by_subject: dict[str, list[_Claim]] = defaultdict(list)
        papers_of: dict[str, set[str]] = defaultdict(set)
        for p in self._papers:
            for concept in nodes[p].get("concepts") or ():
                papers_of[concept].add(p)
        for u, _v, key, attrs in graph.edges(keys=True, data=True):
            if attrs.get("kind") != "claims":
                continue
            claim = _Claim(
                u,
                int(str(key).rsplit(":", 1)[-1]) if ":" in str(key) else 0,
                attrs["subject"],
                attrs["relation"],
                attrs["object"],
                attrs["polarity"],
                attrs.get("sentence", ""),
                bool(attrs.get("hedged", False)),
                float(attrs.get("confidence", 0.0)),
            )
            self._claims.append(claim)
            self._by_object[claim.object].append(claim)
            self._by_subject[claim.subject].append(claim)
            papers_of[claim.subject].add(u)
            papers_of[claim.object].add(u)
        order = {p: i for i, p in enumerate(self._papers)}
        self._claims.sort(key=lambda c: (order[c.paper], c.position))
        for index in (self._by_object, self._by_subject):
            for claims in index.values():
                claims.sort(key=lambda c: (order[c.paper], c.position))
        self._papers_of = {c: sorted(ps) for c, ps in papers_of.items()}
        self._names = self._name_index()
        # Papers newest first (ties by id), and by influence: the orders every listing uses.
        self._newest = sorted(self._papers)
        self._newest.sort(key=self._date.__getitem__, reverse=True)
        self._newest_rank = {p: i for i, p in enumerate(self._newest)}
        self._influence = sorted(self._papers, key=self._influence_key)
        self._paper_rows: dict[str, PaperRow] = {}
        # Claims per (subject, object, relation), oldest paper first, and the aggregated rows
        # per (target, relation): factors() and mechanisms() without `since` are lookups.
        pairs: dict[tuple[str, str, str], list[_Claim]] = defaultdict(list)
        for claim in self._by_year(self._claims):
            pairs[(claim.subject, claim.object, claim.relation)].append(claim)
        self._pairs = dict(pairs)
        self._targets: dict[tuple[str, str], list[tuple[str, list[_Claim]]]] = defaultdict(list)
        for (subject, obj, relation), claims in sorted(self._pairs.items()):
            self._targets[(obj, relation)].append((subject, claims))
        self._rows: dict[tuple[str, str], list[FactorRow]] = {}
        for (obj, relation), subjects in self._targets.items():
            rows = [self._row(subject, obj, relation, claims) for subject, claims in subjects]
            rows.sort(key=lambda r: (-r.n_papers, r.concept))
            self._rows[(obj, relation)] = rows
        self._contested = self._all_contested()

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnowledgeGraph:
        """Load a `graph.json` (or a folder holding one); default: the graph shipped with kg."""
        file = Path(path) if path is not None else DEFAULT_GRAPH
        if file.is_dir():
            file = file / "graph.json"
        return cls(load_graph(file))

    # -- naming concepts --------------------------------------------------------------------

    def _name_index(self) -> list[dict[str, set[str]]]:
        """Folded names -> concept ids, by priority: id, label, alias, slug."""
        levels: list[dict[str, set[str]]] = [defaultdict(set) for _ in range(4)]
        fallback: dict[str, tuple[str, ...]] = {}
        if not any("aliases" in self.graph.nodes[c] for c in self._concepts):
            # A graph written before concept nodes carried their aliases: use the vocabulary.
            from kg.vocabulary import load_vocabulary

            fallback = {c.id: c.aliases for c in load_vocabulary()}
        for concept in self._concepts:
            attrs = self.graph.nodes[concept]
            levels[0][_fold(concept)].add(concept)
            levels[1][_fold(attrs.get("label") or concept)].add(concept)
            for alias in attrs.get("aliases") or fallback.get(concept, ()):
                levels[2][_fold(alias)].add(concept)
            levels[3][_fold(concept.split(":", 1)[-1])].add(concept)
        return levels

    def resolve(self, name: str) -> str:
        """The concept id `name` stands for: an id, a label or an alias (`ICL`)."""
        if name in self._concepts:
            return name
        folded = _fold(name)
        for level in self._names:
            found = level.get(folded)
            if found and len(found) == 1:
                return next(iter(found))
            if found:
                options = ", ".join(sorted(found))
                raise UsageError(f"{name!r} is ambiguous: it may be {options}; give the id")
        known = {n: ids for level in self._names for n, ids in level.items()}
        close = difflib.get_close_matches(folded, list(known), n=3, cutoff=0.6)
        hint = sorted({i for n in close for i in known[n]})
        tip = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise UsageError(f"no concept named {name!r}{tip} (`kg query concepts` lists them all)")

    def label(self, node: str) -> str:
        return str(self.graph.nodes[node].get("label") or node) if node in self.graph else node

    # -- filters ----------------------------------------------------------------------------

    def _since_filter(self, since: Since) -> Any:
        key = _since_key(since)
        if key is None:
            return None
        if key[0] == "year":
            year = int(key[1])
            years = self._year
            return lambda p: (years[p] or 0) >= year
        day, dates = str(key[1]), self._date
        return lambda p: dates[p] >= day

    # -- questions --------------------------------------------------------------------------

    def concepts(self, kind: str | None = None) -> Rows[ConceptRow]:
        """Every concept (of `kind`: ability, factor, mechanism, risk), by kind then id."""
        if kind is not None and kind not in CONCEPT_KINDS:
            raise UsageError(f"kind {kind!r}: use one of {', '.join(CONCEPT_KINDS)}")
        rows = []
        for concept in self._concepts:
            attrs = self.graph.nodes[concept]
            if kind is None or attrs["kind"] == kind:
                rows.append(
                    ConceptRow(
                        concept,
                        self.label(concept),
                        attrs["kind"],
                        tuple(attrs.get("aliases") or ()),
                        len(self._papers_of.get(concept, ())),
                        len(self._by_subject.get(concept, ()))
                        + len(self._by_object.get(concept, ())),
                    )
                )
        rank = {k: i for i, k in enumerate(CONCEPT_KINDS)}
        return Rows(ConceptRow, sorted(rows, key=lambda r: (rank[r.kind], r.concept)))

    def _row(self, subject: str, target: str, relation: str, claims: list[_Claim]) -> FactorRow:
        by_polarity: dict[str, set[str]] = defaultdict(set)
        for claim in claims:
            by_polarity[claim.polarity].add(claim.paper)
        papers = sorted({c.paper for c in claims})
        nodes = self.graph.nodes
        years = [y for p in papers if (y := self._year[p]) is not None]
        return FactorRow(
            subject,
            self.label(subject),
            str(nodes[subject].get("kind", subject.split(":", 1)[0])),
            relation,
            target,
            {pol: len(by_polarity.get(pol, ())) for pol in POLARITIES[relation]},
            tuple(papers),
            len(papers),
            min(years) if years else None,
            max(years) if years else None,
            consensus(by_polarity),
        )

    def _aggregate(
        self, target: str, relation: str, since: Since, min_papers: int
    ) -> Rows[FactorRow]:
        keep = self._since_filter(since)
        if keep is None:
            rows = self._rows.get((target, relation), [])
            return Rows(FactorRow, [r for r in rows if r.n_papers >= min_papers])
        found = []
        for subject, claims in self._targets.get((target, relation), ()):
            kept = [c for c in claims if keep(c.paper)]
            if kept and len({c.paper for c in kept}) >= min_papers:
                found.append(self._row(subject, target, relation, kept))
        found.sort(key=lambda r: (-r.n_papers, r.concept))
        return Rows(FactorRow, found)

    def factors(self, ability: str, since: Since = None, min_papers: int = 1) -> Rows[FactorRow]:
        """Concepts papers claim affect `ability` (or a risk): counts per polarity, papers,
        years and consensus, most papers first. `since` (a year or an ISO date) keeps claims
        of papers from then on; `min_papers` drops rows with fewer papers."""
        return self._aggregate(self.resolve(ability), "affects", since, min_papers)

    def mechanisms(self, ability: str, since: Since = None, min_papers: int = 1) -> Rows[FactorRow]:
        """Mechanisms papers claim explain `ability` (polarities `supports` / `refutes`)."""
        return self._aggregate(self.resolve(ability), "explains", since, min_papers)

    def _evidence(self, claim: _Claim) -> Evidence:
        attrs = self.graph.nodes[claim.paper]
        return Evidence(
            claim.paper,
            str(attrs.get("title") or ""),
            attrs.get("year"),
            attrs.get("url"),
            claim.subject,
            claim.relation,
            claim.object,
            claim.polarity,
            claim.sentence,
            claim.hedged,
            claim.confidence,
        )

    def _by_year(self, claims: Iterable[_Claim]) -> list[_Claim]:
        year = self._year
        return sorted(claims, key=lambda c: (year[c.paper] or 0, c.paper, c.position))

    def evidence(self, subject: str, object: str | None = None) -> Rows[Evidence]:
        """Every claim of `subject` about `object` (or about anything), oldest paper first."""
        s = self.resolve(subject)
        o = self.resolve(object) if object is not None else None
        claims = [c for c in self._by_subject.get(s, ()) if o is None or c.object == o]
        return Rows(Evidence, [self._evidence(c) for c in self._by_year(claims)])

    def _all_contested(self) -> list[Contested]:
        rows = []
        for (s, o, relation), claims in self._pairs.items():
            by_polarity: dict[str, set[str]] = defaultdict(set)
            for claim in claims:
                by_polarity[claim.polarity].add(claim.paper)
            if consensus(by_polarity) != "contested":
                continue
            sides = {
                pol: tuple(self._evidence(c) for c in claims if c.polarity == pol)
                for pol in POLARITIES[relation]
                if by_polarity.get(pol)
            }
            rows.append(
                Contested(
                    s,
                    self.label(s),
                    o,
                    self.label(o),
                    relation,
                    {pol: len(by_polarity.get(pol, ())) for pol in POLARITIES[relation]},
                    tuple(sorted({c.paper for c in claims})),
                    sides,
                )
            )
        rows.sort(key=lambda r: (-len(r.papers), r.subject, r.object))
        return rows

    def contested(self, concept: str | None = None) -> Rows[Contested]:
        """Subject/object pairs whose papers state opposed polarities, with each side's
        sentences; only pairs involving `concept` when given. Most papers first."""
        focus = self.resolve(concept) if concept is not None else None
        return Rows(
            Contested,
            [r for r in self._contested if focus is None or focus in (r.subject, r.object)],
        )

    def _paper(self, paper: str) -> PaperRow:
        row = self._paper_rows.get(paper)
        if row is None:
            row = self._paper_rows[paper] = self._make_paper(paper)
        return row

    def _make_paper(self, paper: str) -> PaperRow:
        attrs = self.graph.nodes[paper]
        return PaperRow(
            paper,
            str(attrs.get("title") or ""),
            attrs.get("year"),
            attrs.get("published"),
            attrs.get("venue"),
            tuple(attrs.get("authors") or ()),
            attrs.get("url"),
            attrs.get("citation_count"),
            int(attrs.get("cited_in_corpus") or 0),
            float(attrs.get("pagerank") or 0.0),
            tuple(attrs.get("concepts") or ()),
            int(attrs.get("n_claims") or 0),
        )

    def _newest_first(self, papers: Iterable[str]) -> Rows[PaperRow]:
        ordered = sorted(papers, key=self._newest_rank.__getitem__)
        return Rows(PaperRow, [self._paper(p) for p in ordered])

    def papers(self, concept: str | None = None, since: Since = None) -> Rows[PaperRow]:
        """Papers (that study or make a claim about `concept`), newest first."""
        keep = self._since_filter(since)
        if concept is None:
            return Rows(PaperRow, [self._paper(p) for p in self._newest if keep is None or keep(p)])
        pool = self._papers_of.get(self.resolve(concept), ())
        return self._newest_first(p for p in pool if keep is None or keep(p))

    def timeline(self, concept: str) -> Rows[YearCount]:
        """Papers on `concept` per year (every year from the first to the last, zeros too),
        with the number of their claims about it."""
        c = self.resolve(concept)
        year = self._year
        papers = Counter(y for p in self._papers_of.get(c, ()) if (y := year[p]) is not None)
        claims = Counter(
            y
            for cl in (*self._by_subject.get(c, ()), *self._by_object.get(c, ()))
            if (y := year[cl.paper]) is not None
        )
        if not papers:
            return Rows(YearCount)
        years = range(min(papers), max(papers) + 1)
        return Rows(YearCount, [YearCount(y, papers[y], claims[y]) for y in years])

    def _influence_key(self, p: str) -> tuple[float, int, int, str]:
        a = self.graph.nodes[p]
        return (
            -float(a.get("pagerank") or 0.0),
            -int(a.get("cited_in_corpus") or 0),
            -int(a.get("citation_count") or 0),
            p,
        )

    def influential(self, n: int = 10) -> Rows[PaperRow]:
        """The `n` papers with the highest PageRank on the in-corpus citation graph (ties:
        in-corpus citations, then the source's citation count)."""
        return Rows(PaperRow, [self._paper(p) for p in self._influence[: max(n, 0)]])

    def new_since(
        self, run_or_date: int | str | date, store: Store | None = None
    ) -> Rows[PaperRow]:
        """Papers new since a run (an int, or digits: first stored by a later run; `kg status`
        lists runs) or since a date (YYYY-MM-DD or YYYY-MM: first published then or later; a
        paper known only by its year counts as new for any date in that year). Newest first.

        Runs are the local store's (`store`, else the store of the graph's pipeline under
        `KG_HOME`): the graph itself holds no run-ledger state."""
        if isinstance(run_or_date, int) and not isinstance(run_or_date, bool):
            run = run_or_date
        elif isinstance(run_or_date, str) and run_or_date.strip().isdigit():
            run = int(run_or_date)
        else:
            try:
                key = _since_key(run_or_date)
            except UsageError:
                key = None
            if key is None or key[0] != "date":
                raise UsageError(
                    f"{run_or_date!r}: give a run id (see `kg status`) or a date (2024-05-01)"
                )
            return self.papers(since=run_or_date)
        added = self._papers_added_after(run, store)
        return self._newest_first(p for p in self._papers if p in added)

    def _papers_added_after(self, run: int, store: Store | None) -> set[str]:
        if store is not None:
            return store.papers_added_after(run)
        pipeline = self.graph.graph.get("pipeline")
        path = default_home() / f"{pipeline or 'its pipeline'}.sqlite3"
        if not pipeline or not path.exists():
            raise UsageError(
                f"run {run}: runs are those of the store that built the graph, and there is "
                f"none at {path}; give a date (2024-05-01) instead, or set KG_HOME"
            )
        with Store(path) as opened:
            return opened.papers_added_after(run)

    def summary(self) -> dict[str, int]:
        """Counts of nodes and edges by kind."""
        counts = Counter(k for _, k in self.graph.nodes(data="kind"))
        counts.update(f"{k} edges" for _, _, k in self.graph.edges(data="kind"))
        return dict(sorted(counts.items()))

    def __repr__(self) -> str:
        return (
            f"<KnowledgeGraph: {len(self._papers)} papers, {len(self._concepts)} concepts, "
            f"{len(self._claims)} claims>"
        )
