"""`kg refresh` online, as a user runs it, against a loopback arXiv + Semantic Scholar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.graph import load_graph
from kg.store import Store
from tests.harvesting import write_pipeline
from tests.loopback import Loopback, Reply
from tests.worlds import topic_world

KEY = "sk-cli-9e8d7c6b5a4f3e2d"


def kg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kg", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


@pytest.mark.slow
def test_kg_refresh_harvests_prints_a_summary_and_never_logs_the_key(
    tmp_path: Path, kg_home: Path
) -> None:
    world = topic_world()
    seeds = {"seed_ids": [f"arXiv:{world.named['SEED']}"]}
    file = write_pipeline(tmp_path, semantic_scholar=seeds)
    out = tmp_path / "graph"
    with Loopback(world.handler) as server:
        env = {
            "KG_ARXIV_URL": server.url + "/api/query",
            "KG_S2_URL": server.url,
            "S2_API_KEY": KEY,
            "KG_LOG_LEVEL": "DEBUG",
            "COLUMNS": "400",  # one line per summary row
        }
        done = kg("refresh", "--pipeline", str(file), "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "kg refresh: run 1 ok" in done.stdout
        summary = " ".join(done.stdout.split())
        assert "│ ingest │ new 16, updated 12, unchanged 2, merged 1, citations new 20," in summary
        for text in ("snowball joined 1", "requests arxiv 5, requests s2 33"):
            assert text in summary, summary
        assert "snowball off topic 1" in summary and "not in s2 1" in summary
        assert "DEBUG" in done.stderr and "HTTP Request: POST" in done.stderr
        assert KEY not in done.stderr and KEY not in done.stdout
        graph = load_graph(out / "graph.json")
        papers = {n for n, kind in graph.nodes(data="kind") if kind == "paper"}
        assert world.named["JOINS"] in papers and world.named["SEED"] in papers
        assert sum(1 for *_, kind in graph.edges(data="kind") if kind == "cites") == 20

        status = kg("status", "--pipeline", str(file), env=env)
        assert status.returncode == 0, status.stderr
        watermarks = status.stdout.split("\nwatermarks:\n", 1)[1]
        assert "  arxiv:in-context learning | " in watermarks


def test_a_failing_source_is_reported_in_the_summary_and_the_run_ledger(
    tmp_path: Path,
    kg_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kg.cli import _print_refresh
    from kg.config import load_pipeline
    from kg.pipeline import refresh

    world = topic_world()
    file = write_pipeline(tmp_path, arxiv={"queries": ["chain-of-thought"]})
    with Loopback(world.handler) as server:
        monkeypatch.setenv("KG_ARXIV_URL", server.url + "/api/query")
        monkeypatch.setenv("KG_S2_URL", server.url)
        server.inject(Reply(503), when=lambda s: s.path.endswith("/api/query"), times=1000)
        with Store(tmp_path / "s.sqlite3") as store:
            result = refresh(
                load_pipeline(file), offline=False, out_dir=tmp_path / "o", store=store
            )
            (failure,) = result.failures
            assert failure.startswith(
                "arXiv query 'chain-of-thought': arXiv: HTTP 503 after 2 tries"
            )
            assert result.status == "partial"  # what worked is kept: exit 4 from the CLI
            (last,) = store.runs(limit=1)
            assert last.status == "partial" and last.message is not None
            assert last.message.endswith(failure)
            assert last.counts["ingest"]["requests_arxiv"] == 2
            assert last.counts["ingest"]["new"] >= 1  # Semantic Scholar's search still worked
    _print_refresh(result)
    words = " ".join(w for w in capsys.readouterr().out.split() if w != "│")
    assert "failed arXiv query 'chain-of-thought': arXiv: HTTP 503 after 2 tries" in words
