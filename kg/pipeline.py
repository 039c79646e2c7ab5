"""Runs a pipeline definition: import-or-harvest -> extract -> build -> render.

A refresh is safe to run from cron, systemd or CI:

- **locked**: one refresh per pipeline at a time (`kg.lock`); runs the ledger still shows as
  `running` when the lock is taken were killed, and are marked `interrupted`;
- **transactional**: each stage commits in transactions (the snapshot import and its watermark
  in one; extraction in batches), so a kill at any point loses at most the batch in flight and
  the next refresh carries on from what was committed;
- **atomic outputs**: every file is written to a temporary file, fsynced and renamed, and only
  when its bytes change; `CHANGES.md` is written before `graph.json` (the graph the next diff
  starts from), so a change is never published without its changelog entry;
- **incremental**: each stage keeps a cache key in the store's `state` table and skips when
  nothing it reads has changed: the snapshot's content hash (checked by file stats first), the
  store's write `generation` (kept by triggers) and a fingerprint of the code, installed
  packages and vocabulary. A refresh with nothing new reads no snapshot, loads no spaCy model,
  builds no graph and rewrites no file: its cost does not grow with the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from kg.changes import CHANGES_FILE, ChangeSet, diff_graphs, graph_hash, update_changelog
from kg.config import PipelineConfig
from kg.errors import KGError, OutputError, StoreError, UsageError
from kg.lock import PipelineLock, lock_path
from kg.records import Citation, Extraction, Paper
from kg.store import Store, default_home
from kg.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

GRAPH_JSON = "graph.json"
GRAPH_GRAPHML = "graph.graphml"
PAGE = "index.html"
NODES_CSV = "nodes.csv"
EDGES_CSV = "edges.csv"
OUTPUTS = (GRAPH_JSON, GRAPH_GRAPHML, PAGE, NODES_CSV, EDGES_CSV)
SNAPSHOT_FILES = ("papers.jsonl", "citations.jsonl")

Progress = Callable[[str], None]


class ExtractorLike(Protocol):
    """What the extract stage needs: `kg.extract.Extractor`, or a stand-in in tests."""

    version: str

    def extract_many(
        self, papers: Iterable[tuple[str, str, str | None]], batch_size: int = ...
    ) -> Iterator[Extraction]: ...


ExtractorFactory = Callable[[Vocabulary], ExtractorLike]


@dataclass
class RefreshResult:
    """What a refresh did: its run id, status, counts per stage, the files it rewrote and the
    change set of the graph (None when the graph did not change)."""

    run_id: int
    status: str
    counts: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    written: list[str] = field(default_factory=list)
    graph: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: ChangeSet | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return self.changes.headline() if self.changes else "no changes"


def pipeline_vocabulary(config: PipelineConfig) -> Vocabulary:
    """`KG_VOCABULARY` if set, else the pipeline's `vocabulary`, else the default."""
    if os.environ.get("KG_VOCABULARY"):
        return load_vocabulary()
    return load_vocabulary(config.pipeline.vocabulary)


# -- fingerprints: cache keys that change whenever what a stage computes could change --------


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Hash of kg's own source files and of the installed distributions' names and versions."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for entry in sys.path:
        try:
            names = sorted(n for n in os.listdir(entry or ".") if n.endswith(".dist-info"))
        except OSError:
            continue
        digest.update("\n".join(names).encode())
    return digest.hexdigest()[:16]


def _file_digest(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def extractor_fingerprint(vocabulary: Vocabulary) -> str:
    """Changes whenever `Extractor(vocabulary).version` could: kg's code, the installed
    packages (the spaCy model is one), `KG_SPACY_MODEL` and the vocabulary file."""
    model = os.environ.get("KG_SPACY_MODEL", "")
    parts = [
        code_digest(),
        model,
        _file_digest(Path(model) / "meta.json") if model and Path(model).exists() else "-",
        str(vocabulary.path.resolve()),
        _file_digest(vocabulary.path),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def build_fingerprint(config: PipelineConfig, vocabulary: Vocabulary, out: Path) -> str:
    """Changes whenever the outputs built from an unchanged store could."""
    parts = [code_digest(), _file_digest(vocabulary.path), config.pipeline.topic, str(out)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _stats(paths: Sequence[Path]) -> list[list[int]]:
    """(size, mtime_ns, inode) per file; [-1, -1, -1] for a missing one."""
    found = []
    for path in paths:
        try:
            st = path.stat()
            found.append([st.st_size, st.st_mtime_ns, st.st_ino])
        except OSError:
            found.append([-1, -1, -1])
    return found


# -- ingest ---------------------------------------------------------------------------------


def ingest(
    store: Store, papers: Iterable[Paper], citations: Iterable[Citation], run_id: int | None
) -> dict[str, int]:
    """Store papers then citations in one transaction: the path every source's records take."""
    counts: Counter[str] = Counter()
    with store.transaction():
        for paper in papers:
            counts[f"papers_{store.upsert_paper(paper, run_id)}"] += 1
        for citation in citations:
            counts["citations" if store.upsert_citation(citation) else "citations_skipped"] += 1
    return dict(sorted(counts.items()))


def snapshot_digest(folder: Path) -> str:
    """Content hash of what `read_snapshot` reads (papers and citations)."""
    digest = hashlib.sha256()
    for name in SNAPSHOT_FILES:
        digest.update(name.encode() + b"\0")
        with contextlib.suppress(FileNotFoundError):
            digest.update((folder / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def import_snapshot(store: Store, config: PipelineConfig, run_id: int | None) -> dict[str, Any]:
    """Import the pipeline's embedded snapshot unless it is the one imported last.

    Parsed whole first (bad input stores nothing); the papers, the citations and the snapshot's
    hash (watermark `snapshot:sha256`) are committed in one transaction. An unchanged snapshot
    is recognised by its files' stats, else by its content hash, without parsing it.
    """
    from kg.sources.snapshot import read_snapshot

    folder = config.pipeline.snapshot
    if folder is None:
        raise UsageError(f"{config.path}: pipeline.snapshot is not set; --offline needs one")
    stats = _stats([folder / name for name in SNAPSHOT_FILES])
    imported = store.watermark("snapshot", "sha256")
    cached = store.get_state("snapshot") or {}
    if imported and cached.get("sha256") == imported and cached.get("stats") == stats:
        return {"skipped": "snapshot unchanged"}
    if not (folder / SNAPSHOT_FILES[0]).is_file():
        read_snapshot(folder)  # raises an InputError that names what is missing
    digest = snapshot_digest(folder)
    if digest == imported:
        with store.transaction():
            store.set_state("snapshot", {"sha256": digest, "stats": stats}, run_id)
        return {"skipped": "snapshot unchanged"}
    snapshot = read_snapshot(folder)
    with store.transaction():
        counts = ingest(store, snapshot.papers, snapshot.citations, run_id)
        store.set_watermark("snapshot", "sha256", digest, run_id)
        store.set_state("snapshot", {"sha256": digest, "stats": stats}, run_id)
    return counts


def harvest_outcome(report: Any) -> tuple[dict[str, Any], list[str]]:
    """(counts, failures) of what `kg.harvest.harvest` returned: a `HarvestReport` with
    `counts` and `failures` (sources or queries that failed after their retries)."""
    if isinstance(report, dict):
        return dict(report), []
    counts = dict(getattr(report, "counts", None) or {})
    failures = [str(f) for f in (getattr(report, "failures", None) or [])]
    return counts, failures


def harvest_stage(
    store: Store, config: PipelineConfig, run_id: int, say: Progress
) -> tuple[dict[str, Any], list[str]]:
    from kg.harvest import harvest

    report: Any = harvest(store, config, run_id, progress=say)
    return harvest_outcome(report)


# -- extract --------------------------------------------------------------------------------


def default_extractor(vocabulary: Vocabulary) -> ExtractorLike:
    from kg.extract import Extractor  # spaCy loads only when there is work to do

    return Extractor(vocabulary)


def extract_stage(
    store: Store,
    vocabulary: Vocabulary,
    run_id: int | None,
    batch: int = 64,
    extractor: ExtractorFactory | None = None,
) -> dict[str, Any]:
    """Extract concepts and claims for papers that are new, changed, or seen by an old extractor.

    Skips without loading spaCy when the store has not been written since the last extraction
    and the extractor's fingerprint is the same. Results are committed `batch` papers at a time.
    """
    fingerprint = extractor_fingerprint(vocabulary) if extractor is None else None
    cached = store.get_state("extract") or {}
    version: str | None = None
    if fingerprint and cached.get("fingerprint") == fingerprint:
        version = cached["version"]
        if cached.get("generation") == store.generation():
            return {"skipped": "nothing new to extract"}
    instance: ExtractorLike | None = None
    if version is None:
        instance = (extractor or default_extractor)(vocabulary)
        version = instance.version
    todo = store.papers_to_extract(version)
    counts: Counter[str] = Counter()
    if todo:
        instance = instance or (extractor or default_extractor)(vocabulary)
        if instance.version != version:  # a stale cache key: trust the extractor
            version = instance.version
            todo = store.papers_to_extract(version)
        triples = ((p.paper_id, p.title, p.abstract) for p in todo)
        hashes = {p.paper_id: p.content_hash for p in todo}
        pending: list[Extraction] = []

        def flush() -> None:
            if not pending:
                return
            with store.transaction():
                for extraction in pending:
                    store.save_extraction(extraction, hashes[extraction.paper_id], version, run_id)
            pending.clear()

        for extraction in instance.extract_many(triples, batch_size=batch):
            for warning in extraction.warnings:
                log.warning("%s: %s", extraction.paper_id, warning)
            pending.append(extraction)
            counts["papers"] += 1
            counts["claims"] += len(extraction.claims)
            if len(pending) >= batch:
                flush()
        flush()
    with store.transaction():
        state = {"fingerprint": fingerprint, "version": version, "generation": store.generation()}
        store.set_state("extract", state, run_id)
    return dict(counts) or {"papers": 0}


# -- build, render, changelog ---------------------------------------------------------------


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes.

    The bytes go to a temporary file in the same folder, are fsynced and renamed over `path`:
    a reader (or a refresh killed half-way) sees the old file or the new one, never a mix.
    """
    try:
        if path.exists() and path.read_bytes() == data:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror}; check that the output folder is writable "
            "and the disk has space (or pass --out DIR)"
        ) from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(
                f"cannot write {path}: {exc.strerror}; free disk space or make the output "
                f"folder writable; {path.name} is unchanged"
            ) from None
        raise
    _fsync_dir(path.parent)
    return True


def remove_stale_temp_files(out: Path) -> int:
    """Temporary files a killed refresh left in `out` (call only while holding the lock)."""
    removed = 0
    for name in (*OUTPUTS, CHANGES_FILE):
        for stale in out.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
    return removed


def changes_date() -> str:
    """The date a change entry carries: `SOURCE_DATE_EPOCH` if set (reproducible builds),
    else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
        except ValueError:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds; unset it"
            ) from None
    return datetime.now(UTC).date().isoformat()


@dataclass
class BuildOutcome:
    written: list[str]
    summary: dict[str, dict[str, int]]
    changes: ChangeSet | None
    skipped: str | None = None


def build_stage(
    store: Store,
    config: PipelineConfig,
    vocabulary: Vocabulary,
    out: Path,
    run_id: int,
) -> BuildOutcome:
    """Build the graph and write CHANGES.md, graph.graphml, index.html and graph.json.

    Skips when the store, the code and the vocabulary are those of the last build into `out`
    and the outputs are still the files it wrote (same size, mtime and inode).
    """
    out = out.resolve()
    if out.is_dir():
        remove_stale_temp_files(out)
    fingerprint = build_fingerprint(config, vocabulary, out)
    cached = store.get_state("build") or {}
    if (
        cached.get("fingerprint") == fingerprint
        and cached.get("generation") == store.generation()
        and cached.get("stats") == _stats([out / name for name in OUTPUTS])
    ):
        return BuildOutcome([], cached.get("summary", {}), None, "nothing new to build")
    from kg.graph import build_graph, graph_to_csv, graph_to_graphml, graph_to_json, summarize
    from kg.html import render_html

    generation = store.generation()
    graph = build_graph(store, vocabulary, config.name)
    new_json = graph_to_json(graph)
    try:
        old_json: bytes | None = (out / GRAPH_JSON).read_bytes()
    except FileNotFoundError:
        old_json = None
    except OSError as exc:
        raise OutputError(f"cannot read {out / GRAPH_JSON}: {exc.strerror}") from None
    written: list[str] = []
    changes: ChangeSet | None = None
    if old_json != new_json:
        changes = _diff(old_json, new_json)
        if changes.empty:  # the same graph, serialised differently: nothing to tell
            changes = None
        else:
            from_hash = graph_hash(old_json) if old_json is not None else None
            to_hash = graph_hash(new_json)
            store.record_changes(run_id, str(out), from_hash, to_hash, changes.to_dict())
            if _write_changelog(out, changes, from_hash, to_hash):
                written.append(CHANGES_FILE)
    outputs = {
        GRAPH_GRAPHML: graph_to_graphml(graph),
        PAGE: render_html(graph, config.pipeline.topic).encode("utf-8"),
        **graph_to_csv(graph),  # NODES_CSV, EDGES_CSV
        GRAPH_JSON: new_json,  # last: the graph the next diff starts from
    }
    written += [name for name, data in outputs.items() if write_if_changed(out / name, data)]
    summary = summarize(graph)
    state = {
        "fingerprint": fingerprint,
        "generation": generation,
        "stats": _stats([out / name for name in OUTPUTS]),
        "summary": summary,
    }
    with store.transaction():
        store.set_state("build", state, run_id)
    return BuildOutcome(written, summary, changes)


def _diff(old_json: bytes | None, new_json: bytes) -> ChangeSet:
    import orjson

    return diff_graphs(orjson.loads(old_json) if old_json else None, orjson.loads(new_json))


def _write_changelog(out: Path, changes: ChangeSet, from_hash: str | None, to_hash: str) -> bool:
    path = out / CHANGES_FILE
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}; fix or remove it") from None
    text = update_changelog(existing, changes, changes_date(), from_hash, to_hash)
    return text is not None and write_if_changed(path, text.encode("utf-8"))


# -- the refresh ----------------------------------------------------------------------------


def _store_error(store: Store, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "full" in text:
        advice = "the disk is full: free space and refresh again"
    elif "readonly" in text or "read-only" in text:
        advice = "the store is read-only: make KG_HOME writable"
    else:
        advice = "check that KG_HOME is writable and has space"
    return StoreError(
        f"cannot write the store {store.path}: {text}; {advice} "
        "(what was committed before is intact)"
    )


def refresh(
    config: PipelineConfig,
    *,
    offline: bool,
    out_dir: Path | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
    wait: bool = False,
    extractor: ExtractorFactory | None = None,
    extract_batch: int = 64,
) -> RefreshResult:
    """Run every stage of `config` once, holding the pipeline's lock, and record the run.

    Raises `LockedError` when another refresh holds the lock (unless `wait`). A run whose
    harvest reports failed sources ends `partial`: what the other sources gave is kept.
    """
    say = progress or (lambda _msg: None)
    out = out_dir or config.pipeline.output
    home = store.path.parent if store is not None else default_home()
    with PipelineLock(lock_path(home, config.name), wait=wait, on_wait=say):
        owned = store is None
        opened = store or Store.for_pipeline(config.name, home)
        try:
            return _refresh_locked(config, opened, offline, out, say, extractor, extract_batch)
        finally:
            if owned:
                opened.close()


def _refresh_locked(
    config: PipelineConfig,
    store: Store,
    offline: bool,
    out: Path,
    say: Progress,
    extractor: ExtractorFactory | None,
    extract_batch: int,
) -> RefreshResult:
    vocabulary = pipeline_vocabulary(config)
    try:
        interrupted = store.mark_interrupted()
        run_id = store.start_run(config.name, "offline" if offline else "online")
    except sqlite3.Error as exc:
        raise _store_error(store, exc) from None
    result = RefreshResult(run_id, "running", out_dir=out)
    if interrupted:
        result.counts["recovered"] = {"interrupted_runs": interrupted}
    try:
        try:
            if offline:
                say("importing the embedded snapshot")
                result.counts["ingest"] = import_snapshot(store, config, run_id)
            else:
                say("harvesting arXiv and Semantic Scholar")
                result.counts["ingest"], result.failures = harvest_stage(store, config, run_id, say)
                if result.failures:
                    result.counts["failures"] = result.failures
            say("extracting concepts and claims")
            result.counts["extract"] = extract_stage(
                store, vocabulary, run_id, extract_batch, extractor
            )
            say("building and rendering the graph")
            built = build_stage(store, config, vocabulary, out, run_id)
        except sqlite3.Error as exc:
            raise _store_error(store, exc) from None
        result.written, result.graph, result.changes = built.written, built.summary, built.changes
        result.counts["build"] = (
            {"skipped": built.skipped} if built.skipped else {"written": len(built.written)}
        )
        result.counts["changes"] = result.headline
        result.status = "partial" if result.failures else "ok"
    except BaseException as exc:
        why = str(exc) if isinstance(exc, KGError) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(sqlite3.Error):  # a full disk may refuse this too
            store.finish_run(run_id, "failed", result.counts, why)
        raise
    note = None
    if result.failures:
        note = f"some sources failed (data from the others is kept): {'; '.join(result.failures)}"
    try:
        store.finish_run(run_id, result.status, result.counts, note)
    except sqlite3.Error as exc:
        raise _store_error(store, exc) from None
    return result
