"""The SQLite store: round trips, idempotent upserts, merging, migrations, integrity."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kg.errors import StoreError
from kg.records import Citation, Claim, Extraction, Paper
from kg.store import SCHEMA_VERSION, Store

PAPER = Paper(
    paper_id="2202.12837",
    title="Rethinking the Role of Demonstrations: What Makes In-Context Learning Work?",
    abstract="We show that ground truth demonstrations are in fact not required.",
    authors=("Sewon Min", "Xinxi Lyu"),
    published="2022-02-25",
    year=2022,
    categories=("cs.CL", "cs.AI"),
    venue="EMNLP 2022",
    arxiv_id="2202.12837",
    arxiv_version=2,
    abstract_complete=True,
    url="https://arxiv.org/abs/2202.12837",
    source="arxiv",
)
OTHER = Paper(
    "2102.09690",
    "Calibrate Before Use: Improving Few-Shot Performance",
    "A.",
    authors=("Tony Z. Zhao",),
    arxiv_id="2102.09690",
    source="arxiv",
)
CLAIM = Claim(
    subject="factor:label-correctness",
    relation="affects",
    object="ability:in-context-learning",
    polarity="no-effect",
    sentence="We show that ground truth demonstrations are in fact not required.",
    char_start=76,
    char_end=143,
    hedged=False,
    confidence=0.8,
)


def test_paper_round_trip_keeps_every_field(store: Store) -> None:
    assert store.upsert_paper(PAPER) == "new"
    assert store.get_paper(PAPER.paper_id) == PAPER
    assert [a.name for a in store.authors_of(PAPER.paper_id)] == ["Sewon Min", "Xinxi Lyu"]
    assert store.field_sources(PAPER.paper_id)["title"] == "arxiv"


def test_upserts_are_idempotent(store: Store) -> None:
    assert store.upsert_paper(PAPER, run_id=1) == "new"
    assert store.upsert_paper(PAPER, run_id=2) == "unchanged"
    assert store.counts()["papers"] == 1
    assert store.db.execute("SELECT changed_run FROM papers").fetchone()[0] == 1


def test_author_spellings_stay_per_paper(store: Store) -> None:
    store.upsert_paper(
        Paper("2207.07051", "A paper with many authors here", authors=("S. C. Y. Chan",))
    )
    store.upsert_paper(
        Paper("2404.07129", "Another paper with authors too", authors=("S. C.Y. Chan",))
    )
    assert store.counts()["authors"] == 1
    assert store.get_paper("2404.07129").authors == ("S. C.Y. Chan",)
    assert (
        store.upsert_paper(
            Paper("2404.07129", "Another paper with authors too", authors=("S. C.Y. Chan",))
        )
        == "unchanged"
    )


def test_citation_and_extraction_round_trip(store: Store) -> None:
    store.upsert_paper(PAPER)
    store.upsert_paper(OTHER)
    cite = Citation("2202.12837", "2102.09690", "s2", ("as shown by [3]",), ("background",), True)
    assert store.upsert_citation(cite)
    assert store.upsert_citation(cite)
    assert list(store.citations()) == [cite]
    assert not store.upsert_citation(Citation("2202.12837", "9999.99999"))
    extraction = Extraction(PAPER.paper_id, ("ability:in-context-learning",), (CLAIM,))
    store.save_extraction(extraction, PAPER.content_hash, "v1", run_id=None)
    store.save_extraction(extraction, PAPER.content_hash, "v1", run_id=None)
    assert list(store.extractions()) == [extraction]
    assert store.counts()["claims"] == 1


def test_reextraction_only_when_text_or_extractor_changes(store: Store) -> None:
    store.upsert_paper(PAPER)
    assert [p.paper_id for p in store.papers_to_extract("v1")] == [PAPER.paper_id]
    store.save_extraction(Extraction(PAPER.paper_id, (), ()), PAPER.content_hash, "v1")
    assert store.papers_to_extract("v1") == []
    assert len(store.papers_to_extract("v2")) == 1
    store.upsert_paper(Paper(**{**PAPER.__dict__, "abstract": "A new abstract."}))
    assert len(store.papers_to_extract("v1")) == 1


def test_runs_and_watermarks_round_trip(store: Store) -> None:
    run = store.start_run("topic", "offline")
    store.set_watermark("arxiv", "q1", "2024-01-01T00:00:00Z", run)
    store.finish_run(run, "ok", {"ingest": {"papers_new": 3}})
    (last,) = store.runs()
    assert (last.run_id, last.status, last.mode) == (run, "ok", "offline")
    assert last.counts == {"ingest": {"papers_new": 3}}
    assert last.watermarks_before == {}
    assert last.watermarks_after == {"arxiv:q1": "2024-01-01T00:00:00Z"}
    assert store.watermark("arxiv", "q1") == "2024-01-01T00:00:00Z"
    assert store.watermark("arxiv", "missing") is None


def test_same_work_from_another_source_merges_by_doi(store: Store) -> None:
    store.upsert_paper(
        Paper(
            "s2:abc",
            "Some title of a paper on ICL",
            doi="10.1/X",
            citation_count=10,
            s2_paper_id="abc",
            source="s2",
        )
    )
    outcome = store.upsert_paper(
        Paper(
            "2202.12837",
            "Some Title of a Paper on ICL",
            doi="10.1/x",
            arxiv_id="2202.12837",
            source="arxiv",
        )
    )
    assert outcome == "updated"
    assert [p.paper_id for p in store.papers()] == ["2202.12837"]
    merged = store.get_paper("2202.12837")
    assert merged.citation_count == 10 and merged.title == "Some Title of a Paper on ICL"
    assert store.merges() == [("2202.12837", "s2:abc", "rekeyed to arXiv id")]


def test_lower_precedence_source_only_fills_empty_fields(store: Store) -> None:
    store.upsert_paper(PAPER)
    store.upsert_paper(
        Paper(
            PAPER.paper_id,
            "A different title",
            venue="ACL",
            arxiv_id=PAPER.arxiv_id,
            citation_count=5,
            source="s2",
        )
    )
    paper = store.get_paper(PAPER.paper_id)
    assert paper.title == PAPER.title  # arXiv wins the title
    assert paper.venue == "ACL" and paper.citation_count == 5  # S2 wins venue and counts
    assert store.field_sources(PAPER.paper_id)["venue"] == "s2"


def test_schema_is_versioned_and_foreign_keys_hold(tmp_path: Path, store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("INSERT INTO citations (citing, cited, source) VALUES ('x', 'y', 'test')")


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this kg"):
        Store(path)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(blocker / "store.sqlite3")
