"""Extraction quality on the dev set: the full report, and its even and odd halves.

The halves are a check on over-fitting: rules and weights were developed looking at all 168
papers, so a large gap between the halves would show rules that fit one paper rather than the
language of the field.

    python bench/eval_dev.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.evaluate import evaluate, load_jsonl  # noqa: E402
from kg.extract import Extractor  # noqa: E402

DATA = ROOT / "tests" / "data"


def main() -> int:
    papers = load_jsonl(DATA / "dev_papers.jsonl")
    gold = load_jsonl(DATA / "dev_gold.jsonl")
    extractor = Extractor()
    triples = [(p["paper_id"], p["title"], p.get("abstract")) for p in papers]
    predicted = [e.to_dict() for e in extractor.extract_many(triples)]
    print(f"extractor {extractor.version}")
    print(evaluate(gold, predicted).render())
    for name, part in (("even lines", gold[0::2]), ("odd lines", gold[1::2])):
        r = evaluate(part, predicted)
        print(
            f"{name:<10} concepts P {r.concepts.precision:.3f} R {r.concepts.recall:.3f} "
            f"F1 {r.concepts.f1:.3f} | claims P {r.claims.precision:.3f} "
            f"R {r.claims.recall:.3f} F1 {r.claims.f1:.3f} | polarity {r.polarity_accuracy:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
