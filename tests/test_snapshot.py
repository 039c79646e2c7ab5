"""The embedded snapshot: import is idempotent, all-or-nothing, and export round-trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.pipeline import ingest
from kg.sources.snapshot import read_snapshot, write_snapshot
from kg.store import Store
from tests.conftest import SNAPSHOT


def _import(store: Store, folder: Path) -> dict[str, int]:
    snap = read_snapshot(folder)
    return ingest(store, snap.papers, snap.citations, run_id=None)


def test_the_embedded_snapshot_holds_the_real_corpus() -> None:
    snap = read_snapshot(SNAPSHOT)
    assert len(snap.papers) == 179
    assert len({p.paper_id for p in snap.papers}) == 179
    assert len(snap.citations) == 27
    first = snap.papers[0]
    assert first.paper_id == "2202.12837" and first.authors[0] == "Sewon Min"


def test_importing_twice_gives_identical_counts(store: Store) -> None:
    first = _import(store, SNAPSHOT)
    counts = store.counts()
    second = _import(store, SNAPSHOT)
    assert first == {"citations": 27, "papers_new": 179}
    assert second == {"citations": 27, "papers_unchanged": 179}
    assert store.counts() == counts


def test_a_malformed_line_names_file_and_line_and_stores_nothing(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "snap"
    shutil.copytree(SNAPSHOT, folder)
    lines = (folder / "papers.jsonl").read_text().splitlines()
    lines[41] = lines[41][:-5]  # cut the closing of line 42
    (folder / "papers.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"papers\.jsonl:42: not valid JSON"):
        _import(store, folder)
    assert store.counts()["papers"] == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"arxiv_id": "2202.12837"}, "'title' is missing"),
        ({"arxiv_id": "nope", "title": "T"}, "not an arXiv id"),
        ({"arxiv_id": "2202.12837", "title": "T", "year": "2022"}, "'year' must be an integer"),
        ({"arxiv_id": "2202.12837", "title": "T", "authors": "A, B"}, "'authors' must be"),
        ({"arxiv_id": "2202.12837", "title": "T", "colour": 1}, "unknown key 'colour'"),
    ],
)
def test_invalid_fields_are_named(tmp_path: Path, line: dict, message: str) -> None:
    (tmp_path / "papers.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(InputError, match=message):
        read_snapshot(tmp_path)


def test_export_then_import_round_trips(tmp_path: Path, store: Store) -> None:
    _import(store, SNAPSHOT)
    assert write_snapshot(store, tmp_path / "out") == (179, 27)
    with Store(tmp_path / "copy.sqlite3") as copy:
        assert _import(copy, tmp_path / "out") == {"citations": 27, "papers_new": 179}
        assert list(copy.papers()) == list(store.papers())
        assert list(copy.citations()) == list(store.citations())
