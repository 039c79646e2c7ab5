"""`kg extract` output validates against the contract (DESIGN.md, "Claims"), on the dev papers
and on hostile input: empty or missing abstracts, non-English text, LaTeX, HTML entities and a
1 MB abstract."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kg.extract import Extractor
from kg.extract.jsonl import extract_jsonl
from kg.records import POLARITIES

DATA = Path(__file__).parent / "data"

LINE_KEYS = {"paper_id", "concepts", "claims"}
CLAIM_KEYS = {
    "subject", "relation", "object", "polarity", "sentence", "char_start", "char_end", "hedged",
    "confidence",
}  # fmt: skip
ID = re.compile(r"^(ability|factor|mechanism|risk):[a-z0-9]+(?:-[a-z0-9]+)*$")
SUBJECT_KINDS = {"affects": {"factor", "ability"}, "explains": {"mechanism"}}
OBJECT_KINDS = {"affects": {"ability", "risk"}, "explains": {"ability"}}


def contract_errors(line: dict[str, Any], text: str, vocabulary_ids: set[str]) -> list[str]:
    """Everything wrong with one output line for a paper whose text is `text`."""
    errors: list[str] = []
    if set(line) != LINE_KEYS:
        errors.append(f"keys {sorted(line)} != {sorted(LINE_KEYS)}")
    concepts = line.get("concepts", [])
    if len(set(concepts)) != len(concepts):
        errors.append("duplicate concepts")
    for cid in concepts:
        if not ID.match(cid) or cid not in vocabulary_ids:
            errors.append(f"concept {cid!r} is not a kind:slug id of the vocabulary")
    for claim in line.get("claims", []):
        if set(claim) != CLAIM_KEYS:
            errors.append(f"claim keys {sorted(claim)}")
            continue
        rel, pol = claim["relation"], claim["polarity"]
        if pol not in POLARITIES.get(rel, ()):
            errors.append(f"relation/polarity {rel}/{pol}")
        for end, kinds in (("subject", SUBJECT_KINDS), ("object", OBJECT_KINDS)):
            cid = claim[end]
            if cid not in vocabulary_ids or cid not in concepts:
                errors.append(f"{end} {cid!r} not a listed vocabulary concept")
            elif cid.split(":")[0] not in kinds.get(rel, set()):
                errors.append(f"{end} {cid!r} has the wrong kind for {rel}")
        if claim["subject"] == claim["object"]:
            errors.append("a claim about a concept affecting itself")
        start, end_ = claim["char_start"], claim["char_end"]
        if not (
            isinstance(start, int) and isinstance(end_, int) and 0 <= start < end_ <= len(text)
        ):
            errors.append(f"offsets {start}:{end_} outside the text")
        elif text[start:end_] != claim["sentence"] or not claim["sentence"].strip():
            errors.append(f"text[{start}:{end_}] != sentence {claim['sentence'][:40]!r}")
        if not isinstance(claim["hedged"], bool):
            errors.append("hedged is not a bool")
        if not (isinstance(claim["confidence"], float) and 0.0 <= claim["confidence"] <= 1.0):
            errors.append(f"confidence {claim['confidence']!r} not in [0, 1]")
    return errors


def _text(paper: dict[str, Any]) -> str:
    return f"{paper.get('title') or ''}\n{paper.get('abstract') or ''}"


def _run(extractor: Extractor, papers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = [json.dumps(p) for p in papers]
    return [json.loads(out) for out in extract_jsonl(lines, "papers.jsonl", extractor)]


def test_dev_papers_output_follows_the_contract(extractor: Extractor) -> None:
    papers = [json.loads(line) for line in (DATA / "dev_papers.jsonl").open(encoding="utf-8")]
    out = _run(extractor, papers)
    ids = {c.id for c in extractor.vocabulary}
    assert [o["paper_id"] for o in out] == [p["paper_id"] for p in papers]
    problems = {
        o["paper_id"]: errs
        for p, o in zip(papers, out, strict=True)
        if (errs := contract_errors(o, _text(p), ids))
    }
    assert problems == {}
    assert sum(len(o["claims"]) for o in out) > 100


def test_contract_checker_catches_a_bad_line(extractor: Extractor) -> None:
    ids = {c.id for c in extractor.vocabulary}
    text = "Title\nScaling improves in-context learning."
    good = {
        "subject": "factor:model-scale", "relation": "affects",
        "object": "ability:in-context-learning", "polarity": "increases",
        "sentence": "Scaling improves in-context learning.", "char_start": 6, "char_end": 43,
        "hedged": False, "confidence": 0.8,
    }  # fmt: skip
    line = {"paper_id": "x", "concepts": [good["subject"], good["object"]], "claims": [good]}
    assert contract_errors(line, text, ids) == []
    bad = dict(good, char_start=5, polarity="supports", subject="factor:nope")
    errors = contract_errors({**line, "claims": [bad]}, text, ids)
    assert len(errors) == 3


HOSTILE = {
    "empty-abstract": {"paper_id": "e1", "title": "In-context learning", "abstract": ""},
    "no-abstract": {"paper_id": "e2", "title": "Chain-of-thought prompting", "abstract": None},
    "missing-abstract": {"paper_id": "e3", "title": "Emergent abilities of LLMs"},
    "non-english": {
        "paper_id": "e4",
        "title": "大型语言模型中的上下文学习",
        "abstract": "我们发现，思维链提示显著提高了大型语言模型的推理能力。" * 5,
    },
    "latex": {
        "paper_id": "e5",
        "title": "Scaling $\\alpha$-models \\cite{kaplan2020}",
        "abstract": "We show that \\emph{chain-of-thought} prompting improves reasoning "
        "\\citep{wei2022} by $\\approx 20\\%$ for models with $N > 10^{10}$ parameters. "
        "Scaling up the model size improves in-context learning \\textbf{substantially}.",
    },
    "html": {
        "paper_id": "e6",
        "title": "Labels &amp; demonstrations: in-context learning &lt;revisited&gt;",
        "abstract": "We find that random labels barely hurt in-context learning &amp; that the "
        "<i>format</i> of demonstrations matters &#8212; larger models are more sensitive.",
    },
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_does_not_crash_and_offsets_slice_the_text(
    extractor: Extractor, case: str
) -> None:
    paper = HOSTILE[case]
    [out] = _run(extractor, [paper])
    ids = {c.id for c in extractor.vocabulary}
    assert out["paper_id"] == paper["paper_id"]
    assert contract_errors(out, _text(paper), ids) == []


def test_markup_does_not_hide_concepts(extractor: Extractor) -> None:
    [latex] = _run(extractor, [HOSTILE["latex"]])
    [html] = _run(extractor, [HOSTILE["html"]])
    assert "ability:chain-of-thought" in latex["concepts"]
    assert "factor:model-scale" in latex["concepts"]
    assert "ability:in-context-learning" in html["concepts"]


def test_missing_abstract_and_non_english_text_are_warned_about(
    extractor: Extractor, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kg.extract"):
        _run(extractor, [HOSTILE["no-abstract"], HOSTILE["non-english"]])
    messages = [r.getMessage() for r in caplog.records if r.name == "kg.extract"]
    assert any("e2" in m and "no abstract" in m for m in messages)
    assert any("e4" in m and "English" in m for m in messages)


@pytest.mark.slow
def test_a_one_megabyte_abstract_is_capped_in_bounded_time(
    extractor: Extractor, caplog: pytest.LogCaptureFixture
) -> None:
    sentence = "We find that chain-of-thought prompting improves reasoning in large models. "
    paper = {"paper_id": "huge", "title": "A huge abstract", "abstract": sentence * 14_000}
    assert len(paper["abstract"]) > 1_000_000
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="kg.extract"):
        [out] = _run(extractor, [paper])
    assert time.perf_counter() - started < 30
    ids = {c.id for c in extractor.vocabulary}
    assert contract_errors(out, _text(paper), ids) == []
    assert out["claims"] and all(c["char_end"] < 30_000 for c in out["claims"])
    assert any(
        "huge" in r.getMessage() and "only the first" in r.getMessage() for r in caplog.records
    )
