"""Grammar-level behaviour on sentences written for these tests: abbreviations, negation and
hedging, polarity, subject/object pairing, generic aliases in context, offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.extract import Extractor
from kg.extract.abbreviations import long_form_start
from kg.extract.matching import variants
from kg.extract.roles import is_survey, is_topic_title
from kg.extract.text import cap, normalize
from kg.records import Claim, Extraction
from kg.vocabulary import load_vocabulary

ICL = "ability:in-context-learning"


def _claims(ex: Extraction) -> dict[tuple[str, str], Claim]:
    return {(c.subject, c.object): c for c in ex.claims}


def test_abbreviation_defined_in_text_links_to_its_long_form(tmp_path: Path) -> None:
    vocab = tmp_path / "v.toml"
    vocab.write_text(
        '[[concept]]\nid = "ability:in-context-learning"\nlabel = "ICL"\n'
        'aliases = ["in-context learning"]\n'
        '[[concept]]\nid = "factor:model-scale"\nlabel = "Scale"\naliases = ["model size"]\n',
        encoding="utf-8",
    )
    ex = Extractor(vocabulary=load_vocabulary(vocab))
    out = ex.extract(
        "abbr",
        "What drives ICL?",
        "Large language models can do in-context learning (ICL). We find that ICL improves "
        "with model size, and that ICL is the key to these gains. ICL works.",
    )
    assert out.concepts[0] == ICL  # named once in full, then by its abbreviation
    assert ("factor:model-scale", ICL) in _claims(out)


def test_abbreviation_defined_for_something_else_is_not_the_concept(extractor: Extractor) -> None:
    out = extractor.extract(
        "pac",
        "A cheaper way to answer",
        "We introduce Partial Answer Compression (PAC). We show that PAC reduces cost. "
        "PAC is simple and PAC is fast.",
    )
    assert "mechanism:information-theory" not in out.concepts


def test_schwartz_hearst_long_form() -> None:
    assert long_form_start("models can do in-context learning", "ICL") == 14
    assert long_form_start("we use a verifier", "ICL") is None


@pytest.mark.parametrize(
    ("abstract", "subject", "polarity"),
    [
        ("We find that randomly replacing labels barely hurts in-context learning.",
         "factor:label-correctness", "no-effect"),
        ("We show that ground-truth labels are not required for in-context learning.",
         "factor:label-correctness", "no-effect"),
        ("We show that in-context learning does not depend on the order of demonstrations.",
         "factor:demonstration-order", "no-effect"),
        ("We find that scaling up the model size substantially improves in-context learning.",
         "factor:model-scale", "increases"),
        ("We find that irrelevant context dramatically degrades in-context learning.",
         "factor:irrelevant-context", "decreases"),
        ("We find that in-context learning is highly sensitive to the demonstration order.",
         "factor:demonstration-order", "matters"),
        ("We show that instruction tuning reduces hallucinations.",
         "factor:post-training", "decreases"),
        ("We show that instruction tuning makes models less truthful.",
         "factor:post-training", "increases"),
    ],
)  # fmt: skip
def test_polarity_from_predicate_negation_and_risk_side(
    extractor: Extractor, abstract: str, subject: str, polarity: str
) -> None:
    out = extractor.extract("p", "A study of language models", abstract)
    found = {c.subject: c for c in out.claims}
    assert subject in found, out
    assert found[subject].polarity == polarity


def test_hedged_and_refuted_mechanism(extractor: Extractor) -> None:
    out = extractor.extract(
        "h",
        "In-context learning in transformers",
        "We study in-context learning in transformers. Our results suggest that in-context "
        "learning may rely on induction heads. We find that in-context learning is not "
        "implemented by implicit gradient descent.",
    )
    claims = _claims(out)
    heads = claims[("mechanism:induction-heads", ICL)]
    assert heads.relation == "explains" and heads.polarity == "supports" and heads.hedged
    gd = claims[("mechanism:implicit-gradient-descent", ICL)]
    assert gd.polarity == "refutes" and not gd.hedged


def test_ability_subject_and_default_object(extractor: Extractor) -> None:
    out = extractor.extract(
        "pair",
        "Chain-of-thought prompting for arithmetic reasoning",
        "We find that chain-of-thought prompting improves arithmetic reasoning. "
        "We also show that the gains from chain-of-thought prompting grow with model size.",
    )
    claims = _claims(out)
    assert claims[("ability:chain-of-thought", "ability:reasoning")].polarity == "increases"
    assert ("factor:model-scale", "ability:chain-of-thought") in claims


def test_generic_alias_counts_only_in_context(extractor: Extractor) -> None:
    abstract = "We find that this improves in-context learning."
    plain = extractor.extract("g1", "On the scale of the problem space", abstract)
    assert "factor:model-scale" not in plain.concepts
    modelled = extractor.extract("g2", "On the scale of language models", abstract)
    assert "factor:model-scale" in modelled.concepts


def test_passing_mentions_are_not_concepts(extractor: Extractor) -> None:
    out = extractor.extract(
        "m",
        "Induction heads and in-context learning",
        "Recent work has studied chain-of-thought prompting. We find that induction heads "
        "drive in-context learning, and that in-context learning emerges with induction heads.",
    )
    assert "ability:chain-of-thought" not in out.concepts
    assert "mechanism:induction-heads" in out.concepts


def test_evidence_offsets_slice_title_plus_abstract(extractor: Extractor) -> None:
    title, abstract = "Scale  matters", "  We find that larger models improve in-context learning. "
    out = extractor.extract("o", title, abstract)
    text = f"{title}\n{abstract}"
    assert out.claims
    for claim in out.claims:
        assert text[claim.char_start : claim.char_end] == claim.sentence


def test_normalize_keeps_length_and_cap_cuts_at_a_space() -> None:
    raw = r"A \cite{x} &amp; <b>b</b> $\alpha$ {c}"
    assert len(normalize(raw)) == len(raw)
    assert "&" in normalize(raw) and "\\" not in normalize(raw)
    assert cap("aaa bbb ccc", 9) == "aaa bbb"
    assert cap("short", 9) == "short"


def test_alias_variants_cover_hyphenation_and_number() -> None:
    assert {"pretraining data", "pre training data"} <= variants("pre-training data")
    assert "induction heads" in variants("induction head")
    assert "instruction fine-tuning" in variants("instruction finetuning")


def test_version_changes_with_the_vocabulary(tmp_path: Path, extractor: Extractor) -> None:
    vocab = tmp_path / "v.toml"
    vocab.write_text('[[concept]]\nid = "ability:x"\nlabel = "X"\naliases = ["x"]\n', "utf-8")
    other = Extractor(vocabulary=load_vocabulary(vocab))
    assert other.version != extractor.version
    assert extractor.version.startswith("kg-extract/")
    assert "en_core_web_sm" in extractor.version


def test_gradient_descent_is_the_mechanism_only_as_what_icl_does(extractor: Extractor) -> None:
    gd = "mechanism:implicit-gradient-descent"
    trained = extractor.extract(
        "gd1",
        "Learning causal structure with gradient descent",
        "We prove that gradient descent on a two-layer transformer learns the causal graph. "
        "We find that gradient descent finds the structure quickly.",
    )
    assert gd not in trained.concepts
    implemented = extractor.extract(
        "gd2",
        "Transformers implement gradient descent in context",
        "We show that in-context learning implements gradient descent on a regression loss. "
        "We find that transformers perform gradient descent in their forward pass.",
    )
    assert gd in implemented.concepts


def test_hyphenated_context_word_counts_as_one_word(extractor: Extractor) -> None:
    # spaCy splits "few-shot" into three tokens; as a context word it is still one word
    doc = extractor.nlp("We vary the format of few-shot inputs.")
    assert "factor:demonstration-format" in {m.concept for m in extractor.matcher(doc)}
    far = extractor.nlp("We vary the format of one two three four five few-shot inputs.")
    assert "factor:demonstration-format" not in {m.concept for m in extractor.matcher(far)}


def test_a_named_variant_acting_keeps_its_direction(extractor: Extractor) -> None:
    acting = extractor.extract(
        "v1", "Looped transformers", "We show that looped transformers improve in-context learning."
    )
    assert _claims(acting)[("factor:architecture", ICL)].polarity == "increases"
    compared = extractor.extract(
        "v2",
        "Architectures for in-context learning",
        "We show that transformers outperform recurrent neural networks at in-context learning.",
    )
    assert _claims(compared)[("factor:architecture", ICL)].polarity == "matters"


def test_a_factor_of_cot_prompts_claims_chain_of_thought(extractor: Extractor) -> None:
    out = extractor.extract(
        "len",
        "Longer chains of thought for multi-step reasoning",
        "We show that chains with more reasoning steps improve multi-step reasoning. "
        "We find that the reasoning length of chain-of-thought prompts matters most.",
    )
    claims = _claims(out)
    assert ("factor:reasoning-length", "ability:chain-of-thought") in claims
    assert ("factor:reasoning-length", "ability:reasoning") not in claims


def test_an_ability_in_an_enumeration_is_a_passing_mention(extractor: Extractor) -> None:
    out = extractor.extract(
        "list",
        "Self-refinement of language models",
        "We find that self-refinement improves outputs on dialogue, summarization, code "
        "generation and arithmetic reasoning. We show that self-refinement helps most on "
        "dialogue.",
    )
    assert "ability:reasoning" not in out.concepts
    ranged = extractor.extract(
        "range",
        "Self-refinement of language models",
        "We evaluate self-refinement on tasks ranging from dialogue to arithmetic reasoning. "
        "We find that self-refinement improves outputs.",
    )
    assert "ability:reasoning" not in ranged.concepts
    alone = extractor.extract(
        "alone",
        "Self-refinement of language models",
        "We find that self-refinement improves arithmetic reasoning.",
    )
    assert "ability:reasoning" in alone.concepts


def test_variants_hyphenate_a_modifier_and_context_words_match_in_either_number(
    extractor: Extractor,
) -> None:
    assert "in-context-learning" in variants("in-context learning")
    doc = extractor.nlp("We vary the choice of prompt and training examples.")
    assert "factor:demonstration-selection" in {m.concept for m in extractor.matcher(doc)}


def test_a_survey_studies_what_it_covers_and_states_no_claims(extractor: Extractor) -> None:
    out = extractor.extract(
        "survey",
        "Emergent abilities of language models: a survey",
        "Emergent abilities such as in-context learning have drawn attention. We review the "
        "role of model scale and of the pre-training loss. We find that scaling up the model "
        "size improves in-context learning.",
    )
    assert {"factor:model-scale", "factor:pretraining-loss"} <= set(out.concepts)
    assert out.claims == ()


def test_a_conjoined_ability_is_a_co_subject_not_the_object(extractor: Extractor) -> None:
    out = extractor.extract(
        "co",
        "Instruction tuning and in-context learning",
        "We show that in-context learning and instruction tuning both enhance robustness. "
        "We find that instruction tuning improves in-context learning.",
    )
    claims = _claims(out)
    sentences = {c.sentence for c in out.claims}
    assert ("factor:post-training", ICL) in claims
    assert not any(s.startswith("We show that in-context") for s in sentences)


def test_what_counts_as_a_survey() -> None:
    assert is_survey("Reasoning with language model prompting: a survey", [])
    assert is_survey("A comprehensive survey on emergent abilities", [])
    assert is_survey("Emergent abilities", ["In this paper, we present a thorough survey of X."])
    assert not is_survey("Code review with large language models", [])
    assert not is_survey("Language models as peer reviewers", ["We review prior work."])


def test_a_topic_title_states_no_claim(extractor: Extractor) -> None:
    assert is_topic_title("Exploring the relationship between ICL and instruction tuning")
    assert is_topic_title("Which attention heads matter for in-context learning?")
    assert not is_topic_title("Larger language models do in-context learning differently")
    out = extractor.extract(
        "topic",
        "Exploring the relationship between in-context learning and instruction tuning",
        "We compare in-context learning and instruction tuning on hidden states. "
        "We find that instruction tuning shapes in-context learning.",
    )
    assert all(not c.sentence.startswith("Exploring") for c in out.claims)


@pytest.mark.parametrize(
    "aside",
    [
        "The common hypothesis is that larger models gain more from chain-of-thought prompting.",
        "This is in contrast to existing systems where larger models gain more from "
        "chain-of-thought prompting.",
    ],
    ids=["hypothesis", "contrast-to-existing"],
)
def test_a_hypothesis_or_a_contrast_with_existing_work_is_background(
    extractor: Extractor, aside: str
) -> None:
    out = extractor.extract(
        "aside",
        "Chain-of-thought prompting for arithmetic word problems",
        "We study chain-of-thought prompting on arithmetic word problems and vary the model "
        f"size from 1B to 70B parameters. {aside} "
        "We find that chain-of-thought prompting improves arithmetic accuracy.",
    )
    assert all(c.subject != "factor:model-scale" for c in out.claims)


def test_an_ability_named_once_beside_a_much_better_evidenced_one_is_passing(
    extractor: Extractor,
) -> None:
    out = extractor.extract(
        "passing",
        "Depth and multi-hop reasoning in small transformers",
        "We train small transformers from scratch on short chain-of-thought traces. "
        "We find that deeper models solve more multi-hop reasoning problems. "
        "We also find that multi-hop reasoning fails on unseen entity pairs. "
        "Our results show that multi-hop reasoning needs several layers.",
    )
    assert "ability:reasoning" in out.concepts
    assert "ability:chain-of-thought" not in out.concepts


def test_a_factor_named_once_as_the_setting_of_a_result_is_not_studied(
    extractor: Extractor,
) -> None:
    out = extractor.extract(
        "setting",
        "Retrieval of worked examples for in-context learning",
        "We retrieve worked examples for in-context learning on math word problems. "
        "We observe the same pattern with instruction tuning on three benchmarks.",
    )
    assert "ability:in-context-learning" in out.concepts
    assert "factor:post-training" not in out.concepts


def test_a_comparative_model_class_after_with_is_a_setting_not_a_change(
    extractor: Extractor,
) -> None:
    out = extractor.extract(
        "comparative setting",
        "Retrieval of worked examples for in-context learning",
        "We retrieve worked examples for in-context learning on math word problems. "
        "We observe the same pattern with much smaller models on three benchmarks.",
    )
    assert "factor:model-scale" not in out.concepts


def test_the_emergence_of_capabilities_names_emergent_abilities_specifically(
    extractor: Extractor,
) -> None:
    out = extractor.extract(
        "emergence",
        "Loss curves and capabilities",
        "We propose a model of loss curves that also accounts for the emergence of new "
        "capabilities in decoder-only models.",
    )
    assert "ability:emergence" in out.concepts


def test_common_practice_is_background_even_in_the_papers_setup(extractor: Extractor) -> None:
    out = extractor.extract(
        "practice",
        "Demonstration selection for in-context learning",
        "In this setup, similar examples are usually chosen, which improves "
        "in-context learning on easy inputs. We find that diverse demonstrations help "
        "in-context learning on compositional splits.",
    )
    assert all(not c.sentence.startswith("In this setup") for c in out.claims)


def test_a_mechanism_only_asked_about_gets_no_default_claim(extractor: Extractor) -> None:
    out = extractor.extract(
        "asked",
        "Do induction heads drive in-context learning?",
        "We study induction heads in small attention-only transformers trained on synthetic "
        "sequences. We describe the training setup and the probes that we use.",
    )
    assert "mechanism:induction-heads" in out.concepts
    assert all(c.subject != "mechanism:induction-heads" for c in out.claims)


def test_a_factor_in_a_concession_is_not_a_cause(extractor: Extractor) -> None:
    out = extractor.extract(
        "concession",
        "Prompt format sensitivity of in-context learning",
        "We measure how in-context learning accuracy varies with the prompt format. We find "
        "that in-context learning is highly sensitive to the prompt format, and the spread "
        "remains wide even when increasing the model size. The model size is no remedy.",
    )
    assert "factor:model-scale" in out.concepts
    assert all(
        "even when" not in c.sentence for c in out.claims if c.subject == "factor:model-scale"
    )


def test_a_factor_naming_a_regime_is_where_a_result_holds(extractor: Extractor) -> None:
    out = extractor.extract(
        "regime",
        "Instruction tuning and in-context learning",
        "We compare prompting strategies for in-context learning. We find that the benefit of "
        "label words improves accuracy only in the instruction tuning setting.",
    )
    assert all(
        "setting" not in c.sentence for c in out.claims if c.subject == "factor:post-training"
    )


def test_difficulty_levels_and_reasoning_types_name_task_difficulty(extractor: Extractor) -> None:
    out = extractor.extract(
        "difficulty",
        "Chain-of-thought prompting on graded math problems",
        "We evaluate chain-of-thought prompting on math problems graded into five difficulty "
        "levels. We find that the benefit of chain-of-thought prompting depends on the "
        "problem difficulty and differs between reasoning types.",
    )
    assert "factor:task-difficulty" in out.concepts
    claim = _claims(out)[("factor:task-difficulty", "ability:chain-of-thought")]
    assert claim.polarity == "matters"


def test_a_mechanism_only_described_gets_no_default_claim(extractor: Extractor) -> None:
    out = extractor.extract(
        "described",
        "In-context learning in two-layer transformers",
        "Our analysis covers the induction heads of two-layer transformers. The induction "
        "heads are traced across checkpoints of one training run.",
    )
    assert "mechanism:induction-heads" in out.concepts
    assert all(c.subject != "mechanism:induction-heads" for c in out.claims)
