"""`KnowledgeGraph` on the small built graph: every question, with known answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import networkx as nx
import pytest

from kg import KnowledgeGraph
from kg.errors import UsageError
from kg.query import DEFAULT_GRAPH, Evidence, FactorRow, Rows
from kg.store import Store
from kg.vocabulary import load_vocabulary
from tests.small_graph import COT, HOSTILE, HOSTILE_SENTENCE, ICL, P1, P2, P3, P4, P5, P6


@pytest.fixture(scope="module")
def kg(small_graph_dir: Path) -> KnowledgeGraph:
    return KnowledgeGraph.load(small_graph_dir)


@pytest.mark.parametrize(
    "name",
    [
        ICL,
        "ICL",
        "icl",
        "in-context learning",
        "In-context learning",
        "In context learning",
        "in-context-learning",
        "ability:In-Context-Learning",
    ],
)
def test_concepts_are_named_by_id_label_or_alias(kg: KnowledgeGraph, name: str) -> None:
    assert kg.resolve(name) == ICL


def test_unknown_and_ambiguous_names_are_user_errors(kg: KnowledgeGraph) -> None:
    with pytest.raises(UsageError, match=r"no concept named 'in-context lerning'.*did you mean"):
        kg.resolve("in-context lerning")
    with pytest.raises(UsageError, match="kg query concepts"):
        kg.resolve("quantum gravity")
    ambiguous = [
        alias
        for alias, ids in kg._names[2].items()
        if len(ids) > 1 and alias not in kg._names[0] and alias not in kg._names[1]
    ]
    if ambiguous:  # the shipped vocabulary has aliases shared by two concepts
        with pytest.raises(UsageError, match="ambiguous"):
            kg.resolve(ambiguous[0])


def test_factors(kg: KnowledgeGraph) -> None:
    rows = kg.factors("ICL")
    assert isinstance(rows, Rows) and all(isinstance(r, FactorRow) for r in rows)
    assert [r.concept for r in rows] == [
        "factor:label-correctness",
        "factor:model-scale",
        "factor:demonstration-format",
        "factor:demonstration-order",
        "factor:prompt-wording",
    ]
    lc, scale = rows[0], rows[1]
    assert lc.counts == {"increases": 1, "decreases": 0, "matters": 0, "no-effect": 2}
    assert lc.papers == (P1, P2, P5) and (lc.first_year, lc.last_year) == (2021, 2024)
    assert lc.consensus == "contested" and lc.label.startswith("Demonstration label correctness")
    assert scale.counts["increases"] == 2 and scale.consensus == "agreed"
    assert {r.consensus for r in rows[2:]} == {"single-source"}
    assert all(r.relation == "affects" and r.target == ICL for r in rows)


def test_factors_match_the_graph_aggregates(kg: KnowledgeGraph) -> None:
    for row in kg.factors(ICL):
        edge = kg.graph.edges[row.concept, ICL, "affects"]
        assert (row.counts, list(row.papers), row.consensus) == (
            edge["counts"],
            edge["papers"],
            edge["consensus"],
        )


def test_factors_since_and_min_papers(kg: KnowledgeGraph) -> None:
    assert [r.concept for r in kg.factors(ICL, min_papers=2)] == [
        "factor:label-correctness",
        "factor:model-scale",
    ]
    recent = {r.concept: r for r in kg.factors(ICL, since=2023)}
    assert set(recent) == {
        "factor:demonstration-order",
        "factor:label-correctness",
        "factor:model-scale",
    }
    assert recent["factor:label-correctness"].papers == (P5,)
    assert recent["factor:label-correctness"].consensus == "single-source"
    assert {r.concept for r in kg.factors(ICL, since="2023-04-01")} == {
        "factor:demonstration-order",  # P4, 2023-04-20
        "factor:label-correctness",  # P5
    }
    assert kg.factors(ICL, since=date(2023, 4, 1)) == kg.factors(ICL, since="2023-04-01")
    assert kg.factors(COT)[0].concept == "factor:model-scale"
    with pytest.raises(UsageError, match="ISO date"):
        kg.factors(ICL, since="last month")


def test_mechanisms(kg: KnowledgeGraph) -> None:
    rows = kg.mechanisms("in-context learning")
    assert [(r.concept, r.consensus) for r in rows] == [
        ("mechanism:implicit-gradient-descent", "contested"),
        ("mechanism:induction-heads", "single-source"),
    ]
    assert rows[0].counts == {"supports": 1, "refutes": 1} and rows[0].relation == "explains"


def test_evidence(kg: KnowledgeGraph) -> None:
    rows = kg.evidence("factor:label-correctness", "ICL")
    assert all(isinstance(r, Evidence) for r in rows)
    assert [(r.paper_id, r.polarity, r.year) for r in rows] == [
        (P1, "no-effect", 2021),
        (P2, "increases", 2022),
        (P5, "no-effect", 2024),
    ]
    assert rows[1].sentence == "Correct labels improve in-context learning substantially."
    assert rows[1].title == "Labels matter after all"
    assert rows[1].url == "https://arxiv.org/abs/2202.00002"
    assert [r.object for r in kg.evidence("model scale")] == [ICL, ICL, COT]
    assert kg.evidence("prompt wording", ICL)[0].sentence == HOSTILE_SENTENCE
    assert kg.evidence("induction heads", "chain-of-thought") == []


def test_contested(kg: KnowledgeGraph) -> None:
    rows = kg.contested()
    assert [(r.subject, r.object) for r in rows] == [
        ("factor:label-correctness", ICL),
        ("mechanism:implicit-gradient-descent", ICL),
    ]
    sides = rows[0].sides
    assert set(sides) == {"increases", "no-effect"}
    assert [e.paper_id for e in sides["no-effect"]] == [P1, P5]
    assert sides["increases"][0].sentence.startswith("Correct labels improve")
    assert rows[1].sides["refutes"][0].paper_id == P3
    assert [r.subject for r in kg.contested("implicit gradient descent")] == [
        "mechanism:implicit-gradient-descent"
    ]
    assert kg.contested(COT) == []


def test_papers(kg: KnowledgeGraph) -> None:
    assert [p.paper_id for p in kg.papers()] == [P6, P5, P4, P3, P2, HOSTILE, P1]
    assert [p.paper_id for p in kg.papers("chain-of-thought")] == [P5, P3]
    assert [p.paper_id for p in kg.papers(ICL, since=2024)] == [P5]
    row = kg.papers("emergence")[0]
    assert (row.paper_id, row.year, row.authors) == (P6, 2024, ("Gina Gray",))
    assert row.concepts == ("ability:emergence",) and row.n_claims == 0


def test_timeline(kg: KnowledgeGraph) -> None:
    assert [(t.year, t.papers, t.claims) for t in kg.timeline("ICL")] == [
        (2021, 1, 2),
        (2022, 2, 4),
        (2023, 2, 4),
        (2024, 1, 1),
    ]
    assert [(t.year, t.papers) for t in kg.timeline(COT)] == [(2023, 1), (2024, 1)]
    assert kg.timeline("risk:bias") == []


def test_influential(kg: KnowledgeGraph) -> None:
    top = kg.influential(3)
    assert [p.paper_id for p in top] == [P1, P2, P3]
    assert top[0].cited_in_corpus == 4 and top[0].pagerank > top[1].pagerank
    assert len(kg.influential(100)) == 7 and kg.influential(0) == []


def test_new_since(
    kg: KnowledgeGraph, small_graph_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(small_graph_dir / "small.sqlite3") as store:
        assert [p.paper_id for p in kg.new_since(1, store=store)] == [P5]
        assert kg.new_since(2, store=store) == []
    monkeypatch.setenv("KG_HOME", str(small_graph_dir))  # the store of the graph's pipeline
    assert [p.paper_id for p in kg.new_since("1")] == [P5]
    monkeypatch.setenv("KG_HOME", str(small_graph_dir / "elsewhere"))
    with pytest.raises(UsageError, match="give a date"):
        kg.new_since(1)
    assert [p.paper_id for p in kg.new_since("2024-01-01")] == [P6, P5]
    assert [p.paper_id for p in kg.new_since(date(2024, 5, 15))] == [P6]
    assert [p.paper_id for p in kg.new_since("2023-04")] == [P6, P5, P4]
    with pytest.raises(UsageError, match="run id"):
        kg.new_since("yesterday")


def test_concepts(kg: KnowledgeGraph) -> None:
    abilities = kg.concepts("ability")
    assert [c.concept for c in abilities][:2] == [
        "ability:chain-of-thought",
        "ability:emergence",
    ]
    icl = next(c for c in abilities if c.concept == ICL)
    assert icl.n_papers == 6 and "ICL" in icl.aliases
    assert len(kg.concepts()) == len(load_vocabulary())  # every vocabulary concept
    with pytest.raises(UsageError, match="use one of"):
        kg.concepts("planet")


def test_rows_convert_to_dicts_and_pandas(kg: KnowledgeGraph) -> None:
    rows = kg.factors(ICL)
    assert rows.to_dicts()[0]["concept"] == "factor:label-correctness"
    frame = rows.to_pandas()
    assert list(frame["n_papers"]) == [3, 2, 1, 1, 1]
    assert list(frame.columns)[:3] == ["concept", "label", "kind"]
    empty = kg.contested(COT).to_pandas()
    assert len(empty) == 0 and "sides" in empty.columns
    assert kg.contested().to_dicts()[0]["sides"]["no-effect"][0]["paper_id"] == P1


def test_to_pandas_without_pandas_says_what_to_install(
    kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match=r"pip install 'kg\[pandas\]'"):
        kg.factors(ICL).to_pandas()


def test_summary_and_repr(kg: KnowledgeGraph) -> None:
    assert kg.summary()["paper"] == 7 and kg.summary()["claims edges"] == 12
    n = len(load_vocabulary())
    assert repr(kg) == f"<KnowledgeGraph: 7 papers, {n} concepts, 12 claims>"
    assert HOSTILE in kg.graph and P4 in kg.graph


def test_load_default_is_the_shipped_graph() -> None:
    kg = KnowledgeGraph.load()
    assert DEFAULT_GRAPH.exists()
    assert isinstance(kg.graph, nx.MultiDiGraph)
    assert kg.resolve("ICL") == ICL
    assert len(kg.papers()) >= 100
    assert [p.paper_id for p in kg.influential(1)]


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such graph"):
        KnowledgeGraph.load(tmp_path)
