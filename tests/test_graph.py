"""The graph built from a store: schema, aggregates, metrics, exact round trips, exports."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from kg.errors import UsageError
from kg.graph import (
    GRAPH_FORMAT,
    build_graph,
    consensus,
    data_to_graph,
    graph_to_csv,
    graph_to_data,
    graph_to_graphml,
    graph_to_json,
    json_to_graph,
    load_graph,
    summarize,
)
from kg.store import Store
from kg.vocabulary import load_vocabulary
from tests.conftest import REPO
from tests.small_graph import CITATIONS, COT, HOSTILE, HOSTILE_TITLE, ICL, P1, P2, P3, P4, P5, P6


@pytest.fixture(scope="module")
def graph(small_graph_dir: Path) -> nx.MultiDiGraph:
    return load_graph(small_graph_dir / "graph.json")


def test_nodes_and_edges_by_kind(graph: nx.MultiDiGraph) -> None:
    counts = summarize(graph)
    assert counts["nodes"]["paper"] == 7
    assert counts["nodes"]["author"] == 8  # Alice Adams wrote two papers: one node
    assert counts["edges"] == {
        "affects": 6,
        "cites": len(CITATIONS),
        "claims": 12,
        "explains": 2,
        "wrote": 9,
    }
    assert {k for _, k in graph.nodes(data="kind")} == {
        "paper",
        "author",
        "ability",
        "factor",
        "mechanism",
        "risk",
    }


def test_paper_attributes(graph: nx.MultiDiGraph) -> None:
    p1 = graph.nodes[P1]
    assert p1["year"] == 2021 and p1["venue"] == "ACL 2021" and p1["citation_count"] == 900
    assert p1["authors"] == ["Alice Adams", "Bob Brown"]
    assert p1["url"] == "https://arxiv.org/abs/2101.00001"
    assert p1["cited_in_corpus"] == 4 and p1["refs_in_corpus"] == 0
    assert p1["n_claims"] == 2
    assert not {"added_run", "first_run", "run_id"} & p1.keys()  # no run-ledger state
    assert graph.nodes[HOSTILE]["title"] == HOSTILE_TITLE  # data stays data
    ranks = {p: graph.nodes[p]["pagerank"] for p in (P1, P2, P3, P4, P5, P6)}
    assert max(ranks, key=ranks.__getitem__) == P1  # the most cited paper ranks first
    assert ranks[P2] > ranks[P4]  # cited by P3, which P5 cites; P4 is cited by nobody
    assert graph.has_edge("author:name:alice adams", P1, key="wrote")


def test_claim_edges_carry_the_claim(graph: nx.MultiDiGraph) -> None:
    edge = graph.edges[P2, "factor:label-correctness", "claims:0"]
    assert edge["kind"] == "claims" and edge["object"] == ICL
    assert edge["polarity"] == "increases" and edge["relation"] == "affects"
    text = graph.nodes[P2]["title"] + "\n" + "Correct labels improve"  # offsets into the text
    assert edge["sentence"].startswith("Correct labels improve") and edge["char_start"] == len(
        text
    ) - len("Correct labels improve")


def test_aggregated_edges_count_papers_per_polarity(graph: nx.MultiDiGraph) -> None:
    edge = graph.edges["factor:label-correctness", ICL, "affects"]
    assert edge["counts"] == {"increases": 1, "decreases": 0, "matters": 0, "no-effect": 2}
    assert edge["papers"] == [P1, P2, P5] and edge["n_papers"] == 3 and edge["n_claims"] == 3
    assert (edge["first_year"], edge["last_year"]) == (2021, 2024)
    assert edge["consensus"] == "contested"
    assert graph.edges["factor:model-scale", ICL, "affects"]["consensus"] == "agreed"
    assert graph.edges["factor:model-scale", COT, "affects"]["consensus"] == "single-source"
    igd = graph.edges["mechanism:implicit-gradient-descent", ICL, "explains"]
    assert igd["counts"] == {"supports": 1, "refutes": 1} and igd["consensus"] == "contested"


def test_concept_nodes_carry_aliases_and_counts(graph: nx.MultiDiGraph) -> None:
    icl = graph.nodes[ICL]
    assert icl["kind"] == "ability" and "ICL" in icl["aliases"]
    assert icl["n_papers"] == 6 and icl["n_claims"] == 11
    assert graph.nodes["ability:emergence"]["n_papers"] == 1  # studied by P6, no claim


@pytest.mark.parametrize(
    ("stances", "expected"),
    [
        ({"increases": {"a"}}, "single-source"),
        ({"increases": {"a"}, "decreases": {"a"}}, "single-source"),  # one paper, both ways
        ({"increases": {"a", "b"}}, "agreed"),
        ({"increases": {"a"}, "matters": {"b"}}, "agreed"),  # matters is undirected
        ({"increases": {"a"}, "decreases": {"b"}}, "contested"),
        ({"matters": {"a"}, "no-effect": {"b"}}, "contested"),
        ({"supports": {"a"}, "refutes": {"b"}}, "contested"),
        ({"increases": {"a", "b"}, "decreases": {"a"}}, "contested"),
        ({"increases": set(), "decreases": {"a", "b"}}, "agreed"),
    ],
)
def test_consensus(stances: dict[str, set[str]], expected: str) -> None:
    assert consensus(stances) == expected


def test_node_link_json_round_trips_exactly(graph: nx.MultiDiGraph, small_graph_dir: Path) -> None:
    raw = (small_graph_dir / "graph.json").read_bytes()
    again = json_to_graph(raw)
    assert graph_to_json(again) == raw
    assert graph_to_data(data_to_graph(graph_to_data(graph))) == graph_to_data(graph)
    assert dict(again.nodes(data=True)) == dict(graph.nodes(data=True))
    assert sorted(again.edges(keys=True, data=True), key=lambda e: e[:3]) == sorted(
        graph.edges(keys=True, data=True), key=lambda e: e[:3]
    )
    assert again.graph == {"format": GRAPH_FORMAT, "pipeline": "small"}


def test_same_store_same_bytes_across_processes(small_graph_dir: Path, tmp_path: Path) -> None:
    """A fresh interpreter with another hash seed builds the same bytes from the same store."""
    script = (
        "import sys; from kg.store import Store; from kg.graph import build_graph, graph_to_json,"
        " graph_to_graphml, graph_to_csv; from kg.html import render_html;"
        " from kg.vocabulary import load_vocabulary\n"
        "with Store(sys.argv[1]) as s: g = build_graph(s, load_vocabulary(), 'small')\n"
        "sys.stdout.buffer.write(graph_to_json(g) + graph_to_graphml(g)"
        " + b''.join(graph_to_csv(g).values()) + render_html(g, 't').encode())"
    )
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(small_graph_dir / "small.sqlite3")],
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith((small_graph_dir / "graph.json").read_bytes())


def test_graphml_opens_with_networkx(graph: nx.MultiDiGraph) -> None:
    again = nx.read_graphml(io.BytesIO(graph_to_graphml(graph)), force_multigraph=True)
    assert again.number_of_nodes() == graph.number_of_nodes()
    assert again.number_of_edges() == graph.number_of_edges()
    assert again.nodes[P1]["kind"] == "paper" and again.nodes[P1]["year"] == 2021
    assert '"no-effect": 2' in again.edges["factor:label-correctness", ICL, "affects"]["counts"]


def test_csv_tables(graph: nx.MultiDiGraph) -> None:
    tables = graph_to_csv(graph)
    nodes = list(csv.DictReader(io.StringIO(tables["nodes.csv"].decode())))
    edges = list(csv.DictReader(io.StringIO(tables["edges.csv"].decode())))
    assert len(nodes) == graph.number_of_nodes() and len(edges) == graph.number_of_edges()
    assert list(nodes[0])[:3] == ["id", "kind", "label"]
    assert list(edges[0])[:4] == ["source", "target", "key", "kind"]
    row = next(r for r in edges if r["kind"] == "affects" and r["consensus"] == "contested")
    assert row["source"] in ("factor:label-correctness", "mechanism:implicit-gradient-descent")
    hostile = next(r for r in nodes if r["id"] == HOSTILE)
    assert hostile["title"] == HOSTILE_TITLE  # quoted by csv, not mangled
    assert tables == graph_to_csv(json_to_graph(graph_to_json(graph)))


def test_a_graph_with_no_citations_or_claims(store: Store) -> None:
    from kg.records import Paper

    store.upsert_paper(Paper("2101.00009", "Alone", year=2021, arxiv_id="2101.00009"))
    graph = build_graph(store, load_vocabulary())
    assert graph.nodes["2101.00009"]["pagerank"] == 1.0
    assert summarize(graph)["edges"] == {}


def test_load_graph_errors_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such graph"):
        load_graph(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"not a kg graph\.json"):
        load_graph(tmp_path / "bad.json")
    (tmp_path / "new.json").write_text(
        '{"graph": {"format": 99}, "nodes": [], "edges": [], "directed": true}'
    )
    with pytest.raises(UsageError, match="upgrade kg"):
        load_graph(tmp_path / "new.json")
