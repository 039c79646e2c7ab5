"""The citation-and-claims graph: built purely from the store, saved and loaded symmetrically.

Nodes carry `kind` in {paper, author, ability, factor, mechanism, risk}; edges carry `kind` in
{cites, wrote, claims, affects, explains}. Node ids: a paper's key (`2202.12837`), a concept's id
(`factor:model-scale`), `author:<author id>` for people.

- `cites` (paper -> paper): provenance, citing contexts and intents when known.
- `wrote` (author -> paper).
- `claims` (paper -> the claim's subject concept; key `claims:<n>`, n the claim's position in
  the paper's extraction): every field of the claim (object, relation, polarity, sentence and
  its offsets, hedged, confidence).
- `affects` / `explains` (subject concept -> object concept, one edge per pair): `counts` is the
  number of papers stating each polarity, `papers` the supporting paper ids, `n_papers`,
  `n_claims`, `first_year` / `last_year`, and `consensus` (see `consensus`).

Paper nodes carry year, published date, venue, authors, categories, external citation counts
(`citation_count`, `influential_citation_count`, from the sources), in-corpus citation counts
(`cited_in_corpus`, `refs_in_corpus`), `pagerank` on the in-corpus citation graph, the paper's
concepts and `n_claims`. The graph is a function of the data alone: nothing in it depends
on the run ledger (run ids, times), so a rebuild from another store of the same data gives the
same bytes; `pipeline` (a graph attribute) names the pipeline whose store built it.

Serialisation is deterministic: the same store always gives the same bytes, in any process
(nodes and edges are sorted, floats rounded, no set is iterated unsorted).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import orjson

from kg.errors import UsageError
from kg.records import KINDS, POLARITIES, Extraction, Paper
from kg.store import Store
from kg.vocabulary import Vocabulary

# 2: aggregated counts are papers per polarity (were claims); consensus, years, n_claims added.
GRAPH_FORMAT = 2
CONCEPT_KINDS: tuple[str, ...] = KINDS
AGGREGATE_KINDS = ("affects", "explains")

# Polarities that contradict each other when two different papers state them about one pair.
# `matters` (sensitive, direction unstated) is compatible with `increases` and `decreases`.
OPPOSED: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("increases", "decreases"),
        ("increases", "no-effect"),
        ("decreases", "no-effect"),
        ("matters", "no-effect"),
        ("supports", "refutes"),
    )
)
CONSENSUS_LABELS = ("agreed", "contested", "single-source")


def arxiv_url(paper: Paper) -> str | None:
    return f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else paper.url


def consensus(papers_by_polarity: Mapping[str, Collection[str]]) -> str:
    """`single-source` (one paper), `contested` (two different papers state opposed
    polarities, see `OPPOSED`) or `agreed` (two or more papers, none opposed)."""
    papers = {p for group in papers_by_polarity.values() for p in group}
    if len(papers) < 2:
        return "single-source"
    stated = sorted(pol for pol, group in papers_by_polarity.items() if group)
    for i, a in enumerate(stated):
        for b in stated[i + 1 :]:
            if frozenset((a, b)) in OPPOSED:
                group_a, group_b = set(papers_by_polarity[a]), set(papers_by_polarity[b])
                # Opposed stances from two different papers (not one paper saying both).
                if len(group_a | group_b) > 1:
                    return "contested"
    return "agreed"


# -- building -------------------------------------------------------------------------------


def build_graph(
    store: Store, vocabulary: Vocabulary, pipeline: str | None = None
) -> nx.MultiDiGraph:
    """Build the graph of everything in `store` (a pure function of its contents)."""
    graph = nx.MultiDiGraph(format=GRAPH_FORMAT)
    if pipeline:
        graph.graph["pipeline"] = pipeline
    extractions = {e.paper_id: e for e in store.extractions()}
    for concept in vocabulary:
        graph.add_node(
            concept.id, kind=concept.kind, label=concept.label, aliases=list(concept.aliases)
        )
    for paper in store.papers():
        extraction = extractions.get(paper.paper_id)
        graph.add_node(
            paper.paper_id,
            kind="paper",
            label=paper.title,
            title=paper.title,
            year=paper.year,
            published=paper.published,
            arxiv_version=paper.arxiv_version,
            venue=paper.venue,
            authors=list(paper.authors),
            categories=list(paper.categories),
            arxiv_id=paper.arxiv_id,
            doi=paper.doi,
            citation_count=paper.citation_count,
            influential_citation_count=paper.influential_citation_count,
            url=arxiv_url(paper),
            concepts=list(extraction.concepts) if extraction else [],
            n_claims=len(extraction.claims) if extraction else 0,
        )
        for author in store.authors_of(paper.paper_id):
            node = f"author:{author.author_id}"
            if node not in graph:
                graph.add_node(node, kind="author", label=author.name)
            graph.add_edge(node, paper.paper_id, key="wrote", kind="wrote")
    for citation in store.citations():
        graph.add_edge(
            citation.citing,
            citation.cited,
            key="cites",
            kind="cites",
            provenance=citation.source,
            contexts=list(citation.contexts),
            intents=list(citation.intents),
            is_influential=citation.is_influential,
        )
    _add_claims(graph, [extractions[k] for k in sorted(extractions) if k in graph])
    _add_corpus_metrics(graph)
    return graph


def _add_claims(graph: nx.MultiDiGraph, extractions: Iterable[Extraction]) -> None:
    """`claims` edges, one per claim, and one aggregated edge per (subject, object, relation)."""
    stances: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    n_claims: Counter[tuple[str, str, str]] = Counter()
    for extraction in extractions:
        for n, claim in enumerate(extraction.claims):
            for concept in (claim.subject, claim.object):
                if concept not in graph:  # a concept the vocabulary no longer has
                    graph.add_node(
                        concept, kind=concept.split(":", 1)[0], label=concept, aliases=[]
                    )
            graph.add_edge(
                extraction.paper_id,
                claim.subject,
                key=f"claims:{n}",
                kind="claims",
                **claim.to_dict(),
            )
            pair = (claim.subject, claim.object, claim.relation)
            stances.setdefault(pair, defaultdict(set))[claim.polarity].add(extraction.paper_id)
            n_claims[pair] += 1
    for (subject, obj, relation), by_polarity in sorted(stances.items()):
        papers = sorted({p for group in by_polarity.values() for p in group})
        years = [y for p in papers if (y := graph.nodes[p].get("year")) is not None]
        graph.add_edge(
            subject,
            obj,
            key=relation,
            kind=relation,
            counts={pol: len(by_polarity.get(pol, ())) for pol in POLARITIES[relation]},
            papers=papers,
            n_papers=len(papers),
            n_claims=n_claims[(subject, obj, relation)],
            first_year=min(years) if years else None,
            last_year=max(years) if years else None,
            consensus=consensus(by_polarity),
        )


def _add_corpus_metrics(graph: nx.MultiDiGraph) -> None:
    """In-corpus citation counts and PageRank on the citation subgraph (rounded: stable bytes);
    per concept the papers that study it or claim about it; per author their paper count."""
    papers = [n for n, k in graph.nodes(data="kind") if k == "paper"]
    cites = nx.DiGraph()
    cites.add_nodes_from(papers)
    cites.add_edges_from((u, v) for u, v, k in graph.edges(data="kind") if k == "cites")
    rank = nx.pagerank(cites) if cites.number_of_edges() else {}
    uniform = 1.0 / len(papers) if papers else 0.0
    studied: dict[str, set[str]] = defaultdict(set)
    claimed: Counter[str] = Counter()
    for node in papers:
        attrs = graph.nodes[node]
        attrs["cited_in_corpus"] = cites.in_degree(node)
        attrs["refs_in_corpus"] = cites.out_degree(node)
        attrs["pagerank"] = round(rank.get(node, uniform), 6)
        for concept in attrs["concepts"]:
            studied[concept].add(node)
    for paper, _subject, attrs in graph.edges(data=True):
        if attrs["kind"] == "claims":
            for concept in (attrs["subject"], attrs["object"]):
                studied[concept].add(paper)
                claimed[concept] += 1
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] in CONCEPT_KINDS:
            attrs["n_papers"] = len(studied.get(node, ()))
            attrs["n_claims"] = claimed[node]
        elif attrs["kind"] == "author":
            attrs["n_papers"] = graph.out_degree(node)


# -- serialisation: symmetric pairs ---------------------------------------------------------


def _edge_order(edge: tuple[Any, ...]) -> tuple[str, str, str]:
    return (edge[0], edge[1], edge[2])


def graph_to_data(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Node-link data with nodes and edges in a stable order (inverse: `data_to_graph`)."""
    nodes = [{"id": n, **graph.nodes[n]} for n in sorted(graph.nodes)]
    reserved = {"source", "target", "key"}
    if any(reserved & d.keys() for *_, d in graph.edges(keys=True, data=True)):
        raise ValueError("edge attributes may not be named source, target or key")
    edges = [
        {"source": u, "target": v, "key": k, **d}
        for u, v, k, d in sorted(graph.edges(keys=True, data=True), key=_edge_order)
    ]
    return {
        "directed": True,
        "multigraph": True,
        "graph": dict(graph.graph),
        "nodes": nodes,
        "edges": edges,
    }


def data_to_graph(data: dict[str, Any]) -> nx.MultiDiGraph:
    """Inverse of `graph_to_data`: `graph_to_data(data_to_graph(d)) == d` for its output."""
    graph = nx.MultiDiGraph(**data.get("graph", {}))
    for node in data["nodes"]:
        attrs = dict(node)
        graph.add_node(attrs.pop("id"), **attrs)
    for edge in data["edges"]:
        attrs = dict(edge)
        graph.add_edge(attrs.pop("source"), attrs.pop("target"), key=attrs.pop("key"), **attrs)
    return graph


def graph_to_json(graph: nx.MultiDiGraph) -> bytes:
    return orjson.dumps(graph_to_data(graph), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def json_to_graph(raw: bytes | str) -> nx.MultiDiGraph:
    return data_to_graph(orjson.loads(raw))


def save_graph(graph: nx.MultiDiGraph, path: str | Path) -> None:
    Path(path).write_bytes(graph_to_json(graph))


def load_graph(path: str | Path) -> nx.MultiDiGraph:
    """Read a `graph.json` written by `save_graph`; errors say which file and what to do."""
    file = Path(path)
    try:
        graph = json_to_graph(file.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{file}: no such graph; build one with `kg refresh`") from None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{file}: not a kg graph.json ({exc}); rebuild it with `kg refresh`"
        ) from None
    found = graph.graph.get("format")
    if not isinstance(found, int) or found > GRAPH_FORMAT:
        raise UsageError(
            f"{file}: graph format {found!r} is newer than this kg reads ({GRAPH_FORMAT}); "
            "upgrade kg"
        )
    return graph


def graph_to_graphml(graph: nx.MultiDiGraph) -> bytes:
    """GraphML for Gephi/Cytoscape: lists and dicts become JSON strings, None is dropped."""
    flat = nx.MultiDiGraph()
    for node, attrs in sorted(graph.nodes(data=True)):
        flat.add_node(node, **_flat(attrs))
    for u, v, k, attrs in sorted(graph.edges(keys=True, data=True), key=_edge_order):
        flat.add_edge(u, v, key=k, **_flat(attrs))
    buffer = io.BytesIO()
    nx.write_graphml(flat, buffer, encoding="utf-8")
    return buffer.getvalue()


def _flat(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes in name order (GraphML keys follow first appearance: the bytes must depend
    on the graph's content only, not on the order its attributes were set in)."""
    out = {}
    for name, value in sorted(attrs.items()):
        if value is None:
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        out[name] = value
    return out


# -- CSV: a node table and an edge list -----------------------------------------------------

NODE_COLUMNS = ("id", "kind", "label")
EDGE_COLUMNS = ("source", "target", "key", "kind")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _table(leading: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    extra = sorted({name for row in rows for name in row} - set(leading))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*leading, *extra])
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in (*leading, *extra)])
    return buffer.getvalue().encode("utf-8")


def graph_to_csv(graph: nx.MultiDiGraph) -> dict[str, bytes]:
    """`nodes.csv` (one row per node) and `edges.csv` (one row per edge, `kind` says which):
    the columns are the attributes of any row; lists and dicts are JSON, None is empty."""
    data = graph_to_data(graph)
    return {
        "nodes.csv": _table(NODE_COLUMNS, data["nodes"]),
        "edges.csv": _table(EDGE_COLUMNS, data["edges"]),
    }


def summarize(graph: nx.MultiDiGraph) -> dict[str, dict[str, int]]:
    """Counts of nodes and edges by kind."""
    nodes = Counter(kind for _, kind in graph.nodes(data="kind"))
    edges = Counter(kind for _, _, kind in graph.edges(data="kind"))
    return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}
