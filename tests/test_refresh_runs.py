"""Scheduled refresh: no-op runs, incremental stages, the lock, partial runs, the run ledger,
the changelog and `kg changes` / `kg status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import kg.pipeline
from kg.cli import cli, main
from kg.config import PipelineConfig
from kg.errors import EXIT_LOCKED, EXIT_PARTIAL, LockedError
from kg.lock import PipelineLock, lock_path
from kg.pipeline import OUTPUTS, refresh
from kg.store import Store
from tests.conftest import REPO
from tests.fakes import TaggedExtractor, paper, tag, write_pipeline, write_snapshot_files

ICL = "ability:in-context-learning"
SCALE = "factor:model-scale"


def _papers(n: int = 4) -> list[dict[str, Any]]:
    found = [paper(f"2501.{i:05d}", f"A study number {i} of in-context learning") for i in range(n)]
    found[0]["abstract"] += " " + tag(SCALE, ICL, "increases")
    found[1]["abstract"] += " " + tag(SCALE, ICL, "increases")
    return found


@pytest.fixture
def tiny(tmp_path: Path) -> PipelineConfig:
    return write_pipeline(
        tmp_path / "tiny", _papers(), [{"citing": "2501.00001", "cited": "2501.00000"}]
    )


def _run(config: PipelineConfig, **kw: Any) -> kg.pipeline.RefreshResult:
    kw.setdefault("extractor", TaggedExtractor)
    return refresh(config, offline=True, **kw)


def _files(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir())}


def _kg(*args: str, home: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    """The real `kg` command with the spaCy-free extractor (`tests.kg_fake`)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.kg_fake", *args],
        cwd=REPO,
        env={**os.environ, "KG_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


# -- nothing new: no changes, no file rewritten, no work --------------------------------------


def test_second_refresh_reports_no_changes_and_rewrites_nothing(tiny: PipelineConfig) -> None:
    first = _run(tiny)
    out = tiny.pipeline.output
    assert first.status == "ok" and first.changes is not None and first.changes.first_build
    assert sorted(first.written) == sorted([*OUTPUTS, "CHANGES.md"])
    before = _files(out)
    second = _run(tiny)
    assert second.status == "ok" and second.written == []
    assert second.headline == "no changes" and second.counts["changes"] == "no changes"
    assert second.counts["ingest"] == {"skipped": "snapshot unchanged"}
    assert second.counts["build"] == {"skipped": "nothing new to build"}
    assert second.graph == first.graph  # shown from the last build
    assert _files(out) == before  # same bytes, same mtimes: nothing rewritten
    with Store.for_pipeline("tiny") as store:
        assert [c.run_id for c in store.changes()] == [first.run_id]


def test_noop_refresh_loads_no_spacy_and_parses_no_snapshot(
    tiny: PipelineConfig, kg_home: Path
) -> None:
    """With the real extractor: the first run loads spaCy, a no-op run imports neither spaCy
    nor networkx (its cost does not grow with the store)."""
    code = (
        "import sys; from kg.config import load_pipeline; from kg.pipeline import refresh; "
        f"r = refresh(load_pipeline({str(tiny.path)!r}), offline=True); "
        "print(r.status, r.counts['extract'], 'spacy' in sys.modules, 'networkx' in sys.modules)"
    )
    env = {**os.environ, "KG_HOME": str(kg_home)}
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr + runs[1].stderr
    assert runs[0].stdout.split()[-2:] == ["True", "True"]
    assert runs[1].stdout.strip() == ("ok {'skipped': 'nothing new to extract'} False False"), runs[
        1
    ].stdout


def test_new_papers_are_extracted_alone_without_reloading_for_old_ones(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extractor fingerprint path (the default extractor): built only when there is work."""
    built: list[str] = []

    def factory(vocabulary: Any) -> TaggedExtractor:
        built.append("x")
        return TaggedExtractor(vocabulary)

    monkeypatch.setattr(kg.pipeline, "default_extractor", factory)
    assert refresh(tiny, offline=True).counts["extract"] == {"papers": 4, "claims": 2}
    assert built == ["x"]
    assert refresh(tiny, offline=True).counts["extract"] == {"skipped": "nothing new to extract"}
    assert built == ["x"]
    write_snapshot_files(
        tiny.pipeline.snapshot, [*_papers(), paper("2502.00001", "One more study")]
    )
    again = refresh(tiny, offline=True)
    assert again.counts["extract"] == {"papers": 1, "claims": 0} and built == ["x", "x"]
    assert again.headline == "1 new paper"
    # kg's code or packages changed: the extractor is built to learn its version (unchanged)
    monkeypatch.setattr(kg.pipeline, "code_digest", lambda: "another-kg")
    assert refresh(tiny, offline=True).counts["extract"] == {"papers": 0}
    assert len(built) == 3
    # a new extractor version re-extracts every paper
    monkeypatch.setattr(TaggedExtractor, "version", "tagged/2")
    monkeypatch.setattr(kg.pipeline, "code_digest", lambda: "yet-another-kg")
    assert refresh(tiny, offline=True).counts["extract"] == {"papers": 5, "claims": 2}


def test_a_deleted_output_is_rebuilt_without_a_changelog_entry(tiny: PipelineConfig) -> None:
    _run(tiny)
    out = tiny.pipeline.output
    changelog = (out / "CHANGES.md").read_bytes()
    (out / "index.html").unlink()
    (out / ".graph.json.abc123.tmp").write_bytes(b"left by a killed refresh")
    result = _run(tiny)
    assert result.written == ["index.html"] and result.headline == "no changes"
    assert (out / "CHANGES.md").read_bytes() == changelog
    assert not (out / ".graph.json.abc123.tmp").exists()


# -- the changelog across runs, kg changes, kg status ------------------------------------------


def test_changes_are_written_recorded_and_listed(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    first = _run(tiny)
    papers = _papers()
    papers[2]["arxiv_version"] = 2
    papers[2]["abstract"] += " " + tag(SCALE, ICL, "decreases")
    papers.append(paper("2502.00001", "A newer study of in-context learning"))
    write_snapshot_files(tiny.pipeline.snapshot, papers)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767830400")  # 2026-01-08
    second = _run(tiny)
    assert second.headline == ("1 new paper, 1 new claim, 1 consensus change, 1 paper updated"), (
        second.headline
    )
    text = (tiny.pipeline.output / "CHANGES.md").read_text()
    assert text.index("## 2026-01-08: 1 new paper") < text.index("## 2026-01-01: first build")
    assert (
        f"`{SCALE}` affects `{ICL}`: agreed → contested (increases 2, decreases 1; 3 papers)"
        in text
    )
    runner = CliRunner()
    latest = runner.invoke(cli, ["changes", "--pipeline", str(tiny.path)])
    assert latest.exit_code == 0, latest.output
    assert f"## run {second.run_id} " in latest.output and "agreed → contested" in latest.output
    assert "first build" not in latest.output
    since_run = runner.invoke(cli, ["changes", "--pipeline", str(tiny.path), "--since", "0"])
    assert "first build" in since_run.output and "agreed → contested" in since_run.output
    since_date = runner.invoke(
        cli, ["changes", "--pipeline", str(tiny.path), "--since", "2000-01-01", "--json"]
    )
    records = [json.loads(line) for line in since_date.output.splitlines()]
    assert [r["run_id"] for r in records] == [second.run_id, first.run_id]
    assert records[0]["summary"]["papers_added"][0]["id"] == "2502.00001"
    future = runner.invoke(cli, ["changes", "--pipeline", str(tiny.path), "--since", "2999-01-01"])
    assert future.output.strip() == "no changes recorded since 2999-01-01"
    bad = runner.invoke(cli, ["changes", "--pipeline", str(tiny.path), "--since", "last week"])
    assert bad.exit_code != 0
    status = runner.invoke(cli, ["status", "--pipeline", str(tiny.path), "--runs", "1"])
    assert status.exit_code == 0, status.output
    assert f"run {second.run_id}  ok  offline" in status.output
    assert f"run {first.run_id} " not in status.output
    assert "papers 5" in status.output and "snapshot:sha256 = " in status.output
    assert "changes: 1 new paper" in status.output and "no refresh running" in status.output


# -- the run ledger: interrupted runs ---------------------------------------------------------


def test_runs_left_running_are_marked_interrupted(tiny: PipelineConfig) -> None:
    _run(tiny)
    with Store.for_pipeline("tiny") as store:
        killed = store.start_run("tiny", "offline")  # as a refresh killed with -9 leaves it
    result = _run(tiny)
    assert result.counts["recovered"] == {"interrupted_runs": [killed]}
    with Store.for_pipeline("tiny") as store:
        runs = {r.run_id: r for r in store.runs()}
    assert runs[killed].status == "interrupted" and runs[killed].ended_at
    assert "killed or crashed" in (runs[killed].message or "")
    assert runs[result.run_id].status == "ok"
    assert runs[result.run_id].watermarks_before == runs[result.run_id].watermarks_after


# -- the lock ------------------------------------------------------------------------------


def test_a_second_refresh_exits_at_once_when_locked(tiny: PipelineConfig, kg_home: Path) -> None:
    with PipelineLock(lock_path(kg_home, "tiny")):
        with pytest.raises(LockedError) as caught:
            _run(tiny)
        assert caught.value.exit_code == EXIT_LOCKED == 3
        assert f"pid {os.getpid()}" in str(caught.value) and "--wait" in str(caught.value)
    assert not (kg_home / "tiny.sqlite3").exists()  # it did nothing, not even open the store
    assert _run(tiny).status == "ok"  # released


def test_two_concurrent_refreshes(tiny: PipelineConfig, kg_home: Path, tmp_path: Path) -> None:
    """A real refresh pauses holding the lock; a second `kg refresh` exits 3 at once; a third
    with --wait waits, then finds nothing left to do."""
    hold, trace = tmp_path / "go", tmp_path / "trace"
    env = {**os.environ, "KG_HOME": str(kg_home)}
    first = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_child", str(tiny.path), str(tiny.pipeline.output),
         "--hold", str(hold), "--trace", str(trace)],
        cwd=REPO, env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (trace.exists() and "locked" in trace.read_text()):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        second = _kg("refresh", "--offline", "--pipeline", str(tiny.path), home=kg_home)
        assert second.returncode == EXIT_LOCKED, second.stderr
        assert time.monotonic() - started < 30
        assert "another refresh of this pipeline is running (pid " in second.stderr
        assert "--wait" in second.stderr and "Traceback" not in second.stderr
        waiter = subprocess.Popen(
            [sys.executable, "-m", "tests.kg_fake", "refresh", "--offline", "--wait",
             "--pipeline", str(tiny.path)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.5)
        assert waiter.poll() is None  # still waiting for the lock
        hold.touch()
        assert first.wait(timeout=60) == 0
        stdout, stderr = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, stderr
        assert "waiting for the lock held by pid" in stderr
        assert "run 2 ok" in stdout and "none (no changes)" in stdout
    finally:
        hold.touch()
        first.kill()
        first.wait()
        assert first.stderr is not None
        first.stderr.close()
    with Store.for_pipeline("tiny") as store:
        assert [r.status for r in store.runs()] == ["ok", "ok"]
        assert store.counts()["papers"] == 4


def test_refresh_wait_flag_reaches_the_pipeline(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_refresh(config: PipelineConfig, **kw: Any) -> Any:
        seen.update(kw)
        return SimpleNamespace(
            run_id=1, status="ok", counts={}, graph={}, headline="no changes", written=[],
            out_dir=config.pipeline.output, failures=[],
        )  # fmt: skip

    monkeypatch.setattr(kg.pipeline, "refresh", fake_refresh)
    done = CliRunner().invoke(cli, ["refresh", "--offline", "--wait", "--pipeline", str(tiny.path)])
    assert done.exit_code == 0, done.output
    assert seen["wait"] is True and seen["offline"] is True


# -- partial runs: some sources failed ------------------------------------------------------


def _fake_harvest(failures: list[str]) -> Any:
    def harvest(store: Store, config: PipelineConfig, run_id: int, progress: Any = None) -> Any:
        counts = kg.pipeline.ingest(
            store, [kg.pipeline.Paper("2503.00001", "Harvested from the source that worked")],
            [], run_id,
        )  # fmt: skip
        return SimpleNamespace(counts=counts, failures=failures)

    return harvest


def test_failed_sources_make_a_partial_run_that_keeps_the_data(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.harvest

    failure = "semantic_scholar: query 'in-context learning mechanism' failed after 5 retries"
    monkeypatch.setattr(kg.harvest, "harvest", _fake_harvest([failure]))
    result = refresh(tiny, offline=False, extractor=TaggedExtractor)
    assert result.status == "partial" and result.failures == [failure]
    assert result.headline == "first build: 1 papers, 0 claims"
    assert (tiny.pipeline.output / "graph.json").exists()  # built and published anyway
    with Store.for_pipeline("tiny") as store:
        run = store.runs(1)[0]
        assert store.get_paper("2503.00001") is not None
    assert run.status == "partial" and run.mode == "online"
    assert run.counts["failures"] == [failure] and failure in (run.message or "")


def test_partial_exit_code_and_message(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kg.harvest

    monkeypatch.setattr(kg.harvest, "harvest", _fake_harvest(["arxiv: HTTP 503 after 4 retries"]))
    monkeypatch.setattr(kg.pipeline, "default_extractor", TaggedExtractor)
    monkeypatch.setattr(sys, "argv", ["kg", "refresh", "--pipeline", str(tiny.path)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == EXIT_PARTIAL == 4
    err = capsys.readouterr().err
    assert "partial refresh: 1 source(s) failed" in err and "arxiv: HTTP 503" in err


def test_a_harvest_without_failures_is_ok(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.harvest

    monkeypatch.setattr(kg.harvest, "harvest", _fake_harvest([]))
    assert refresh(tiny, offline=False, extractor=TaggedExtractor).status == "ok"


def test_skipped_snapshot_citations_are_not_partial(tmp_path: Path, kg_home: Path) -> None:
    """A citation of a paper outside the corpus is skipped on purpose: not a failed source."""
    config = write_pipeline(
        tmp_path / "p", _papers(2), [{"citing": "2501.00000", "cited": "2109.99999"}]
    )
    done = _kg("refresh", "--offline", "--pipeline", str(config.path), home=kg_home)
    assert done.returncode == 0, done.stderr
    assert "citations skipped 1" in done.stdout and "run 1 ok" in done.stdout


def test_sigterm_ends_the_run_as_failed_and_exits_143(
    tiny: PipelineConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """systemd stop or a cancelled CI job: the run is recorded, not left `running`."""
    import signal

    real_extract = kg.pipeline.extract_stage

    def terminated_midway(*args: Any, **kw: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here, mid-refresh
        return real_extract(*args, **kw)

    monkeypatch.setattr(kg.pipeline, "extract_stage", terminated_midway)
    monkeypatch.setattr(kg.pipeline, "default_extractor", TaggedExtractor)
    monkeypatch.setattr(sys, "argv", ["kg", "refresh", "--offline", "--pipeline", str(tiny.path)])
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exited.value.code == 143
    assert "terminated by SIGTERM" in capsys.readouterr().err
    with Store.for_pipeline("tiny") as store:
        run = store.runs(1)[0]
        assert run.status == "failed" and "SIGTERM" in (run.message or "")
        assert store.counts()["papers"] == 4  # the import committed before is kept
    monkeypatch.setattr(kg.pipeline, "extract_stage", real_extract)  # KG_HOME stays patched
    assert _run(tiny).status == "ok"
