"""Polarity of a claim from the predicate lexicon, negation scope and hedging cues.

A cue is a word that states an effect ("improves", "hurts", "is sensitive to", "does not depend
on"); the cue nearest to the subject in the dependency tree decides the polarity, flipped to
no-effect under negation ("barely hurts", "not required"). For a risk named by its positive
side ("truthfulness", "faithfulness") the direction is reversed: less truthful is more risk.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Span, Token

INCREASES, DECREASES, MATTERS, NO_EFFECT = "increases", "decreases", "matters", "no-effect"
SUPPORTS, REFUTES = "supports", "refutes"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _by_word(groups: dict[str, str]) -> dict[str, str]:
    """{word: polarity} from {polarity: space-separated words}."""
    return {word: polarity for polarity, words in groups.items() for word in words.split()}


_LEXICON = _by_word(
    {
        INCREASES: "improve boost enhance increase raise help benefit enable elicit unlock drive "
        "strengthen facilitate promote outperform surpass lift amplify advance induce contribute "
        "allow empower encourage accelerate rescue narrow emerge arise yield produce explain "
        "underlie underpin power fuel trigger achieve gain improvement driver crucial critical "
        "essential key necessary important vital required needed needs beneficial effective "
        "useful better higher stronger improved larger sharper successful superior",
        DECREASES: "hurt harm degrade decrease reduce impair worsen lower drop decline diminish "
        "fail struggle suffer distract undermine bottleneck sacrifice deteriorate restrict "
        "hinder mislead confuse weaken prevent suppress mitigate alleviate inhibit delay "
        "compromise vanish evaporate collapse disappear override cost penalize damage deficiency "
        "degradation worse poor poorly detrimental unable weaker inverse limitation harmful",
        MATTERS: "sensitive sensitivity depend dependent dependence vary variance variation "
        "influence affect impact matter shape govern modulate tradeoff "
        "trade-off unstable instability role correlate correlation relationship contingent "
        "hinge brittle differ mixed factor balance effect "
        "relate susceptible vulnerable fragile nonmonotonic fluctuate "
        "oscillate",
        NO_EFFECT: "immaterial unnecessary irrelevant independent regardless insensitive "
        "invariant unaffected robust comparable negligible",
    }
)
_NEGATORS = _words(
    "not no never n't cannot barely hardly neither nor little without minimal nothing none "
    "fail fails failed lack unable"
)
_HEDGES = {"may", "might", "could", "possibly", "potentially", "likely", "suggest", "suggests",
           "appear", "appears", "seem", "seems", "tentatively", "tentative", "preliminary",
           "hypothesize", "hypothesise", "speculate", "perhaps", "partially", "plausibly",
           "conjecture", "presumably"}  # fmt: skip
_REFUTERS = {"inconsistent", "discrepancy", "discrepancies", "differ", "differs", "deviate",
             "deviates", "deviating", "deviation", "contrary", "contradict", "contradicts",
             "insufficient", "refute", "refutes", "unlike", "gap", "gaps"}  # fmt: skip
# Verbs of limitation: what limits an ability (its agent, "bottlenecked by the state size") is a
# resource, more of which raises the ability.
_LIMITERS = _words("bottleneck limit constrain restrict cap gate bound")
_VARIATIONS = _words(
    "change variation difference shift perturbation fluctuation alteration modification swap"
)
_MORE = _words("more most")
_LESS = _words("less least fewer")
_CONTRASTS = {"rather", "instead", "not", "beyond", "unlike", "than"}
NEGATIVE_SIDE_WORDS = _words(
    "random randomly incorrect wrong flipped false invalid inaccurate noisy noise inverse "
    "irrelevant misleading corrupted perturbed calibration calibrate calibrated calibrating"
)
POSITIVE_RISK_WORDS = _words(
    "truthful truthfulness faithful faithfulness faithfully factuality factual fairness fair "
    "monitorability honest honesty"
)


@dataclass(frozen=True)
class Polarity:
    """The polarity of one subject's effect in one sentence, and whether it is hedged."""

    polarity: str
    hedged: bool
    cue: str | None  # the cue word, None when the polarity is a default
    # The cue is a verb whose grammatical subject holds the subject: the subject acts
    # ("looped transformers improve ...") rather than being what performance varies with.
    agent: bool = False


def _limiting_agent(tok: Token) -> Token | None:
    """The by-phrase of a passive limiting verb ("is bottlenecked by the state size")."""
    if tok.lemma_.lower() not in _LIMITERS or tok.pos_ != "VERB":
        return None
    return next((c for c in tok.children if c.dep_ == "agent"), None)


def cue_polarity(tok: Token) -> str | None:
    """The polarity a token states as a cue, before negation (None if it is no cue)."""
    if _limiting_agent(tok) is not None:
        return DECREASES
    if tok.lower_ in _MORE | _LESS and tok.head.pos_ in {"ADJ", "NOUN"}:
        if tok.head.pos_ == "ADJ" and _lexical(tok.head):
            return None  # the adjective is the cue ("more robust", "less effective")
        if tok.lower_ in _LESS:
            return DECREASES
        return INCREASES if tok.head.pos_ == "ADJ" else None
    if tok.pos_ not in {"VERB", "ADJ", "NOUN", "AUX", "ADV"}:
        return None
    pol = _lexical(tok)
    if pol is not None and tok.pos_ == "ADJ" and any(c.lower_ in _LESS for c in tok.children):
        # "less robust to noise": the noise hurts; "less effective": lower
        pol = {INCREASES: DECREASES, DECREASES: INCREASES, NO_EFFECT: DECREASES}.get(pol, pol)
    return pol


def _lexical(tok: Token) -> str | None:
    return _LEXICON.get(tok.lemma_.lower()) or _LEXICON.get(tok.lower_)


def is_negated(tok: Token) -> bool:
    """Negation scope: a `neg` child, or a negator among the three words before the cue or
    among the cue's head's children (\"not required\", \"does not depend\", \"barely hurts\")."""
    if any(c.dep_ == "neg" for c in tok.children):
        return True
    if tok.dep_ in {"xcomp", "ccomp", "acomp", "attr", "oprd"} and any(
        c.dep_ == "neg" for c in tok.head.children
    ):
        return True
    window = tok.doc[max(tok.sent.start, tok.i - 3) : tok.i]
    return any(t.lower_ in _NEGATORS for t in window)


def tree_distance(a: Token, b: Token) -> int:
    """Number of dependency arcs between two tokens of the same sentence."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    index_b = {t.i: n for n, t in enumerate(up_b)}
    for n, tok in enumerate(up_a):
        if tok.i in index_b:
            return n + index_b[tok.i]
    return len(up_a) + len(up_b)


def is_hedged(sent: Span) -> bool:
    """Hedging cues in the sentence (modal verbs, "suggest", "preliminary", ...)."""
    return any(t.lower_ in _HEDGES for t in sent)


def nearest_cue(sent: Span, subject: Span, names: frozenset[int] = frozenset()) -> Token | None:
    """The effect cue of `sent` closest to `subject` in the dependency tree (then in words),
    outside the subject's own words and the tokens `names` (words that name concepts, such as
    "irrelevant" in "irrelevant context"); None if the sentence has no cue."""
    cues = [
        t
        for t in sent
        if not (subject.start <= t.i < subject.end) and t.i not in names and cue_polarity(t)
    ]
    if not cues:
        return None
    root = subject.root
    return min(cues, key=lambda t: (tree_distance(root, t), abs(t.i - root.i)))


def affect_polarity(
    sent: Span, subject: Span, reverse: bool = False, names: frozenset[int] = frozenset()
) -> Polarity:
    """Polarity of `subject`'s effect stated in `sent` (default `increases`, no cue).

    `reverse` swaps increases and decreases: the subject is named by its opposite ("random
    labels" for label correctness) or the object by its positive side ("truthfulness").
    """
    hedged = is_hedged(sent)
    tok = nearest_cue(sent, subject, names)
    if tok is None:
        return Polarity(DECREASES if reverse else INCREASES, hedged, None)
    negated = is_negated(tok)
    head = tok
    inner = _complement(tok)
    if inner is not None:
        between = tok.doc[tok.i + 1 : inner.i]
        own = any(c.dep_ == "neg" for c in inner.children) or any(
            t.lower_ in _NEGATORS for t in between
        )
        tok, negated = inner, negated != own
    pol = cue_polarity(tok)
    assert pol is not None
    agent = _limiting_agent(tok)
    limits = agent is not None and agent.left_edge.i <= subject.root.i <= agent.right_edge.i
    if limits:
        pol = INCREASES
    if pol in (INCREASES, DECREASES) and _varied(subject):
        pol = MATTERS
    if negated:
        pol = NO_EFFECT if pol != NO_EFFECT else MATTERS
    elif reverse and pol in (INCREASES, DECREASES):
        pol = DECREASES if pol == INCREASES else INCREASES
    return Polarity(pol, hedged, tok.text, limits or _acts(head, subject) or _acts(tok, subject))


def _varied(subject: Span) -> bool:
    """The subject is named as what varies ("changes in model size", "differences in the
    prompt format"): an effect of a change has no direction of more or less."""
    root = subject.root
    return (
        root.dep_ == "pobj"
        and root.head.lower_ in ("in", "of", "to", "across", "between")
        and root.head.head.lemma_.lower() in _VARIATIONS
    )


def _complement(cue: Token) -> Token | None:
    """The cue a cue of increase takes as its complement, which says what is raised or
    lowered ("helps reduce hallucination", "is effective at reducing toxicity")."""
    if cue_polarity(cue) != INCREASES:
        return None
    for child in cue.children:
        if child.dep_ == "xcomp" and child.pos_ == "VERB" and cue_polarity(child):
            return child
        if child.dep_ == "prep" and child.lower_ in ("at", "in", "for"):
            for grand in child.children:
                if grand.dep_ == "pcomp" and grand.pos_ == "VERB" and cue_polarity(grand):
                    return grand
    return None


def _acts(cue: Token, subject: Span) -> bool:
    """`cue` is a verb and `subject` lies in its (active or clausal) grammatical subject."""
    return cue.pos_ == "VERB" and any(
        child.dep_ in ("nsubj", "csubj")
        and child.left_edge.i <= subject.root.i <= child.right_edge.i
        for child in cue.children
    )


def refutes(sent: Span, subject: Span) -> bool:
    """Whether `sent` argues against the mechanism named by `subject`: the mechanism is
    negated ("non-Bayesian"), contrasted ("rather than gradient descent"), its verb negated,
    or the sentence reports a discrepancy or a gap."""
    if subject.text.lower().startswith("non"):
        return True
    before = sent.doc[max(sent.start, subject.start - 3) : subject.start]
    if any(t.lower_ in _CONTRASTS for t in before):
        return True
    if any(t.lower_ in _REFUTERS or t.lemma_.lower() in _REFUTERS for t in sent):
        return True
    return any(c.dep_ == "neg" for t in subject.root.ancestors for c in t.children)


def explain_polarity(sent: Span, subject: Span) -> Polarity:
    """`supports` unless the sentence refutes the mechanism (see `refutes`)."""
    return Polarity(REFUTES if refutes(sent, subject) else SUPPORTS, is_hedged(sent), None)
