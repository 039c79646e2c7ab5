"""A harvest interrupted at any request resumes without fetching a completed page again.

Measured on the loopback server: for every request index i of an uninterrupted harvest, the
services go down from request i on; a rerun (within `harvest.resume_hours`) must complete the
harvest, and the requests answered in full over both runs must be exactly the uninterrupted
run's -- none twice, none missing -- with the same papers and citations stored.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kg.store import Store
from tests.conftest import REPO
from tests.harvesting import NOW, pipeline, run, write_pipeline
from tests.loopback import Loopback, Reply, Seen
from tests.worlds import World, small_world


def signature(seen: Seen) -> tuple[str, str, str, bytes]:
    return seen.method, seen.path, seen.raw_query, seen.body


def answered(requests: list[Seen]) -> Counter[tuple[str, str, str, bytes]]:
    return Counter(signature(s) for s in requests if s.status == 200 and s.complete)


def contents(store: Store) -> tuple[set[str], set[tuple[str, str]]]:
    return {p.paper_id for p in store.papers()}, {(c.citing, c.cited) for c in store.citations()}


@pytest.fixture
def world_server(monkeypatch: pytest.MonkeyPatch):
    world = small_world()
    with Loopback(world.handler) as server:
        monkeypatch.setenv("KG_ARXIV_URL", server.url + "/api/query")
        monkeypatch.setenv("KG_S2_URL", server.url)
        yield world, server


SMALL = {
    "arxiv": {"queries": ["in-context learning"], "page_size": 2},
    "semantic_scholar": {"citations_limit": 4},
    "harvest": {"max_tries": 1, "give_up_after": 1},
}


@pytest.mark.slow
def test_interrupted_at_any_request_the_rerun_fetches_no_completed_page_again(
    world_server: tuple[World, Loopback], tmp_path: Path
) -> None:
    world, server = world_server
    config = pipeline(tmp_path, world, **SMALL)
    with Store(tmp_path / "baseline.sqlite3") as baseline:
        report = run(baseline, config)
        assert report.failures == [] and world.errors == []
        expected = contents(baseline)
    reference = answered(server.requests)
    total = sum(reference.values())
    assert total == len(server.requests) >= 20
    print(f"{total} requests in an uninterrupted harvest")
    assert report.counts["snowball_joined"] == 1 and report.counts["s2_search_results"] == 2

    for i in range(total):
        start = len(server.requests)
        server.inject(
            Reply(503, "down"), when=lambda s, cut=start + i: s.index >= cut, times=math.inf
        )
        with Store(tmp_path / f"cut{i}.sqlite3") as store:
            first = run(store, config)
            assert first.failures, i
            server.clear_faults()
            second = run(store, config, NOW + timedelta(hours=2))
            assert second.failures == [] and second.counts["resumed"] == 1, i
            assert answered(server.requests[start:]) == reference, i
            assert contents(store) == expected, i


_HARVEST = textwrap.dedent(
    """
    import sys
    from kg.config import load_pipeline
    from kg.harvest import harvest
    from kg.store import Store
    config = load_pipeline(sys.argv[1])
    with Store(sys.argv[2]) as store:
        harvest(store, config, store.start_run("t", "online"))
    """
)


def test_a_killed_harvest_resumes_where_it_was_killed(
    world_server: tuple[World, Loopback], tmp_path: Path
) -> None:
    """SIGKILL while a request hangs: the rerun picks up at that request."""
    _, server = world_server
    file = write_pipeline(
        tmp_path,
        **{**SMALL, "arxiv": {**SMALL["arxiv"], "timeout": 60}, "harvest": {"max_tries": 2}},
    )
    db = tmp_path / "killed.sqlite3"
    hang = Reply(200, "", delay=60)
    server.inject(hang, when=lambda s: s.path.endswith("/api/query") and s.query["start"] == "2")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen([sys.executable, "-c", _HARVEST, str(file), str(db)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not any(s.query.get("start") == "2" for s in server.requests):
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    before = len(server.requests)
    assert [s.query["start"] for s in server.requests] == ["0", "2"]
    from kg.config import load_pipeline

    with Store(db) as store:
        assert len(list(store.papers())) == 2  # the first page was in before the kill
        report = run(store, load_pipeline(file), datetime.now(UTC))
        assert report.failures == [] and report.counts.get("resumed") == 1
    again = [s for s in server.requests[before:] if s.path.endswith("/api/query")]
    assert [s.query["start"] for s in again] == ["2", "4"]
