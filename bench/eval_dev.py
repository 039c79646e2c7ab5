"""Extraction quality on the dev set, and the held-out protocol that rule changes are judged by.

The extractor has no trained parameters, but its rules and weights were written looking at dev
papers, so a score on the papers a rule was written from says little about unseen ones. The
protocol:

- `look` / `sealed`: a fixed half of the papers (by a hash of the paper id, independent of file
  order) is the only half whose errors are read (`--errors`); the other half is scored, never
  read. A rule change is kept only if it helps (or is neutral on concepts and claims while
  helping polarity) on the sealed half too.
- k-fold: FOLDS folds x SEEDS seeds (fixed seeds); each fold is scored on its own, and the mean
  and the worst fold are reported. With `--compare`, the per-fold change against a saved run
  (`--save`) shows whether a gain is broad or rests on a few papers (worst-fold delta).
- the even and odd lines, as before.

    python bench/eval_dev.py                      # full report, halves, folds
    python bench/eval_dev.py --save /tmp/base.jsonl
    python bench/eval_dev.py --compare /tmp/base.jsonl
    python bench/eval_dev.py --errors             # the look half's errors, with evidence
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.evaluate import GOLD_VOCABULARY_IDS, EvalReport, evaluate, load_jsonl  # noqa: E402

DATA = ROOT / "tests" / "data"
FOLDS = 5
SEEDS = (0, 1, 2)
Record = dict[str, Any]
METRICS: dict[str, Callable[[EvalReport], float]] = {
    "concept P": lambda r: r.concepts.precision,
    "concept R": lambda r: r.concepts.recall,
    "concept F1": lambda r: r.concepts.f1,
    "claim P": lambda r: r.claims.precision,
    "claim R": lambda r: r.claims.recall,
    "claim F1": lambda r: r.claims.f1,
    "polarity": lambda r: r.polarity_accuracy,
}


def is_look(paper_id: str) -> bool:
    """The half of the dev set whose errors may be read while writing rules."""
    return int(hashlib.sha256(paper_id.encode()).hexdigest(), 16) % 2 == 0


def folds(gold: list[Record], k: int = FOLDS, seeds: tuple[int, ...] = SEEDS) -> list[list[Record]]:
    """k folds per seed: the papers shuffled with a fixed seed, then dealt round-robin."""
    out = []
    for seed in seeds:
        order = list(range(len(gold)))
        random.Random(seed).shuffle(order)
        out.extend([gold[i] for i in sorted(order[n::k])] for n in range(k))
    return out


def scores(report: EvalReport) -> dict[str, float]:
    return {name: f(report) for name, f in METRICS.items()}


def line(name: str, report: EvalReport) -> str:
    s = scores(report)
    return (
        f"{name:<12} concepts P {s['concept P']:.3f} R {s['concept R']:.3f} "
        f"F1 {s['concept F1']:.3f} | claims P {s['claim P']:.3f} R {s['claim R']:.3f} "
        f"F1 {s['claim F1']:.3f} | polarity {s['polarity']:.3f} "
        f"({report.polarity_correct}/{report.polarity_total})"
    )


def fold_table(gold: list[Record], predicted: list[Record], base: list[Record] | None) -> str:
    """Mean and worst fold of each metric (and, against `base`, the per-fold change)."""
    parts = folds(gold)
    now = [scores(evaluate(f, predicted)) for f in parts]
    lines = [f"{len(parts)} held-out folds ({FOLDS} folds x seeds {SEEDS}):"]
    header = f"  {'':<11}{'mean':>7}{'worst':>7}"
    if base is not None:
        header += f"{'Δmean':>8}{'Δworst':>8}{'folds-':>7}"
        before = [scores(evaluate(f, base)) for f in parts]
    lines.append(header)
    for name in METRICS:
        values = [s[name] for s in now]
        row = f"  {name:<11}{mean(values):>7.3f}{min(values):>7.3f}"
        if base is not None:
            deltas = [a[name] - b[name] for a, b in zip(now, before, strict=True)]
            worse = sum(d < -1e-9 for d in deltas)
            row += f"{mean(deltas):>+8.3f}{min(deltas):>+8.3f}{worse:>7}"
        lines.append(row)
    return "\n".join(lines)


def _claims(record: Record) -> dict[tuple[str, str, str], Record]:
    return {
        (c["subject"], c["relation"], c["object"]): c
        for c in record.get("claims") or ()
        if c["subject"] in GOLD_VOCABULARY_IDS and c["object"] in GOLD_VOCABULARY_IDS
    }


def errors(gold: list[Record], predicted: list[Record], papers: list[Record]) -> str:
    """Concept and claim errors of the look half, with the gold notes and evidence sentences."""
    by_id = {p["paper_id"]: p for p in predicted}
    text = {p["paper_id"]: p for p in papers}
    out: list[str] = []
    for g in gold:
        pid = g["paper_id"]
        if not is_look(pid):
            continue
        p = by_id.get(pid, {})
        gc = set(g["concepts"]) & GOLD_VOCABULARY_IDS
        pc = set(p.get("concepts") or ()) & GOLD_VOCABULARY_IDS
        gcl, pcl = _claims(g), _claims(p)
        rows = [f"  concept FN {c}" for c in sorted(gc - pc)]
        rows += [f"  concept FP {c}" for c in sorted(pc - gc)]
        for key in sorted(gcl.keys() - pcl.keys()):
            rows.append(f"  claim FN {' '.join(key)} [{gcl[key]['polarity']}]")
        for key in sorted(pcl.keys() - gcl.keys()):
            rows.append(f"  claim FP {' '.join(key)} [{pcl[key]['polarity']}]")
            rows.append(f"      << {pcl[key]['sentence']}")
        for key in sorted(gcl.keys() & pcl.keys()):
            if gcl[key]["polarity"] != pcl[key]["polarity"]:
                rows.append(
                    f"  POLARITY {' '.join(key)} gold {gcl[key]['polarity']} "
                    f"pred {pcl[key]['polarity']}"
                )
                rows.append(f"      << {pcl[key]['sentence']}")
        if rows:
            out.append(f"== {pid} {text[pid]['title']}")
            out.append(f"   notes: {g.get('notes', '')}")
            out.extend(rows)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", type=Path, help="write the predictions to this JSONL file")
    parser.add_argument("--compare", type=Path, help="per-fold change against saved predictions")
    parser.add_argument("--errors", action="store_true", help="print the look half's errors")
    args = parser.parse_args(argv)

    from kg.extract import Extractor

    papers = load_jsonl(DATA / "dev_papers.jsonl")
    gold = load_jsonl(DATA / "dev_gold.jsonl")
    extractor = Extractor()
    triples = [(p["paper_id"], p["title"], p.get("abstract")) for p in papers]
    predicted = [e.to_dict() for e in extractor.extract_many(triples)]
    if args.save:
        args.save.write_text("".join(json.dumps(p) + "\n" for p in predicted), encoding="utf-8")
    if args.errors:
        print(errors(gold, predicted, papers))
        return 0
    base = load_jsonl(args.compare) if args.compare else None
    print(f"extractor {extractor.version}")
    print(evaluate(gold, predicted).render())
    halves = (
        ("even lines", gold[0::2]),
        ("odd lines", gold[1::2]),
        ("look", [g for g in gold if is_look(g["paper_id"])]),
        ("sealed", [g for g in gold if not is_look(g["paper_id"])]),
    )
    for name, part in halves:
        print(line(name, evaluate(part, predicted)))
        if base is not None:
            print(line("  (before)", evaluate(part, base)))
    print(fold_table(gold, predicted, base))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
