"""Scoring extraction against hand labels (`kg eval`).

Concepts and claims are compared as sets per paper and micro-averaged over papers; claims match
on (subject, relation, object) and polarity accuracy is counted over matched claims. Ids outside
the gold vocabulary (the 55 concepts the dev set was labelled with) are left out of the score,
so extending the vocabulary costs nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import InputError
from kg.jsonl import read_objects

# The concept ids of the vocabulary the gold standard was labelled with (../shared/vocabulary.toml).
GOLD_VOCABULARY_IDS: frozenset[str] = frozenset(
    {
        "ability:in-context-learning", "ability:chain-of-thought", "ability:reasoning",
        "ability:instruction-following", "ability:emergence",
        "factor:model-scale", "factor:pretraining-corpus", "factor:pretraining-distribution",
        "factor:pretraining-task-diversity", "factor:architecture", "factor:post-training",
        "factor:training-dynamics", "factor:code-data", "factor:pretraining-loss",
        "factor:label-correctness", "factor:label-semantics", "factor:label-space",
        "factor:input-distribution", "factor:demonstration-format", "factor:demonstration-order",
        "factor:number-of-demonstrations", "factor:demonstration-selection",
        "factor:demonstration-diversity", "factor:label-bias", "factor:prompt-wording",
        "factor:shortcuts", "factor:irrelevant-context", "factor:explanations",
        "factor:task-difficulty", "factor:reasoning-validity", "factor:reasoning-relevance",
        "factor:reasoning-patterns", "factor:reasoning-length", "factor:evaluation-metric",
        "mechanism:induction-heads", "mechanism:circuits", "mechanism:implicit-gradient-descent",
        "mechanism:bayesian-inference", "mechanism:function-learning",
        "mechanism:kernel-regression", "mechanism:task-vectors", "mechanism:function-vectors",
        "mechanism:label-anchors", "mechanism:task-recognition", "mechanism:associative-memory",
        "mechanism:information-theory", "mechanism:cot-expressivity",
        "mechanism:locality-of-experience", "mechanism:compositional-filtering",
        "mechanism:reasoning-circuits", "mechanism:phase-transitions",
        "risk:unfaithful-reasoning", "risk:truthfulness", "risk:bias", "risk:toxicity",
    }
)  # fmt: skip

ClaimKey = tuple[str, str, str]


@dataclass(frozen=True)
class PRF:
    """Counts of true positives, false positives and false negatives, with P/R/F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(frozen=True)
class EvalReport:
    """Scores of predicted extractions against gold labels."""

    papers: int
    concepts: PRF
    claims: PRF
    polarity_correct: int
    polarity_total: int
    per_concept: dict[str, PRF] = field(default_factory=dict)
    missing_predictions: tuple[str, ...] = ()

    @property
    def polarity_accuracy(self) -> float:
        return self.polarity_correct / self.polarity_total if self.polarity_total else 0.0

    def worst_concepts(self, n: int = 10) -> list[tuple[str, PRF]]:
        """Concepts by ascending F1 (ties: most gold + predicted first), at most `n`."""
        ranked = sorted(
            self.per_concept.items(),
            key=lambda kv: (kv[1].f1, -(kv[1].tp + kv[1].fn + kv[1].fp), kv[0]),
        )
        return ranked[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "papers": self.papers,
            "concepts": self.concepts.to_dict(),
            "claims": self.claims.to_dict(),
            "polarity_accuracy": round(self.polarity_accuracy, 4),
            "polarity_correct": self.polarity_correct,
            "polarity_total": self.polarity_total,
            "per_concept": {cid: prf.to_dict() for cid, prf in sorted(self.per_concept.items())},
            "worst_concepts": [cid for cid, _ in self.worst_concepts()],
            "missing_predictions": list(self.missing_predictions),
        }

    def render(self, worst: int = 10) -> str:
        """A readable text table of the scores."""
        lines = [
            f"papers: {self.papers}",
            f"{'':<22}{'P':>7}{'R':>7}{'F1':>7}{'tp':>6}{'fp':>6}{'fn':>6}",
        ]
        for name, prf in (("concepts", self.concepts), ("claims (s, r, o)", self.claims)):
            lines.append(
                f"{name:<22}{prf.precision:>7.3f}{prf.recall:>7.3f}{prf.f1:>7.3f}"
                f"{prf.tp:>6}{prf.fp:>6}{prf.fn:>6}"
            )
        lines.append(
            f"polarity accuracy on matched claims: {self.polarity_accuracy:.3f} "
            f"({self.polarity_correct}/{self.polarity_total})"
        )
        if self.missing_predictions:
            lines.append(
                f"papers without a prediction (scored as empty): {len(self.missing_predictions)}"
            )
        lines.append(f"worst concepts (of {len(self.per_concept)}):")
        lines.append(f"  {'concept':<40}{'P':>7}{'R':>7}{'F1':>7}{'gold':>6}{'pred':>6}")
        for cid, prf in self.worst_concepts(worst):
            lines.append(
                f"  {cid:<40}{prf.precision:>7.3f}{prf.recall:>7.3f}{prf.f1:>7.3f}"
                f"{prf.tp + prf.fn:>6}{prf.tp + prf.fp:>6}"
            )
        return "\n".join(lines)


def _paper_id(record: dict[str, Any]) -> str:
    pid = record.get("paper_id") or record.get("arxiv_id")
    if not isinstance(pid, str) or not pid:
        raise InputError(f"record without a paper_id: {str(record)[:80]}")
    return pid


def _concepts(record: dict[str, Any], scored: Collection[str]) -> set[str]:
    return {c for c in record.get("concepts") or () if c in scored}


def _claims(record: dict[str, Any], scored: Collection[str]) -> dict[ClaimKey, str]:
    out: dict[ClaimKey, str] = {}
    for claim in record.get("claims") or ():
        try:
            key = (claim["subject"], claim["relation"], claim["object"])
        except (KeyError, TypeError):
            raise InputError(
                f"paper {_paper_id(record)}: a claim needs subject, relation and object"
            ) from None
        if key[0] in scored and key[2] in scored:
            out.setdefault(key, claim.get("polarity", ""))
    return out


def evaluate(
    gold: list[dict[str, Any]],
    predicted: list[dict[str, Any]],
    scored_ids: Collection[str] = GOLD_VOCABULARY_IDS,
) -> EvalReport:
    """Score `predicted` against `gold` (both lists of `kg extract`-shaped dicts).

    Papers are the gold papers; a gold paper without a prediction counts as predicting nothing.
    Predictions for papers not in gold are ignored.
    """
    by_id = {_paper_id(p): p for p in predicted}
    concepts = claims = PRF()
    per_concept: dict[str, PRF] = {}
    pol_ok = pol_total = 0
    missing: list[str] = []
    for record in gold:
        pid = _paper_id(record)
        pred = by_id.get(pid)
        if pred is None:
            missing.append(pid)
            pred = {}
        g_con, p_con = _concepts(record, scored_ids), _concepts(pred, scored_ids)
        concepts += PRF(len(g_con & p_con), len(p_con - g_con), len(g_con - p_con))
        for cid in g_con | p_con:
            both = cid in g_con and cid in p_con
            hit = PRF(int(both), int(cid not in g_con), int(cid not in p_con))
            per_concept[cid] = per_concept.get(cid, PRF()) + hit
        g_cl, p_cl = _claims(record, scored_ids), _claims(pred, scored_ids)
        matched = g_cl.keys() & p_cl.keys()
        claims += PRF(len(matched), len(p_cl.keys() - matched), len(g_cl.keys() - matched))
        pol_total += len(matched)
        pol_ok += sum(g_cl[k] == p_cl[k] for k in matched)
    return EvalReport(
        papers=len(gold),
        concepts=concepts,
        claims=claims,
        polarity_correct=pol_ok,
        polarity_total=pol_total,
        per_concept=per_concept,
        missing_predictions=tuple(missing),
    )


def parse_jsonl(lines: Iterable[str], source_name: str) -> list[dict[str, Any]]:
    """JSON objects, one a line (blank lines skipped); InputError names `source_name:line`."""
    return [record for _, record in read_objects(lines, source_name)]


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file of objects; InputError names the file and line of a bad line."""
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as fh:
            return parse_jsonl(fh, str(file))
    except FileNotFoundError:
        raise InputError(f"{file}: file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}: not UTF-8 text ({exc.reason})") from None


def evaluate_files(
    gold_path: str | Path, papers_path: str | Path, extractor: Any | None = None
) -> EvalReport:
    """Extract from a papers JSONL file and score it against a gold JSONL file (`kg eval`)."""
    from kg.extract.jsonl import read_papers

    gold = load_jsonl(gold_path)
    papers_file = Path(papers_path)
    try:
        with papers_file.open(encoding="utf-8") as handle:
            papers = list(read_papers(handle, str(papers_file)))
    except FileNotFoundError:
        raise InputError(f"{papers_file}: file not found") from None
    if extractor is None:
        from kg.extract import Extractor  # spaCy loads only once the inputs are valid

        extractor = Extractor()
    predicted = [e.to_dict() for e in extractor.extract_many(papers)]
    return evaluate(gold, predicted)
