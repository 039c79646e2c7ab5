"""Scoring: sets per paper, micro-averaged, polarity on matched claims, unknown ids ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import InputError
from kg.evaluate import GOLD_VOCABULARY_IDS, evaluate, load_jsonl

ICL, COT, SCALE, ORDER = (
    "ability:in-context-learning",
    "ability:chain-of-thought",
    "factor:model-scale",
    "factor:demonstration-order",
)


def _claim(subject: str, obj: str, polarity: str, relation: str = "affects") -> dict[str, str]:
    return {"subject": subject, "relation": relation, "object": obj, "polarity": polarity}


GOLD = [
    {"paper_id": "p1", "concepts": [ICL, SCALE, ORDER],
     "claims": [_claim(SCALE, ICL, "increases"), _claim(ORDER, ICL, "matters")]},
    {"paper_id": "p2", "concepts": [COT, SCALE], "claims": [_claim(SCALE, COT, "increases")]},
]  # fmt: skip
PRED = [
    {"paper_id": "p1", "concepts": [ICL, SCALE, COT, "factor:not-in-gold-vocabulary"],
     "claims": [_claim(SCALE, ICL, "decreases"), _claim(COT, ICL, "increases"),
                _claim("factor:not-in-gold-vocabulary", ICL, "increases")]},
    {"paper_id": "p2", "concepts": [COT, SCALE], "claims": [_claim(SCALE, COT, "increases")]},
    {"paper_id": "extra", "concepts": [ICL], "claims": []},
]  # fmt: skip


def test_micro_averaged_scores_on_a_known_example() -> None:
    report = evaluate(GOLD, PRED)
    assert report.papers == 2
    # concepts: p1 tp=2 (ICL, SCALE) fp=1 (COT; the unknown id is not scored) fn=1 (ORDER);
    # p2 tp=2.
    assert (report.concepts.tp, report.concepts.fp, report.concepts.fn) == (4, 1, 1)
    assert report.concepts.precision == pytest.approx(0.8)
    assert report.concepts.recall == pytest.approx(0.8)
    assert report.concepts.f1 == pytest.approx(0.8)
    # claims: p1 tp=1 (SCALE->ICL) fp=1 (COT->ICL) fn=1 (ORDER->ICL); p2 tp=1.
    assert (report.claims.tp, report.claims.fp, report.claims.fn) == (2, 1, 1)
    assert report.claims.f1 == pytest.approx(2 / 3)
    # polarity: SCALE->ICL wrong, SCALE->COT right.
    assert (report.polarity_correct, report.polarity_total) == (1, 2)
    assert report.polarity_accuracy == pytest.approx(0.5)
    assert report.per_concept[ORDER].recall == 0.0
    assert report.worst_concepts(1)[0][0] in {ORDER, COT}


def test_missing_prediction_counts_as_empty_and_render_reads() -> None:
    report = evaluate(GOLD, PRED[:1])
    assert report.missing_predictions == ("p2",)
    assert report.concepts.fn == 3
    text = report.render()
    assert "concepts" in text and "claims" in text and "polarity accuracy" in text
    assert "worst concepts" in text
    assert report.to_dict()["claims"]["tp"] == 1


def test_empty_inputs_score_zero_without_dividing_by_zero() -> None:
    report = evaluate([], [])
    assert report.concepts.f1 == 0.0 and report.polarity_accuracy == 0.0


def test_the_gold_vocabulary_has_the_55_shipped_ids() -> None:
    assert len(GOLD_VOCABULARY_IDS) == 55


def test_load_jsonl_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"paper_id": "a"}\n\n{"paper_id": \n', encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{path}:3: not valid JSON"):
        load_jsonl(path)
    with pytest.raises(InputError, match="file not found"):
        load_jsonl(tmp_path / "missing.jsonl")
    path.write_text('{"paper_id": "a"}\n', encoding="utf-8")
    assert load_jsonl(path) == [{"paper_id": "a"}]


def test_a_claim_without_subject_is_an_input_error() -> None:
    with pytest.raises(InputError, match="p1"):
        evaluate([{"paper_id": "p1", "claims": [{"relation": "affects"}]}], [])
