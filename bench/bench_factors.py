"""factors() on a 10,000-paper graph (a synthetic scale-up of the real one): target < 50 ms.

Builds the store (bench/synthetic.py: the real papers, citations and gold claims replicated),
builds and saves the graph, loads it with KnowledgeGraph (indexes are built at load time), then
times each question. Prints the measured numbers and their ratio to the target; exits 1 when
factors() misses it.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import fill_scaled_store

from kg.graph import build_graph, graph_to_json, summarize
from kg.query import KnowledgeGraph
from kg.store import Store
from kg.vocabulary import load_vocabulary

N_PAPERS = 10_000
TARGET_MS = 50.0
REPEAT = 30


def timed(label: str, fn: Callable[[], object]) -> object:
    start = time.perf_counter()
    value = fn()
    print(f"{label:<38} {time.perf_counter() - start:8.2f} s")
    return value


def per_call(fn: Callable[[], object]) -> tuple[float, float]:
    """(median, max) milliseconds over REPEAT calls."""
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Store(folder / "store.sqlite3") as store:
            timed(f"store {N_PAPERS} papers", lambda: fill_scaled_store(store, N_PAPERS))
            graph = timed("build_graph", lambda: build_graph(store, load_vocabulary()))
        raw = timed("graph_to_json", lambda: graph_to_json(graph))  # type: ignore[arg-type]
        (folder / "graph.json").write_bytes(raw)  # type: ignore[arg-type]
        counts = summarize(graph)  # type: ignore[arg-type]
        print(f"graph: {counts['nodes']} nodes, {counts['edges']} edges, {len(raw) >> 20} MiB")  # type: ignore[arg-type]
        kg = timed("KnowledgeGraph.load (parse + index)", lambda: KnowledgeGraph.load(folder))
    assert isinstance(kg, KnowledgeGraph)
    rows = kg.factors("ICL")
    print(f"factors('ICL'): {len(rows)} rows, top {rows[0].concept} ({rows[0].n_papers} papers)")
    questions: dict[str, Callable[[], object]] = {
        "factors('ICL')": lambda: kg.factors("ICL"),
        "factors('ICL', since=2024, min_papers=2)": lambda: kg.factors(
            "ICL", since=2024, min_papers=2
        ),
        "mechanisms('in-context learning')": lambda: kg.mechanisms("in-context learning"),
        "evidence('label correctness', 'ICL')": lambda: kg.evidence("label correctness", "ICL"),
        "contested()": kg.contested,
        "papers('CoT')": lambda: kg.papers("CoT"),
        "timeline('ICL')": lambda: kg.timeline("ICL"),
        "influential(10)": lambda: kg.influential(10),
        "new_since('2024-06-01')": lambda: kg.new_since("2024-06-01"),
    }
    results = {}
    for label, fn in questions.items():
        median, worst = per_call(fn)
        results[label] = median
        print(f"{label:<42} median {median:8.2f} ms   max {worst:8.2f} ms")
    measured = results["factors('ICL')"]
    ratio = measured / TARGET_MS
    verdict = "OK" if measured < TARGET_MS else "MISSED"
    print(
        f"TARGET factors() on {N_PAPERS} papers < {TARGET_MS:.0f} ms: median {measured:.2f} ms "
        f"= {ratio:.3f} x target ({1 / ratio:.0f}x under) {verdict}"
    )
    recomputed = results["factors('ICL', since=2024, min_papers=2)"]
    print(
        f"TARGET factors(since=...) recomputed from the claims: median {recomputed:.2f} ms "
        f"= {recomputed / TARGET_MS:.3f} x target"
    )
    return 0 if max(measured, recomputed) < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
