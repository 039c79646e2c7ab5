"""Runs a pipeline definition: import-or-harvest -> extract -> build -> render.

Each stage is incremental (works only on what is new or changed) and idempotent. Outputs are
written to a temporary file and renamed, and only when their bytes change, so a rerun with no
new input leaves every file as it was.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.config import PipelineConfig
from kg.errors import KGError, UsageError
from kg.graph import build_graph, graph_to_csv, graph_to_graphml, graph_to_json, summarize
from kg.html import render_html
from kg.records import Citation, Paper
from kg.sources.snapshot import read_snapshot
from kg.store import Store
from kg.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

GRAPH_JSON = "graph.json"
GRAPH_GRAPHML = "graph.graphml"
PAGE = "index.html"

Progress = Callable[[str], None]


@dataclass
class RefreshResult:
    """What a refresh did: its run id, status, counts per stage and the files it rewrote."""

    run_id: int
    status: str
    counts: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    written: list[str] = field(default_factory=list)
    graph: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # harvest parts that failed


def pipeline_vocabulary(config: PipelineConfig) -> Vocabulary:
    """`KG_VOCABULARY` if set, else the pipeline's `vocabulary`, else the default."""
    if os.environ.get("KG_VOCABULARY"):
        return load_vocabulary()
    return load_vocabulary(config.pipeline.vocabulary)


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


def import_snapshot(store: Store, config: PipelineConfig, run_id: int | None) -> dict[str, int]:
    """Import the pipeline's embedded snapshot (parsed whole first: bad input stores nothing)."""
    if config.pipeline.snapshot is None:
        raise UsageError(f"{config.path}: pipeline.snapshot is not set; --offline needs one")
    snapshot = read_snapshot(config.pipeline.snapshot)
    return ingest(store, snapshot.papers, snapshot.citations, run_id)


def extract_stage(
    store: Store, vocabulary: Vocabulary, run_id: int | None, batch: int = 64
) -> dict[str, int]:
    """Extract concepts and claims for papers that are new, changed, or seen by an old extractor."""
    from kg.extract import Extractor  # spaCy loads only when there is work to do

    extractor = Extractor(vocabulary)
    todo = store.papers_to_extract(extractor.version)
    counts: Counter[str] = Counter()
    if not todo:
        return {"papers": 0}
    triples = ((p.paper_id, p.title, p.abstract) for p in todo)
    hashes = {p.paper_id: p.content_hash for p in todo}
    for extraction in extractor.extract_many(triples, batch_size=batch):
        for warning in extraction.warnings:
            log.warning("%s: %s", extraction.paper_id, warning)
        store.save_extraction(extraction, hashes[extraction.paper_id], extractor.version, run_id)
        counts["papers"] += 1
        counts["claims"] += len(extraction.claims)
    return dict(counts)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def build_and_render(
    store: Store, config: PipelineConfig, vocabulary: Vocabulary, out_dir: Path
) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Build the graph from the store; write graph.json, graph.graphml, index.html and CSVs."""
    graph = build_graph(store, vocabulary)
    outputs = {
        GRAPH_JSON: graph_to_json(graph),
        GRAPH_GRAPHML: graph_to_graphml(graph),
        PAGE: render_html(graph, config.pipeline.topic).encode("utf-8"),
        **graph_to_csv(graph),  # nodes.csv, edges.csv
    }
    written = [name for name, data in outputs.items() if write_if_changed(out_dir / name, data)]
    return written, summarize(graph)


def refresh(
    config: PipelineConfig,
    *,
    offline: bool,
    out_dir: Path | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Run every stage of `config` once and record the run in the store's ledger."""
    say = progress or (lambda _msg: None)
    out = out_dir or config.pipeline.output
    owned = store is None
    store = store or Store.for_pipeline(config.name)
    try:
        vocabulary = pipeline_vocabulary(config)
        run_id = store.start_run(config.name, "offline" if offline else "online")
        result = RefreshResult(run_id, "running", out_dir=out)
        try:
            if offline:
                say("importing the embedded snapshot")
                result.counts["ingest"] = import_snapshot(store, config, run_id)
            else:
                from kg.harvest import harvest

                say("harvesting arXiv and Semantic Scholar")
                report = harvest(store, config, run_id, progress=say)
                result.counts["ingest"] = report.counts
                result.failures = list(report.failures)
            say("extracting concepts and claims")
            result.counts["extract"] = extract_stage(store, vocabulary, run_id)
            say("building and rendering the graph")
            result.written, result.graph = build_and_render(store, config, vocabulary, out)
            result.counts["outputs_written"] = len(result.written)
            result.status = "ok"
        except KGError as exc:
            store.finish_run(run_id, "failed", result.counts, str(exc))
            raise
        except BaseException as exc:
            store.finish_run(run_id, "failed", result.counts, f"{type(exc).__name__}: {exc}")
            raise
        store.finish_run(run_id, result.status, result.counts, "; ".join(result.failures) or None)
        return result
    finally:
        if owned:
            store.close()
