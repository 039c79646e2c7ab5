"""The citation-and-claims graph: built purely from the store, saved and loaded symmetrically.

Nodes carry `kind` in {paper, author, ability, factor, mechanism, risk}; edges carry `kind` in
{cites, wrote, claims, affects, explains}. Node ids: a paper's key (`2202.12837`), a concept's id
(`factor:model-scale`), `author:<author id>` for people. Serialisation is deterministic: the same
store always gives the same bytes.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import orjson

from kg.records import POLARITIES, Paper
from kg.store import Store
from kg.vocabulary import Vocabulary

GRAPH_FORMAT = 1


def arxiv_url(paper: Paper) -> str | None:
    return f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else paper.url


def build_graph(store: Store, vocabulary: Vocabulary) -> nx.MultiDiGraph:
    """Build the graph of everything in `store` (a pure function of its contents)."""
    graph = nx.MultiDiGraph(format=GRAPH_FORMAT)
    extractions = {e.paper_id: e for e in store.extractions()}
    for concept in vocabulary:
        graph.add_node(concept.id, kind=concept.kind, label=concept.label)
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
            citation_count=paper.citation_count,
            url=arxiv_url(paper),
            concepts=list(extraction.concepts) if extraction else [],
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
    _add_claims(graph, extractions.values())
    _add_corpus_metrics(graph)
    return graph


def _add_claims(graph: nx.MultiDiGraph, extractions: Any) -> None:
    aggregate: dict[tuple[str, str, str], dict[str, Any]] = {}
    for extraction in extractions:
        for n, claim in enumerate(extraction.claims):
            for concept in (claim.subject, claim.object):
                if concept not in graph:  # a concept the vocabulary no longer has
                    graph.add_node(concept, kind=concept.split(":", 1)[0], label=concept)
            graph.add_edge(
                extraction.paper_id,
                claim.subject,
                key=f"claims:{n}",
                kind="claims",
                **claim.to_dict(),
            )
            pair = (claim.subject, claim.object, claim.relation)
            entry = aggregate.setdefault(pair, {"counts": Counter(), "papers": set()})
            entry["counts"][claim.polarity] += 1
            entry["papers"].add(extraction.paper_id)
    for (subject, obj, relation), entry in sorted(aggregate.items()):
        counts = {p: entry["counts"][p] for p in POLARITIES[relation]}
        graph.add_edge(
            subject,
            obj,
            key=relation,
            kind=relation,
            counts=counts,
            papers=sorted(entry["papers"]),
            n_papers=len(entry["papers"]),
        )


def _add_corpus_metrics(graph: nx.MultiDiGraph) -> None:
    """In-corpus citation counts and PageRank on the citation subgraph (rounded: stable bytes)."""
    papers = [n for n, k in graph.nodes(data="kind") if k == "paper"]
    cites = nx.DiGraph()
    cites.add_nodes_from(papers)
    cites.add_edges_from((u, v) for u, v, k in graph.edges(data="kind") if k == "cites")
    rank = nx.pagerank(cites) if cites.number_of_edges() else dict.fromkeys(papers, 0.0)
    for node in papers:
        graph.nodes[node]["cited_in_corpus"] = cites.in_degree(node)
        graph.nodes[node]["pagerank"] = round(rank.get(node, 0.0), 6)


# -- serialisation: symmetric pairs ---------------------------------------------------------


def graph_to_data(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Node-link data with nodes and edges in a stable order."""
    nodes = [{"id": n, **graph.nodes[n]} for n in sorted(graph.nodes)]
    reserved = {"source", "target", "key"}
    assert not any(reserved & d.keys() for *_, d in graph.edges(keys=True, data=True))
    edges = [
        {"source": u, "target": v, "key": k, **d}
        for u, v, k, d in sorted(graph.edges(keys=True, data=True), key=lambda e: e[:3])
    ]
    return {
        "directed": True,
        "multigraph": True,
        "graph": dict(graph.graph),
        "nodes": nodes,
        "edges": edges,
    }


def data_to_graph(data: dict[str, Any]) -> nx.MultiDiGraph:
    """Inverse of `graph_to_data`."""
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
    return json_to_graph(Path(path).read_bytes())


def graph_to_graphml(graph: nx.MultiDiGraph) -> bytes:
    """GraphML for Gephi/Cytoscape: lists and dicts become JSON strings, None is dropped."""
    flat = nx.MultiDiGraph()
    for node, attrs in sorted(graph.nodes(data=True)):
        flat.add_node(node, **_flat(attrs))
    for u, v, k, attrs in sorted(graph.edges(keys=True, data=True), key=lambda e: e[:3]):
        flat.add_edge(u, v, key=k, **_flat(attrs))
    buffer = io.BytesIO()
    nx.write_graphml(flat, buffer, encoding="utf-8")
    return buffer.getvalue()


def _flat(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        out[name] = value
    return out


def summarize(graph: nx.MultiDiGraph) -> dict[str, dict[str, int]]:
    """Counts of nodes and edges by kind."""
    nodes = Counter(kind for _, kind in graph.nodes(data="kind"))
    edges = Counter(kind for _, _, kind in graph.edges(data="kind"))
    return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}
