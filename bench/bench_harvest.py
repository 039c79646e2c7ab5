"""Harvest cost against a loopback arXiv + Semantic Scholar: requests per harvested paper,
Semantic Scholar batch calls against ceil(N/500), and pages refetched after an interruption.

Run: `python bench/bench_harvest.py` (part of `make bench`). The services are simulated in
their wire formats by the test suite's loopback world (`tests/worlds.py`), with N papers made
from the snapshot's real ones; request spacing is 0 against loopback, so times are CPU only.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kg.store import Store  # noqa: E402
from tests.harvesting import NOW, pipeline, run  # noqa: E402
from tests.loopback import Loopback, Reply  # noqa: E402
from tests.worlds import World, snapshot_works  # noqa: E402

QUERY = "in-context learning"


def world_of(n: int) -> World:
    """N arXiv papers (snapshot papers under new ids), each citing the five before it."""
    base = snapshot_works()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    works = []
    for i in range(n):
        source = base[i % len(base)]
        when = start + timedelta(hours=7 * i)
        key = f"{when:%y%m}.{i:05d}"
        works.append(
            replace(
                source,
                key=key,
                arxiv_id=key,
                title=f"{source.title} [{i}]",
                published=when,
                categories=("cs.CL",),
            )
        )
    world = World(works=works, arxiv_queries={QUERY: [w.key for w in works]})
    for i, work in enumerate(works):
        world.references[work.key] = [w.key for w in works[max(0, i - 5) : i]]
    return world


def harvest_once(n: int, folder: Path, **overrides: dict) -> tuple[dict, float, int]:
    world = world_of(n)
    settings = {
        "arxiv": {"queries": [QUERY], "page_size": 200},
        "semantic_scholar": {"queries": []},
        **overrides,
    }
    with Loopback(world.handler) as server:
        os.environ["KG_ARXIV_URL"] = server.url + "/api/query"
        os.environ["KG_S2_URL"] = server.url
        config = pipeline(folder, **settings)
        with Store(folder / f"bench-{n}-{len(overrides)}.sqlite3") as store:
            started = time.perf_counter()
            report = run(store, config)
            elapsed = time.perf_counter() - started
            papers = store.counts()["papers"]
    assert not report.failures, report.failures
    assert not world.errors, world.errors
    return report.counts, elapsed, papers


def resume_refetches(n: int, folder: Path, cuts: tuple[float, ...]) -> list[tuple[int, int, int]]:
    """(cut request, requests answered over both runs, of them refetched) for each cut."""
    world = world_of(n)
    rows = []
    with Loopback(world.handler) as server:
        os.environ["KG_ARXIV_URL"] = server.url + "/api/query"
        os.environ["KG_S2_URL"] = server.url
        config = pipeline(
            folder,
            arxiv={"queries": [QUERY], "page_size": 50},
            semantic_scholar={"queries": []},
            harvest={"max_tries": 1, "give_up_after": 1},
        )
        with Store(folder / "resume-baseline.sqlite3") as store:
            run(store, config)
        total = len(server.requests)
        for fraction in cuts:
            cut = int(total * fraction)
            first = len(server.requests)
            server.inject(Reply(503), when=lambda s, c=first + cut: s.index >= c, times=math.inf)
            with Store(folder / f"resume-{cut}.sqlite3") as store:
                run(store, config)
                server.clear_faults()
                report = run(store, config, NOW + timedelta(hours=1))
                assert not report.failures, report.failures
            done = Counter(
                (s.method, s.path, s.raw_query, s.body)
                for s in server.requests[first:]
                if s.status == 200 and s.complete
            )
            rows.append((cut, sum(done.values()), sum(done.values()) - len(done)))
    return rows


def main() -> None:
    logging.disable(logging.WARNING)  # the interrupted runs report their failures by design
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["KG_HOME"] = str(folder / "home")
        for label, extra in (
            ("references + citations", {}),
            ("references only", {"semantic_scholar": {"queries": [], "citations_limit": 0}}),
        ):
            n = 1001
            counts, elapsed, papers = harvest_once(n, folder, **extra)
            requests = counts["requests_arxiv"] + counts["requests_s2"]
            print(f"harvest of {n} arXiv papers ({label}):")
            print(
                f"  papers stored {papers}; requests arXiv {counts['requests_arxiv']}, "
                f"Semantic Scholar {counts['requests_s2']}; "
                f"{requests / papers:.3f} requests per harvested paper; {elapsed:.1f} s"
            )
            print(
                f"  S2 batch calls {counts['s2_batch_calls']} for {n} papers "
                f"(ceil(N/500) = {math.ceil(n / 500)})"
            )
        print("harvest of 120 papers interrupted at a request, then rerun:")
        for cut, answered, refetched in resume_refetches(120, folder, (0.1, 0.5, 0.9)):
            print(
                f"  cut at request {cut}: {answered} requests answered over both runs, "
                f"{refetched} completed pages fetched again"
            )


if __name__ == "__main__":
    main()
