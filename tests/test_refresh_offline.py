"""End to end: `kg refresh --offline` builds the graph from the snapshot, byte-identically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kg.config import load_pipeline
from kg.graph import load_graph
from kg.pipeline import refresh
from kg.sources.snapshot import read_snapshot
from tests.conftest import REPO, SNAPSHOT

OUTPUTS = ("graph.json", "graph.graphml", "index.html", "nodes.csv", "edges.csv")


def _kg(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kg", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One offline refresh (in a subprocess, as a user runs it): (KG_HOME, output folder)."""
    root = tmp_path_factory.mktemp("e2e")
    home, out = root / "home", root / "graphs"
    done = _kg("refresh", "--offline", "--out", str(out), env={"KG_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert "run 1 ok" in done.stdout
    return home, out


def test_graph_has_one_paper_node_per_snapshot_paper(built: tuple[Path, Path]) -> None:
    _, out = built
    graph = load_graph(out / "graph.json")
    papers = {n for n, kind in graph.nodes(data="kind") if kind == "paper"}
    assert papers == {p.paper_id for p in read_snapshot(SNAPSHOT).papers}
    assert sum(1 for *_, k in graph.edges(data="kind") if k == "cites") == 27
    node = graph.nodes["2202.12837"]
    assert node["year"] == 2022 and node["authors"][0] == "Sewon Min"
    assert node["url"] == "https://arxiv.org/abs/2202.12837"
    assert {k for _, k in graph.nodes(data="kind")} >= {"paper", "author", "ability", "factor"}
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0


def test_page_loads_nothing_from_the_network(built: tuple[Path, Path]) -> None:
    page = (built[1] / "index.html").read_text()
    assert "vis.DataSet" in page
    for tag in ('<script src="http', '<link rel="stylesheet" href="http', "cdn.jsdelivr"):
        assert tag not in page


def test_second_run_changes_no_byte(built: tuple[Path, Path], kg_home: Path) -> None:
    home, out = built
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    mtimes = {name: (out / name).stat().st_mtime_ns for name in OUTPUTS}
    done = _kg("refresh", "--offline", "--out", str(out), env={"KG_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert "skipped (snapshot unchanged)" in done.stdout
    assert "none (no changes)" in done.stdout
    for name in OUTPUTS:
        assert (out / name).read_bytes() == before[name]
        assert (out / name).stat().st_mtime_ns == mtimes[name]


def test_a_fresh_store_rebuilds_the_shipped_graph_byte_for_byte(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """`make run` on a fresh clone with a fresh KG_HOME leaves every file under graphs/ as it
    is (CHANGES.md included): shown on a copy, so the test never writes into the repository."""
    shipped = REPO / "graphs" / "emergent_abilities"
    out = tmp_path / "graphs"
    shutil.copytree(shipped, out)
    result = refresh(load_pipeline(), offline=True, out_dir=out)
    assert result.status == "ok" and result.written == [] and result.headline == "no changes"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in shipped.iterdir()
    }
    assert (built[1] / "graph.json").read_bytes() == (shipped / "graph.json").read_bytes()


def test_status_shows_runs_counts(built: tuple[Path, Path]) -> None:
    home, _ = built
    done = _kg("status", env={"KG_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert "papers 179" in done.stdout and "offline" in done.stdout


def test_snapshot_export_writes_a_snapshot(built: tuple[Path, Path], tmp_path: Path) -> None:
    home, _ = built
    done = _kg("snapshot", "export", str(tmp_path / "snap"), env={"KG_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert "179 papers and 27 citations" in done.stdout
    lines = (tmp_path / "snap" / "papers.jsonl").read_text().splitlines()
    ids = [json.loads(line)["arxiv_id"] for line in lines]
    assert ids == sorted(ids)  # stable order: exports diff cleanly
    assert len(read_snapshot(tmp_path / "snap").papers) == 179


def test_version_and_help() -> None:
    assert _kg("--version").stdout.startswith("kg, version ")
    help_text = _kg("--help").stdout
    for command in ("refresh", "extract", "snapshot", "status"):
        assert command in help_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("refresh", "--pipeline", "/nonexistent.toml"), "pipeline file not found"),
        (("extract", "/nonexistent.jsonl"), "No such file or directory"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _kg(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_log_level_is_a_user_error() -> None:
    done = _kg("status", env={"KG_LOG_LEVEL": "LOUD"})
    assert done.returncode == 2 and "KG_LOG_LEVEL" in done.stderr
