"""A refresh to kill: `python -m tests.crash_child PIPELINE OUT [--kill EVENT] [--trace FILE]`.

Runs `kg.pipeline.refresh` (offline, with the spaCy-free `TaggedExtractor`) and numbers the
events that change durable state: each top-level store transaction (`tx:N`) and each rename of
an output file into place (`replace:N`). With `--kill tx:5:before` the process sends itself
SIGKILL once transaction 5's writes are done but before its COMMIT; `tx:5:after` right after
the COMMIT; `replace:2:before` / `:after` around the second rename. `--trace` appends each event
to FILE as it happens (`start` first, `done` last), so a parent can list the kill points of an
uninterrupted run, or know when the refresh itself has started. `--hold FILE` pauses, holding
the pipeline lock, until FILE exists (for tests of concurrent refreshes).

`run()` does the same in a process forked from a test (cheap: kg, networkx and pyvis are
imported already); the kill is the same SIGKILL of a whole process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kg.config import load_pipeline
from kg.lock import PipelineLock
from kg.pipeline import refresh
from kg.store import Store
from tests.fakes import TaggedExtractor


def run(
    pipeline: Path,
    out: Path,
    kill: str | None = None,
    trace: Path | None = None,
    hold: Path | None = None,
    batch: int = 8,
) -> str:
    """Refresh with numbered events; SIGKILL this process at event `kill`. Returns the status."""
    seen: Counter[str] = Counter()

    def note(line: str) -> None:
        if trace:
            with trace.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def event(kind: str, when: str, what: str = "") -> None:
        if when == "before":
            seen[kind] += 1
        name = f"{kind}:{seen[kind]}:{when}"
        note(f"{name} {what}".rstrip())
        if name == kill:
            os.kill(os.getpid(), signal.SIGKILL)

    original_transaction = Store.transaction

    @contextlib.contextmanager
    def transaction(self: Store) -> Iterator[object]:
        if self.db.in_transaction:
            with original_transaction(self) as db:
                yield db
            return
        with original_transaction(self) as db:
            yield db
            event("tx", "before")
        event("tx", "after")

    original_replace = os.replace

    def replace(src: str, dst: str | Path) -> None:
        event("replace", "before", Path(dst).name)
        original_replace(src, dst)
        event("replace", "after", Path(dst).name)

    original_acquire = PipelineLock.acquire

    def acquire(self: PipelineLock) -> None:
        original_acquire(self)
        note("locked")
        while hold and not hold.exists():
            time.sleep(0.02)

    Store.transaction = transaction  # type: ignore[method-assign]
    os.replace = replace  # type: ignore[assignment]
    PipelineLock.acquire = acquire  # type: ignore[method-assign]
    try:
        note("start")
        result = refresh(
            load_pipeline(pipeline),
            offline=True,
            out_dir=out,
            extractor=TaggedExtractor,
            extract_batch=batch,
        )
        note(f"done {result.status}")
        return result.status
    finally:
        Store.transaction = original_transaction  # type: ignore[method-assign]
        os.replace = original_replace
        PipelineLock.acquire = original_acquire  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--kill", default=None)
    parser.add_argument("--trace", type=Path, default=None)
    parser.add_argument("--hold", type=Path, default=None)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    run(args.pipeline, args.out, args.kill, args.trace, args.hold, args.batch)


if __name__ == "__main__":
    main()
