"""Regression guard: extraction quality on the hand-labelled dev set must not fall.

The floors are the scores reached when this test was last updated, rounded down by about 0.01
(they are a guard, not the targets). Halves are the even and odd lines of the dev set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.evaluate import EvalReport, evaluate, load_jsonl
from kg.extract import Extractor

DATA = Path(__file__).parent / "data"
FLOORS = {
    "all": {"concept_f1": 0.855, "claim_f1": 0.705, "polarity": 0.81},
    "even": {"concept_f1": 0.86, "claim_f1": 0.715, "polarity": 0.81},
    "odd": {"concept_f1": 0.85, "claim_f1": 0.69, "polarity": 0.81},
}


@pytest.fixture(scope="module")
def reports(extractor: Extractor) -> dict[str, EvalReport]:
    papers = load_jsonl(DATA / "dev_papers.jsonl")
    gold = load_jsonl(DATA / "dev_gold.jsonl")
    triples = [(p["paper_id"], p["title"], p.get("abstract")) for p in papers]
    predicted = [json.loads(json.dumps(e.to_dict())) for e in extractor.extract_many(triples)]
    return {
        "all": evaluate(gold, predicted),
        "even": evaluate(gold[0::2], predicted),
        "odd": evaluate(gold[1::2], predicted),
    }


@pytest.mark.slow
@pytest.mark.parametrize("part", sorted(FLOORS))
def test_dev_scores_do_not_fall(reports: dict[str, EvalReport], part: str) -> None:
    report, floor = reports[part], FLOORS[part]
    assert report.missing_predictions == ()
    scores = {
        "concept_f1": report.concepts.f1,
        "claim_f1": report.claims.f1,
        "polarity": report.polarity_accuracy,
    }
    fallen = {k: round(v, 3) for k, v in scores.items() if v < floor[k]}
    assert fallen == {}, f"{part}: below the floor {floor}:\n{report.render()}"
