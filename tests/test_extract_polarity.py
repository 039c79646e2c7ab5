"""Polarity on abstracts written for these tests (not from the dev set): each case is a
general phenomenon of how the field states findings, checked on wording the rules never saw."""

from __future__ import annotations

import pytest

from kg.extract import Extractor

TITLE = "A study of language models"


def _polarity(extractor: Extractor, abstract: str, subject: str) -> str | None:
    out = extractor.extract("p", TITLE, abstract)
    return next((c.polarity for c in out.claims if c.subject == subject), None)


@pytest.mark.parametrize(
    ("abstract", "subject", "polarity"),
    [
        # A limiting resource: what an ability is bottlenecked by raises it when there is more.
        pytest.param(
            "We show that in-context learning in recurrent models is bottlenecked by the model "
            "size.", "factor:model-scale", "increases", id="limited-by"),
        pytest.param(
            "We find that chain-of-thought accuracy is limited by the number of demonstrations "
            "in the prompt.", "factor:number-of-demonstrations", "increases", id="limited-by"),
        pytest.param(
            "We find that in-context learning is constrained by the size of the context window.",
            "factor:number-of-demonstrations", "increases", id="limited-by"),
        # A cue of help takes its complement's direction: what is helped down goes down.
        pytest.param(
            "We find that retrieval augmentation helps reduce hallucination.",
            "factor:retrieval-augmentation", "decreases", id="helps-complement"),
        pytest.param(
            "We show that reinforcement learning from human feedback is more effective at "
            "reducing toxicity than filtering the training data.", "factor:post-training",
            "decreases", id="helps-complement"),
        pytest.param(
            "We find that instruction tuning does not help improve chain-of-thought reasoning.",
            "factor:post-training", "no-effect", id="helps-complement"),
        # A comparative of a cue adjective keeps the adjective's sense; "less" turns it round.
        pytest.param(
            "We find that in-context learning in larger models is less robust to irrelevant "
            "context.", "factor:irrelevant-context", "decreases", id="comparative"),
        pytest.param(
            "We find that in-context learning is more robust to the order of demonstrations "
            "than fine-tuning.", "factor:demonstration-order", "no-effect", id="comparative"),
        pytest.param(
            "We find that chain-of-thought prompting is less effective with noisy labels.",
            "factor:label-correctness", "increases", id="comparative"),
    ],
)  # fmt: skip
def test_polarity_of_the_cue(
    extractor: Extractor, abstract: str, subject: str, polarity: str
) -> None:
    assert _polarity(extractor, abstract, subject) == polarity


@pytest.mark.parametrize(
    ("abstract", "subject"),
    [
        # What varies has no direction of more or less: a change in it matters.
        ("We find that transitions in in-context learning are induced by changes in model "
         "size.", "factor:model-scale"),
        ("We find that small changes in the prompt wording improve or degrade in-context "
         "learning accuracy by up to 20 points.", "factor:prompt-wording"),
        ("We find that shifts in the pretraining distribution strongly reduce chain-of-thought "
         "accuracy.", "factor:pretraining-distribution"),
    ],
)  # fmt: skip
def test_a_change_in_a_factor_matters(extractor: Extractor, abstract: str, subject: str) -> None:
    assert _polarity(extractor, abstract, subject) == "matters"


@pytest.mark.parametrize(
    ("abstract", "subject", "claimed"),
    [
        # A factor that a verb of change acts on is what is affected, not a cause.
        ("We show that reinforcement learning increases response length on reasoning tasks.",
         "factor:reasoning-length", False),
        ("We find that preference optimization reduces the number of reasoning steps in "
         "chain-of-thought outputs.", "factor:reasoning-length", False),
        ("We find that increasing the number of demonstrations improves in-context learning.",
         "factor:number-of-demonstrations", True),
        ("We increase the model size and find that this improves in-context learning.",
         "factor:model-scale", True),
    ],
)  # fmt: skip
def test_what_a_verb_of_change_acts_on_is_no_cause(
    extractor: Extractor, abstract: str, subject: str, claimed: bool
) -> None:
    assert (_polarity(extractor, abstract, subject) is not None) == claimed


@pytest.mark.parametrize(
    "abstract",
    [
        # What a result is on par with is a yardstick, not a finding about it.
        "We show that in-context learning with 32 demonstrations is competitive with "
        "fine-tuning on most tasks.",
        "We find that our prompting method narrows the gap to supervised fine-tuning on "
        "reasoning benchmarks.",
        "We find that scaling up language models improves few-shot performance, sometimes "
        "reaching competitiveness with prior state-of-the-art fine-tuning approaches.",
    ],
)
def test_a_yardstick_is_no_finding(extractor: Extractor, abstract: str) -> None:
    assert _polarity(extractor, abstract, "factor:post-training") is None


def test_what_is_held_fixed_is_no_factor(extractor: Extractor) -> None:
    out = extractor.extract(
        "fixed",
        TITLE,
        "We prove that the trained transformer reaches near-optimal in-context learning risk "
        "under a fixed context length. We find that at the same model size, chain-of-thought "
        "prompting improves in-context learning.",
    )
    assert "factor:number-of-demonstrations" not in out.concepts
    assert "factor:model-scale" not in out.concepts


@pytest.mark.parametrize(
    "abstract",
    [
        # A factor acting on another factor's role (reliance on it, sensitivity to it) states
        # an interaction, not an effect on the ability.
        "We find that larger models rely more on shortcuts in in-context learning.",
        "We show that instruction tuning reduces the sensitivity of in-context learning to the "
        "prompt format.",
        "We find that larger models are more likely to exploit spurious correlations in the "
        "demonstrations.",
    ],
)
def test_a_factor_acting_on_another_factor_is_no_claim_on_the_ability(
    extractor: Extractor, abstract: str
) -> None:
    out = extractor.extract("i", TITLE, abstract)
    subjects = {c.subject for c in out.claims}
    assert not subjects & {"factor:model-scale", "factor:post-training"}, out.claims


@pytest.mark.parametrize(
    ("abstract", "subject", "claimed"),
    [
        # What a result comes with is its setting, unless it is said to change.
        ("We find that diverse demonstrations improve in-context learning, also when combined "
         "with instruction tuning.", "factor:post-training", False),
        ("We show that the model behaves like an estimator with the pretraining distribution "
         "as its prior, which improves in-context learning.", "factor:pretraining-distribution",
         False),
        ("We find that in-context learning improves with model size.", "factor:model-scale",
         True),
        ("We find that in-context learning emerges with increasing model scale.",
         "factor:model-scale", True),
        # ... or the result is said to covary with it.
        ("We find that the gains from chain-of-thought prompting grow with model size.",
         "factor:model-scale", True),
    ],
)  # fmt: skip
def test_a_setting_is_no_cause(
    extractor: Extractor, abstract: str, subject: str, claimed: bool
) -> None:
    assert (_polarity(extractor, abstract, subject) is not None) == claimed
