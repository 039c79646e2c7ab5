"""Crash injection: a refresh killed with SIGKILL at any point leaves a store and outputs from
which the next refresh completes, with nothing stored twice and nothing half-written.

Each kill runs `tests.crash_child` (a real refresh in a subprocess, with the spaCy-free
`TaggedExtractor`) on a copy of a prepared state, kills it at one point, checks what it left,
refreshes again in this process and compares everything with an uninterrupted refresh. Kill
points: around every top-level store transaction (before its COMMIT and after it) and around
every rename of an output file, in two scenarios (a first refresh into an empty KG_HOME, and an
incremental one that adds papers, new versions, claims and a consensus change), plus kills at
random delays of real `python -m tests.crash_child` subprocesses. The kill-point matrix forks
this (already warm) test process instead of starting an interpreter per point: the same SIGKILL
of a whole process, ten times cheaper.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kg.config import PipelineConfig
from kg.pipeline import refresh
from kg.store import Store
from tests import crash_child
from tests.conftest import REPO
from tests.fakes import TaggedExtractor, copy_state, paper, real_papers, tag, write_pipeline

EPOCH = "1767225600"  # 2026-01-01: CHANGES.md dates do not depend on when the test runs
ICL = "ability:in-context-learning"


def _snapshots() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """S0 (24 real papers, three with claims) and S1 (S0 plus 8 papers, two new versions and a
    consensus change), and the citations both share."""
    base = real_papers(24)
    base[0]["abstract"] += " " + tag("factor:model-scale", ICL, "increases")
    base[1]["abstract"] += " " + tag("factor:model-scale", ICL, "increases")
    base[2]["abstract"] += " " + tag("mechanism:induction-heads", ICL, "supports", "explains")
    base[3]["arxiv_version"] = 1
    base[4]["arxiv_version"] = 1
    s1 = [dict(p) for p in base]
    s1[3] = {
        **s1[3],
        "arxiv_version": 2,
        "abstract": s1[3]["abstract"]
        + " "
        + tag("mechanism:induction-heads", ICL, "supports", "explains"),
    }
    s1[4] = {**s1[4], "arxiv_version": 3}
    new = [
        paper(f"2601.{n:05d}", f"A new study number {n} of in-context learning", f"Finding {n}.")
        for n in range(1, 9)
    ]
    new[0]["abstract"] += " " + tag("factor:model-scale", ICL, "decreases")
    new[1]["abstract"] += " " + tag("factor:demonstration-order", ICL, "matters")
    cites = [
        {"citing": new[0]["arxiv_id"], "cited": base[0]["arxiv_id"]},
        {"citing": base[1]["arxiv_id"], "cited": base[0]["arxiv_id"]},
    ]
    return base, s1 + new, cites


@dataclass
class Reference:
    """What an uninterrupted refresh from a prepared state leaves."""

    outputs: dict[str, bytes]
    rows: dict[str, Any]
    events: list[str]


@dataclass
class Scenario:
    name: str
    pipeline: PipelineConfig
    base_home: Path
    base_out: Path
    reference: Reference


def _rows(home: Path) -> dict[str, Any]:
    """The store's content that must not depend on where a refresh was killed."""
    db = sqlite3.connect(home / "tiny.sqlite3")
    try:
        query = {
            "papers": "SELECT paper_id, title, abstract, arxiv_version, content_hash FROM papers",
            "aliases": "SELECT alias, paper_id FROM paper_aliases",
            "authors": "SELECT paper_id, position, author_id FROM paper_authors",
            "citations": "SELECT citing, cited FROM citations",
            "extractions": "SELECT paper_id, content_hash, extractor_version, concepts "
            "FROM extractions",
            "claims": "SELECT paper_id, position, subject, relation, object, polarity, sentence "
            "FROM claims",
            "watermarks": "SELECT source, key, value FROM watermarks",
            "changes": "SELECT from_graph, to_graph, summary FROM changes",
        }
        return {name: sorted(db.execute(sql).fetchall(), key=repr) for name, sql in query.items()}
    finally:
        db.close()


def _check_store(home: Path) -> None:
    db = sqlite3.connect(home / "tiny.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def _child(
    pipeline: Path, home: Path, out: Path, *args: str, wait: bool = True
) -> subprocess.Popen[bytes] | subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KG_HOME": str(home), "SOURCE_DATE_EPOCH": EPOCH}
    command = [sys.executable, "-m", "tests.crash_child", str(pipeline), str(out), *args]
    if not wait:
        return subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=120)


def _forked(pipeline: Path, home: Path, out: Path, kill: str) -> int:
    """Run `crash_child.run` in a forked copy of this process; its exit code (-9: killed)."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.environ["KG_HOME"] = str(home)
            crash_child.run(pipeline, out, kill)
            code = 0
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _refresh_here(config: PipelineConfig, home: Path, out: Path) -> Any:
    with Store(home / "tiny.sqlite3") as store:
        return refresh(
            config,
            offline=True,
            out_dir=out,
            store=store,
            extractor=TaggedExtractor,
            extract_batch=8,
        )


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    root = tmp_path_factory.mktemp("crash")
    s0, s1, cites = _snapshots()
    p0 = write_pipeline(root / "p0", s0, cites[1:])
    p1 = write_pipeline(root / "p1", s1, cites)
    empty_home, empty_out = root / "empty-home", root / "empty-out"
    empty_home.mkdir()
    empty_out.mkdir()
    inc_home, inc_out = root / "inc-home", root / "inc-out"
    inc_home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        _refresh_here(p0, inc_home, inc_out)
    found = {}
    for name, home, out in (("scratch", empty_home, empty_out), ("incremental", inc_home, inc_out)):
        run_home, run_out, trace = root / f"{name}-ref-home", root / f"{name}-ref-out", root / name
        copy_state(home, run_home)
        copy_state(out, run_out)
        done = _child(p1.path, run_home, run_out, "--trace", str(trace))
        assert done.returncode == 0, done.stderr.decode()
        events = [
            line.split()[0]
            for line in trace.read_text().splitlines()
            if line.startswith(("tx:", "replace:"))
        ]
        reference = Reference(_outputs(run_out), _rows(run_home), events)
        found[name] = Scenario(name, p1, home, out, reference)
    # The uninterrupted runs in a subprocess and in this process agree byte for byte.
    here_home, here_out = root / "here-home", root / "here-out"
    copy_state(inc_home, here_home)
    copy_state(inc_out, here_out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        _refresh_here(p1, here_home, here_out)
    assert _outputs(here_out) == found["incremental"].reference.outputs
    return found


def _kill_and_recover(scenario: Scenario, tmp: Path, kill: str | float) -> None:
    """Kill a refresh of `scenario` at event `kill` (or after `kill` seconds), check what it
    left, refresh again and check that the result is the uninterrupted one."""
    home, out, trace = tmp / "home", tmp / "out", tmp / "trace"
    copy_state(scenario.base_home, home)
    copy_state(scenario.base_out, out)
    trace.unlink(missing_ok=True)
    before = _outputs(out)
    expected = scenario.reference
    if isinstance(kill, str):
        assert _forked(scenario.pipeline.path, home, out, kill) == -signal.SIGKILL
    else:
        child = _child(scenario.pipeline.path, home, out, "--trace", str(trace), wait=False)
        assert isinstance(child, subprocess.Popen)
        deadline = time.monotonic() + 60
        while not (trace.exists() and "start" in trace.read_text()):
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.005)
        time.sleep(kill)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        assert child.stderr is not None
        child.stderr.close()
    # What the killed refresh left: a sound store; each output the old or the new file.
    _check_store(home)
    for name, data in _outputs(out).items():
        if name.startswith("."):
            assert name.endswith(".tmp"), name  # a temporary file, never an output
            continue
        assert data in (before.get(name), expected.outputs[name]), f"{name} is half-written"
    # The next refresh completes and ends exactly where an uninterrupted one does.
    result = _refresh_here(scenario.pipeline, home, out)
    assert result.status == "ok"
    assert _outputs(out) == expected.outputs
    _check_store(home)
    assert _rows(home) == expected.rows
    with Store(home / "tiny.sqlite3") as store:
        runs = store.runs(100)
        assert all(r.status in ("ok", "interrupted") for r in runs)
        assert runs[0].status == "ok"
        again = refresh(
            scenario.pipeline, offline=True, out_dir=out, store=store, extractor=TaggedExtractor
        )
    assert again.written == [] and again.headline == "no changes"
    assert again.counts["build"] == {"skipped": "nothing new to build"}


def _kill_points(scenario: Scenario) -> list[str]:
    """Every event of the incremental run. Of the first run, every point after a commit or a
    rename and before each rename: a kill before a COMMIT leaves the store as the previous
    commit did (SQLite rolls the transaction back), which the incremental run tests already."""
    events = scenario.reference.events
    if scenario.name == "incremental":
        return events
    return [e for e in events if e.endswith(":after") or e.startswith("replace:")]


@pytest.mark.parametrize("name", ["scratch", "incremental"])
def test_kill_at_every_commit_and_rename(
    name: str, scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    scenario = scenarios[name]
    points = _kill_points(scenario)
    assert len(points) >= 20, points
    failed = []
    for point in points:
        try:
            _kill_and_recover(scenario, tmp_path / point.replace(":", "-"), point)
        except AssertionError as exc:
            failed.append(f"{point}: {str(exc).splitlines()[0]}")
    assert not failed, f"{len(failed)} of {len(points)} kill points failed: {failed}"


def test_kill_at_random_delays(scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    seed = int(os.environ.get("KG_TEST_SEED", "0")) or random.randrange(1, 10**6)
    rng = random.Random(seed)
    failed = []
    for n in range(6):
        scenario = scenarios["incremental" if n % 2 else "scratch"]
        delay = rng.uniform(0.0, 0.6)
        try:
            _kill_and_recover(scenario, tmp_path / f"kill-{n}", delay)
        except AssertionError as exc:
            failed.append(f"{scenario.name} after {delay:.3f} s: {str(exc).splitlines()[0]}")
    assert not failed, f"seed {seed}: {failed}"


def test_kill_points_cover_each_stage(scenarios: dict[str, Scenario]) -> None:
    points = scenarios["incremental"].reference.events
    assert sum(p.startswith("replace:") for p in points) == 2 * 6  # six outputs renamed
    assert sum(p.startswith("tx:") for p in points) >= 2 * 8  # ledger, ingest, batches, state
