"""A small corpus with known answers, written into a real `Store` by hand.

Seven papers, two runs. What the queries must answer (`ICL` = ability:in-context-learning):

- factors(ICL): model-scale agreed (increases: P2, P3); label-correctness contested
  (increases: P2; no-effect: P1, P5); demonstration-format single-source (increases: P1);
  demonstration-order single-source (matters: P4); prompt-wording single-source (matters: HOSTILE).
- mechanisms(ICL): implicit-gradient-descent contested (supports: P4, refutes: P3);
  induction-heads single-source (supports: P2).
- factors(chain-of-thought): model-scale single-source (increases: P5).
- citations: P2->P1, P3->P1, P3->P2, P4->P1, P5->P1, P5->P3 (P1 is the most cited).
- run 1 stores P1-P4, P6 and HOSTILE; run 2 stores P5.

HOSTILE is an S2-only paper whose title, author, venue, url and claim sentence are attacks on
the page: they must show as text and run nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.records import Citation, Claim, Extraction, Paper
from kg.store import Store

ICL = "ability:in-context-learning"
COT = "ability:chain-of-thought"
P1, P2, P3, P4, P5, P6 = (
    "2101.00001",
    "2202.00002",
    "2303.00003",
    "2304.00004",
    "2405.00005",
    "2406.00006",
)
HOSTILE = "s2:hostile0001"
HOSTILE_TITLE = '<img src=x onerror="window.__kgPwned=1">Hostile & <b>bold</b> title'
HOSTILE_SENTENCE = (
    "Prompt wording matters </script><script>window.__kgPwned=2</script> for in-context "
    "learning \u2028 even across lines."
)
HOSTILE_AUTHOR = '<svg onload="window.__kgPwned=3">Mallory'
HOSTILE_VENUE = '"><script>window.__kgPwned=4</script>'
HOSTILE_URL = "javascript:window.__kgPwned=5"


@dataclass(frozen=True)
class Spec:
    paper: Paper
    claims: tuple[tuple[str, str, str, str, str], ...]  # subject, relation, object, pol, sentence
    concepts: tuple[str, ...]
    run: int


def _paper(pid: str, title: str, year: int, authors: tuple[str, ...], **kw: object) -> Paper:
    arxiv = None if pid.startswith("s2:") else pid
    s2 = pid.removeprefix("s2:") if pid.startswith("s2:") else None
    return Paper(
        paper_id=pid,
        title=title,
        authors=authors,
        year=year,
        arxiv_id=arxiv,
        s2_paper_id=s2,
        **kw,  # type: ignore[arg-type]
    )


SPECS: tuple[Spec, ...] = (
    Spec(
        _paper(
            P1,
            "Rethinking demonstrations",
            2021,
            ("Alice Adams", "Bob Brown"),
            venue="ACL 2021",
            citation_count=900,
            published="2021-01-05",
        ),
        (
            (
                "factor:label-correctness",
                "affects",
                ICL,
                "no-effect",
                "Randomly replacing the labels barely hurts in-context learning.",
            ),
            (
                "factor:demonstration-format",
                "affects",
                ICL,
                "increases",
                "The format of the demonstrations drives in-context learning.",
            ),
        ),
        (ICL, "factor:label-correctness", "factor:demonstration-format"),
        1,
    ),
    Spec(
        _paper(
            P2,
            "Labels matter after all",
            2022,
            ("Carol Chen", "Alice Adams"),
            venue="EMNLP 2022",
            citation_count=120,
        ),
        (
            (
                "factor:label-correctness",
                "affects",
                ICL,
                "increases",
                "Correct labels improve in-context learning substantially.",
            ),
            (
                "factor:model-scale",
                "affects",
                ICL,
                "increases",
                "Larger models learn in context better.",
            ),
            (
                "mechanism:induction-heads",
                "explains",
                ICL,
                "supports",
                "Induction heads implement in-context learning.",
            ),
        ),
        (ICL, "factor:label-correctness", "factor:model-scale", "mechanism:induction-heads"),
        1,
    ),
    Spec(
        _paper(P3, "Scale and gradient descent", 2023, ("Dan Diaz",), published="2023-03-15"),
        (
            (
                "factor:model-scale",
                "affects",
                ICL,
                "increases",
                "In-context learning improves with model scale.",
            ),
            (
                "mechanism:implicit-gradient-descent",
                "explains",
                ICL,
                "refutes",
                "In-context learning does not behave like gradient descent.",
            ),
        ),
        (ICL, COT, "factor:model-scale", "mechanism:implicit-gradient-descent"),
        1,
    ),
    Spec(
        _paper(
            P4,
            "Transformers learn by gradient descent",
            2023,
            ("Eve Evans",),
            published="2023-04-20",
        ),
        (
            (
                "mechanism:implicit-gradient-descent",
                "explains",
                ICL,
                "supports",
                "Transformers learn in context by gradient descent.",
            ),
            (
                "factor:demonstration-order",
                "affects",
                ICL,
                "matters",
                "The order of demonstrations matters for in-context learning.",
            ),
        ),
        (ICL, "mechanism:implicit-gradient-descent", "factor:demonstration-order"),
        1,
    ),
    Spec(
        _paper(
            P5, "Labels do not matter, scale does", 2024, ("Frank Fox",), published="2024-05-01"
        ),
        (
            (
                "factor:label-correctness",
                "affects",
                ICL,
                "no-effect",
                "Label correctness has no effect on in-context learning.",
            ),
            (
                "factor:model-scale",
                "affects",
                COT,
                "increases",
                "Chain-of-thought reasoning emerges with model scale.",
            ),
        ),
        (ICL, COT, "factor:label-correctness", "factor:model-scale"),
        2,
    ),
    Spec(
        _paper(P6, "Emergence, a survey", 2024, ("Gina Gray",), published="2024-06-01"),
        (),
        ("ability:emergence",),
        1,
    ),
    Spec(
        _paper(
            HOSTILE,
            HOSTILE_TITLE,
            2022,
            (HOSTILE_AUTHOR,),
            venue=HOSTILE_VENUE,
            url=HOSTILE_URL,
            source="s2",
        ),
        (("factor:prompt-wording", "affects", ICL, "matters", HOSTILE_SENTENCE),),
        (ICL, "factor:prompt-wording"),
        1,
    ),
)
CITATIONS = ((P2, P1), (P3, P1), (P3, P2), (P4, P1), (P5, P1), (P5, P3))


def _with_abstract(spec: Spec) -> tuple[Paper, Extraction]:
    """The paper with an abstract made of its claim sentences, and claims whose offsets index
    into title + "\\n" + abstract (the extraction contract)."""
    sentences = [c[4] for c in spec.claims] or ["A survey of the field."]
    abstract = " ".join(sentences)
    paper = Paper(**{**spec.paper.__dict__, "abstract": abstract})
    text = paper.text
    claims = []
    for subject, relation, obj, polarity, sentence in spec.claims:
        start = text.index(sentence)
        claims.append(
            Claim(
                subject,
                relation,
                obj,
                polarity,
                sentence,
                start,
                start + len(sentence),  # type: ignore[arg-type]
                hedged=False,
                confidence=0.8,
            )
        )
    return paper, Extraction(paper.paper_id, spec.concepts, tuple(claims))


def fill_small_store(store: Store) -> None:
    """Write the corpus into `store` in two runs, as `kg refresh` would."""
    for run in (1, 2):
        run_id = store.start_run("small", "offline")
        assert run_id == run
        for spec in SPECS:
            if spec.run != run:
                continue
            paper, extraction = _with_abstract(spec)
            store.upsert_paper(paper, run_id)
            store.save_extraction(extraction, paper.content_hash, "test-extractor", run_id)
        for citing, cited in CITATIONS:
            store.upsert_citation(Citation(citing, cited, source="test"))
        store.finish_run(run_id, "ok", {})
