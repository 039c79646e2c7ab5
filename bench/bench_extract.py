"""Extraction throughput vs plain `nlp.pipe` of the same model, same texts, same run.

5,000 abstracts are drawn (fixed seed, with replacement) from the dev papers. Printed: words/s
(best of --repeat runs, order rotated) of plain `nlp.pipe` with the full pipeline, of `nlp.pipe`
with only the components extraction uses (NER disabled), and of `Extractor.extract_many`
(parsing, matching and claim finding), and the ratios. The target is extraction >= 0.8 x plain
full-pipeline throughput; the stricter ratio against the same components shows what the claim
finder costs on top of parsing.

    python bench/bench_extract.py [--n 5000] [--batch-size 64] [--seed 13] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.extract import Extractor  # noqa: E402

DEV = ROOT / "tests" / "data" / "dev_papers.jsonl"


def _papers(n: int, seed: int) -> list[tuple[str, str, str | None]]:
    dev = [json.loads(line) for line in DEV.open(encoding="utf-8") if line.strip()]
    rng = random.Random(seed)
    return [
        (f"{p['paper_id']}#{i}", p["title"], p.get("abstract"))
        for i, p in enumerate(rng.choice(dev) for _ in range(n))
    ]


def _timed(run: Callable[[], Iterable[object]]) -> float:
    started = time.perf_counter()
    for _ in run():
        pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; best is kept")
    args = parser.parse_args(argv)

    papers = _papers(args.n, args.seed)
    texts = [f"{title}\n{abstract or ''}" for _, title, abstract in papers]
    extractor = Extractor()
    nlp = extractor.nlp
    words = sum(len(t.split()) for t in texts)
    list(nlp.pipe(texts[:50]))  # warm up

    runs: dict[str, Callable[[], Iterable[object]]] = {
        "plain full": lambda: nlp.pipe(texts, batch_size=args.batch_size),
        "plain same": lambda: nlp.pipe(
            texts, batch_size=args.batch_size, disable=extractor.disabled
        ),
        "extract": lambda: extractor.extract_many(papers, batch_size=args.batch_size),
    }
    best: dict[str, float] = {}
    for r in range(args.repeat):
        names = list(runs)[r % 3 :] + list(runs)[: r % 3]  # rotate the order between repeats
        for name in names:
            best[name] = min(best.get(name, float("inf")), _timed(runs[name]))
    plain_full, plain_same, extract = best["plain full"], best["plain same"], best["extract"]
    rate = {name: words / s for name, s in best.items()}
    print(f"{args.n} abstracts, {words:,} words, model {extractor.version}")
    for name, wps in rate.items():
        print(f"  {name:<11} {wps:>10,.0f} words/s")
    print(f"ratio extract / plain nlp.pipe, full pipeline:   {plain_full / extract:.2f}")
    print(f"ratio extract / plain nlp.pipe, same components: {plain_same / extract:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
