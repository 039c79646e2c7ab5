"""The changelog: consensus, the graph diff (on graphs built from stores made by hand) and
`CHANGES.md` (entries on top, never twice, an unpublished entry replaced)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from kg.changes import (
    HEADER,
    MAX_LISTED,
    ChangeSet,
    consensus,
    diff_graphs,
    render_changes,
    top_entry,
    update_changelog,
)
from kg.graph import build_graph, graph_to_json
from kg.records import Claim, Extraction, Paper
from kg.store import Store
from kg.vocabulary import load_vocabulary

ICL = "ability:in-context-learning"
SCALE = "factor:model-scale"
HEADS = "mechanism:induction-heads"


@pytest.mark.parametrize(
    ("relation", "counts", "n_papers", "expected"),
    [
        ("affects", None, 0, "no claims"),
        ("affects", {"increases": 2}, 1, "single-source"),
        ("affects", {"increases": 1, "decreases": 1}, 1, "single-source"),
        ("affects", {"increases": 3, "matters": 1}, 3, "agreed"),
        ("affects", {"increases": 2, "decreases": 1}, 3, "contested"),
        ("affects", {"no-effect": 1, "matters": 1}, 2, "contested"),
        ("affects", {"no-effect": 2, "decreases": 0}, 2, "agreed"),
        ("explains", {"supports": 2}, 2, "agreed"),
        ("explains", {"supports": 1, "refutes": 1}, 2, "contested"),
    ],
)
def test_consensus(relation: str, counts: Any, n_papers: int, expected: str) -> None:
    assert consensus(relation, counts, n_papers) == expected


def _claim(subject: str, polarity: str, obj: str = ICL, relation: str = "affects") -> Claim:
    sentence = f"{subject} {polarity} {obj}"
    return Claim(subject, relation, obj, polarity, sentence, 0, len(sentence), False, 0.8)  # type: ignore[arg-type]


def _graph(
    tmp: Path,
    papers: list[Paper],
    claims: dict[str, list[Claim]],
    cites: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """Node-link data of the graph built from a store holding exactly `papers` and `claims`."""
    from kg.records import Citation

    path = tmp / f"{uuid.uuid4().hex}.sqlite3"
    with Store(path) as store:
        for p in papers:
            store.upsert_paper(p)
        for citing, cited in cites:
            store.upsert_citation(Citation(citing, cited))
        for p in papers:
            found = tuple(claims.get(p.paper_id, ()))
            concepts = tuple(sorted({c.subject for c in found} | {c.object for c in found}))
            store.save_extraction(Extraction(p.paper_id, concepts, found), p.content_hash, "v1")
        return orjson.loads(graph_to_json(build_graph(store, load_vocabulary())))


def _paper(key: str, title: str, version: int | None = 1) -> Paper:
    return Paper(key, title, "Abstract.", arxiv_id=key, arxiv_version=version, year=2024)


A = _paper("2401.00001", "Scale makes in-context learning appear")
B = _paper("2401.00002", "Scale helps in-context learning too")
C = _paper("2401.00003", "Scale hurts in-context learning here")


def test_first_build_is_summarised(tmp_path: Path) -> None:
    new = _graph(tmp_path, [A, B], {A.paper_id: [_claim(SCALE, "increases")]})
    changes = diff_graphs(None, new)
    assert changes.first_build and changes.totals == {"papers": 2, "claims": 1}
    assert changes.headline() == "first build: 2 papers, 1 claims"
    assert "First build of this graph: 2 papers, 1 claims." in render_changes(changes)


def test_identical_graphs_have_no_changes(tmp_path: Path) -> None:
    old = _graph(tmp_path, [A], {A.paper_id: [_claim(SCALE, "increases")]})
    changes = diff_graphs(old, old)
    assert changes.empty and changes.headline() == "no changes"


def test_new_papers_claims_versions_and_a_factor_becoming_contested(tmp_path: Path) -> None:
    old = _graph(
        tmp_path,
        [A, B],
        {A.paper_id: [_claim(SCALE, "increases")], B.paper_id: [_claim(SCALE, "increases")]},
    )
    b2 = Paper(**{**B.__dict__, "arxiv_version": 2})
    new = _graph(
        tmp_path,
        [A, b2, C],
        {
            A.paper_id: [_claim(SCALE, "increases")],
            B.paper_id: [_claim(SCALE, "increases")],
            C.paper_id: [
                _claim(SCALE, "decreases"),
                _claim(HEADS, "supports", relation="explains"),
            ],
        },
        cites=((C.paper_id, A.paper_id),),
    )
    changes = diff_graphs(old, new)
    assert [p["id"] for p in changes.papers_added] == [C.paper_id]
    assert changes.papers_new_version == [
        {"id": B.paper_id, "title": B.title, "year": 2024, "from": 1, "to": 2}
    ]
    assert {(c["paper"], c["subject"], c["polarity"]) for c in changes.claims_added} == {
        (C.paper_id, SCALE, "decreases"),
        (C.paper_id, HEADS, "supports"),
    }
    transitions = {(c["subject"], c["before"], c["after"]) for c in changes.consensus_changed}
    assert transitions == {(SCALE, "agreed", "contested"), (HEADS, "no claims", "single-source")}
    assert changes.citations_added == 1
    assert changes.headline() == (
        "1 new paper, 1 new version, 2 new claims, 2 consensus changes, 1 new citation"
    )
    text = render_changes(changes)
    assert "### Consensus changed (2)" in text
    assert f"`{SCALE}` affects `{ICL}`: agreed → contested" in text
    assert f"[{B.paper_id}](https://arxiv.org/abs/{B.paper_id})" in text and "v1 → v2" in text


def test_withdrawn_removed_and_rekeyed_papers(tmp_path: Path) -> None:
    s2 = Paper("s2:abc", "A work first seen on Semantic Scholar", "X.", s2_paper_id="abc")
    old = _graph(tmp_path, [A, B, s2], {A.paper_id: [_claim(SCALE, "increases")]})
    same_work = Paper("2402.00009", s2.title, "X.", arxiv_id="2402.00009")
    new = _graph(tmp_path, [B, same_work], {})
    new["nodes"] = [{**n, "withdrawn": True} if n["id"] == B.paper_id else n for n in new["nodes"]]
    changes = diff_graphs(old, new)
    assert {p["id"] for p in changes.papers_withdrawn} == {A.paper_id, B.paper_id}
    assert changes.papers_rekeyed == [{"from": "s2:abc", "to": "2402.00009"}]
    assert changes.papers_added == []
    assert len(changes.claims_removed) == 1
    assert changes.consensus_changed[0]["after"] == "no claims"


def test_metadata_only_changes_are_counted(tmp_path: Path) -> None:
    old = _graph(tmp_path, [A], {})
    new = _graph(tmp_path, [Paper(**{**A.__dict__, "venue": "ICLR 2025"})], {})
    changes = diff_graphs(old, new)
    assert changes.papers_updated == 1 and changes.headline() == "1 paper updated"


def test_long_lists_are_capped_in_the_file(tmp_path: Path) -> None:
    changes = ChangeSet(
        papers_added=[{"id": f"2401.{n:05d}", "title": "T", "year": None} for n in range(70)]
    )
    text = render_changes(changes)
    assert text.count("\n- [2401.") == MAX_LISTED
    assert f"- ... and {70 - MAX_LISTED} more (`kg changes --json` lists all)" in text


def test_changelog_entries_go_on_top_once() -> None:
    one = ChangeSet(papers_added=[{"id": "2401.00001", "title": "One", "year": 2024}])
    two = ChangeSet(papers_added=[{"id": "2401.00002", "title": "Two", "year": 2024}])
    first = update_changelog(None, one, "2026-01-05", "h0", "h1")
    assert first is not None and first.startswith(HEADER)
    assert top_entry(first) == ("h0", "h1")
    assert update_changelog(first, one, "2026-01-06", "h0", "h1") is None  # already there
    second = update_changelog(first, two, "2026-01-12", "h1", "h2")
    assert second is not None
    assert second.index("2401.00002") < second.index("2401.00001")
    assert second.count("## 2026-") == 2 and top_entry(second) == ("h1", "h2")


def test_an_unpublished_entry_is_replaced_not_repeated() -> None:
    one = ChangeSet(papers_added=[{"id": "2401.00001", "title": "One", "year": 2024}])
    both = ChangeSet(
        papers_added=[
            {"id": "2401.00001", "title": "One", "year": 2024},
            {"id": "2401.00002", "title": "Two", "year": 2024},
        ]
    )
    published = update_changelog(None, one, "2026-01-05", "h0", "h1")
    # A run wrote the entry h1 -> h2 and was killed before graph.json (still h1) was replaced;
    # the next run, with more papers, goes from h1 to h3.
    unpublished = update_changelog(published, one, "2026-01-12", "h1", "h2")
    final = update_changelog(unpublished, both, "2026-01-12", "h1", "h3")
    assert final is not None and final.count("## 2026-") == 2
    assert top_entry(final) == ("h1", "h3") and "to=h2" not in final


def test_a_changelog_someone_started_by_hand_is_kept_below() -> None:
    one = ChangeSet(papers_added=[{"id": "2401.00001", "title": "One", "year": 2024}])
    text = update_changelog("Notes kept by hand.\n", one, "2026-01-05", None, "h1")
    assert text is not None and text.startswith(HEADER) and text.endswith("Notes kept by hand.\n")
    assert top_entry(text) == ("none", "h1")


def test_changes_no_category_names_are_still_reported(tmp_path: Path) -> None:
    old = _graph(tmp_path, [A, B], {}, cites=((B.paper_id, A.paper_id),))
    new = _graph(tmp_path, [A, B], {}, cites=((B.paper_id, A.paper_id),))
    for edge in new["edges"]:
        if edge["kind"] == "cites":
            edge["contexts"] = ["As shown by A, scale matters."]
    changes = diff_graphs(old, new)
    assert changes.details_changed == 1 and changes.headline() == "other details updated"
    assert "other details (citation contexts, graph attributes): 1" in render_changes(changes)
    bumped = {**old, "graph": {**old["graph"], "format": old["graph"]["format"] + 1}}
    assert diff_graphs(old, bumped).headline() == "other details updated"
