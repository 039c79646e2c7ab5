"""A read-only or full KG_HOME (or output folder): one clear error naming the path, exit 1, the
store intact, and the next refresh on a healthy disk completes.

Tests run as root on CI, where permission bits stop nothing. So, where the kernel allows it
(`unshare -m`, as root), the refresh runs in its own mount namespace with KG_HOME or the output
folder bind-mounted read-only (a real EROFS) or with KG_HOME on a tmpfs a few KiB larger than
the store (a real ENOSPC). Elsewhere: `chmod` for read-only (not as root), and a file size limit
(`RLIMIT_FSIZE`: writes past it fail with EFBIG) for a full disk.
"""

from __future__ import annotations

import functools
import os
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kg.config import PipelineConfig
from kg.pipeline import refresh
from kg.store import Store
from tests.conftest import REPO
from tests.fakes import TaggedExtractor, paper, write_pipeline, write_snapshot_files

KG = [sys.executable, "-m", "tests.kg_fake"]


@functools.cache
def can_mount() -> bool:
    """Whether this process may mount file systems in a mount namespace of its own."""
    if not shutil.which("unshare") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"kg-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"],
            capture_output=True,
            timeout=30,
        )
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.rmdir()


def _in_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _store_state(home: Path, name: str = "tiny") -> tuple[list[Any], str]:
    """(papers, integrity) of a store, read without writing to it."""
    db = sqlite3.connect(f"file:{home / f'{name}.sqlite3'}?mode=ro", uri=True)
    try:
        papers = db.execute("SELECT paper_id, content_hash FROM papers ORDER BY 1").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        return papers, integrity
    finally:
        db.close()


@pytest.fixture
def built(tmp_path: Path) -> tuple[PipelineConfig, Path]:
    """A tiny pipeline refreshed once into its own KG_HOME (closed, WAL checkpointed)."""
    config = write_pipeline(
        tmp_path / "p", [paper(f"2501.{i:05d}", f"Study {i} of scale") for i in range(3)]
    )
    home = tmp_path / "home"
    with Store(home / "tiny.sqlite3") as store:
        refresh(config, offline=True, store=store, extractor=TaggedExtractor)
    return config, home


def _grow(config: PipelineConfig, n: int = 300) -> None:
    """More papers in the snapshot (a few hundred KiB), for the next refresh to store."""
    filler = "Scaling in-context learning with many demonstrations. " * 30
    write_snapshot_files(
        config.pipeline.snapshot,
        [paper(f"2501.{i:05d}", f"Study {i} of scale", filler + str(i)) for i in range(n)],
    )


# -- read-only ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ro-bind", "chmod"])
def test_read_only_kg_home(method: str, built: tuple[PipelineConfig, Path]) -> None:
    config, home = built
    _grow(config)
    before = _store_state(home)
    files = {p.name: p.read_bytes() for p in home.iterdir()}
    command = [*KG, "refresh", "--offline", "--pipeline", str(config.path)]
    if method == "ro-bind":
        if not can_mount():
            pytest.skip("no mount namespace here (needs root and unshare)")
        q = shlex.quote(str(home))
        done = _in_namespace(
            f"mount --bind -o ro {q} {q} && exec {shlex.join(command)}", {"KG_HOME": str(home)}
        )
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores permission bits")
        home.chmod(0o555)
        try:
            done = subprocess.run(command, cwd=REPO, env={**os.environ, "KG_HOME": str(home)},
                                  capture_output=True, text=True, timeout=180)  # fmt: skip
        finally:
            home.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert f"kg: error: cannot open the lock file {home / 'tiny.lock'}" in done.stderr
    assert f"make KG_HOME ({home}) a writable folder" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 2
    assert {p.name: p.read_bytes() for p in home.iterdir()} == files  # not a byte written
    assert _store_state(home) == before


def test_kg_home_that_is_a_file(tmp_path: Path, built: tuple[PipelineConfig, Path]) -> None:
    config, _ = built
    home = tmp_path / "not-a-folder"
    home.write_text("")
    done = subprocess.run(
        [*KG, "refresh", "--offline", "--pipeline", str(config.path)],
        cwd=REPO, env={**os.environ, "KG_HOME": str(home)}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot open the lock file {home / 'tiny.lock'}" in done.stderr


def test_read_only_output_folder(built: tuple[PipelineConfig, Path]) -> None:
    if not can_mount():
        pytest.skip("no mount namespace here (needs root and unshare)")
    config, home = built
    out = config.pipeline.output
    outputs = {p.name: p.read_bytes() for p in out.iterdir()}
    _grow(config, 10)
    q = shlex.quote(str(out))
    command = [*KG, "refresh", "--offline", "--pipeline", str(config.path)]
    done = _in_namespace(
        f"mount --bind -o ro {q} {q} && exec {shlex.join(command)}", {"KG_HOME": str(home)}
    )
    assert done.returncode == 1, done.stderr
    assert f"kg: error: cannot write {out / 'CHANGES.md'}: Read-only file system" in done.stderr
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == outputs
    assert _store_state(home)[1] == "ok"
    with Store(home / "tiny.sqlite3") as store:
        failed = store.runs(1)[0]
        assert failed.status == "failed" and "Read-only file system" in (failed.message or "")
        result = refresh(config, offline=True, store=store, extractor=TaggedExtractor)
        assert result.status == "ok" and result.headline == "7 new papers"
        assert len(store.changes(after_run=0)) == 2  # the failed run's record was replaced


# -- disk full ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["tmpfs", "fsize"])
def test_full_disk(method: str, built: tuple[PipelineConfig, Path], tmp_path: Path) -> None:
    config, home = built
    _grow(config)
    before = _store_state(home)
    size = sum(p.stat().st_size for p in home.iterdir())
    command = [*KG, "refresh", "--offline", "--pipeline", str(config.path)]
    after = tmp_path / "after"
    if method == "tmpfs":
        if not can_mount():
            pytest.skip("no mount namespace here (needs root and unshare)")
        mnt = tmp_path / "small"
        mnt.mkdir()
        q = {k: shlex.quote(str(v)) for k, v in {"mnt": mnt, "home": home, "after": after}.items()}
        limit = (size // 4096 + 8) * 4096  # room for the store as it is, not for 300 papers
        done = _in_namespace(
            f"mount -t tmpfs -o size={limit} tmpfs {q['mnt']} && cp -a {q['home']}/. {q['mnt']}/"
            f" && {{ {shlex.join(command)}; rc=$?; mkdir {q['after']};"
            f" cp -a {q['mnt']}/. {q['after']}/; exit $rc; }}",
            {"KG_HOME": str(mnt)},
        )
        where = mnt
    else:
        limit = size + 16 * 1024

        def cap() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails: EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            command, cwd=REPO, env={**os.environ, "KG_HOME": str(home)}, capture_output=True,
            text=True, preexec_fn=cap, timeout=180,
        )  # fmt: skip
        shutil.copytree(home, after)
        where = home
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"kg: error: cannot write the store {where / 'tiny.sqlite3'}" in done.stderr
    assert "what was committed before is intact" in done.stderr
    assert "Traceback" not in done.stderr
    if method == "tmpfs":
        assert "database or disk is full; the disk is full: free space" in done.stderr
    assert _store_state(after) == before  # the import was rolled back whole
    # On a disk with room, the next refresh completes and stores every paper once.
    with Store(after / "tiny.sqlite3") as store:
        result = refresh(config, offline=True, store=store, extractor=TaggedExtractor)
        assert result.status == "ok" and store.counts()["papers"] == 300
        assert {r.status for r in store.runs()[1:]} <= {"ok", "failed", "interrupted"}
    assert _store_state(after)[1] == "ok"
