"""Claims: which factor, mechanism or ability a paper says affects or explains which ability.

In every sentence that can state a result (title, findings, other result sentences; not
background, questions, methods or resources) and has an effect cue, each studied factor or
mechanism named there is paired with the ability or risk its effect cue governs (the nearest to
the cue in the parse, then to the subject; not one conjoined with the subject, "A and B improve
X"), or, when it names none, with the paper's main ability; a factor of another ability's
prompts (the length of a chain of thought) speaks of that ability (`PaperContext.reads_as`).
Two abilities pair through the parse: the grammatical subject of the cue's clause affects the
other ("CoT improves reasoning"). A studied mechanism, or a well-evidenced factor, that no
sentence pairs explicitly claims the main ability from its best-placed sentence. One claim per
(subject, relation, object), the most confident evidence kept. A survey states no claims, nor
does a title that names a topic or asks a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from spacy.tokens import Span, Token

from kg.extract.concepts import kind
from kg.extract.matching import Mention
from kg.extract.paper import PaperView, Sentence
from kg.extract.polarity import (
    DECREASES,
    INCREASES,
    MATTERS,
    NEGATIVE_SIDE_WORDS,
    POSITIVE_RISK_WORDS,
    REFUTES,
    SUPPORTS,
    Polarity,
    affect_polarity,
    cue_polarity,
    explain_polarity,
    is_hedged,
    nearest_cue,
    refutes,
    tree_distance,
)
from kg.extract.roles import Role, is_topic_title
from kg.extract.settings import is_setting
from kg.records import Relation

_CLAIM_ROLES = {Role.TITLE, Role.FINDING, Role.OTHER}
_ROLE_CONFIDENCE = {Role.FINDING: 0.8, Role.TITLE: 0.7, Role.OTHER: 0.6}
_DEFAULT_CONFIDENCE = 0.4
# A studied factor no sentence pairs explicitly claims the main ability from this much
# evidence of study (more than one finding mention).
DEFAULT_FACTOR_SCORE = 1.5
_BASELINE_MARKERS = {"than", "over", "versus", "vs", "vs.", "unlike", "compared", "against"}
_OUTPERFORM = {"outperform", "surpass", "beat", "exceed", "outpace"}


@dataclass(frozen=True)
class PaperContext:
    """What claim finding needs to know about the paper as a whole."""

    studied: frozenset[str]
    main: str | None
    scores: Mapping[str, float] = field(default_factory=dict)
    # Studied concepts read as the main ability (see concepts.yielding).
    yielding: frozenset[str] = frozenset()
    # Factors that vary in kind: a stated difference reads as `matters`.
    categorical: frozenset[str] = frozenset()
    # Factor -> the ability whose prompts or outputs it describes (see `reads_as`).
    property_of: Mapping[str, str] = field(default_factory=dict)
    # Concept -> the narrower concepts that subsume it (vocabulary `subsumed_by`).
    subsumed_by: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def reads_as(self, subject: str, obj: str) -> str:
        """The object a claim of `subject` on ability `obj` is about: a factor of another
        ability's prompts (the length of a chain of thought) speaks of that ability, when the
        paper studies it or it subsumes `obj` ("longer chains improve reasoning" is a finding
        on chain-of-thought). Risks stay as they are."""
        home = self.property_of.get(subject)
        if home is None or home == obj or kind(obj) != "ability":
            return obj
        if home in self.studied or home in self.subsumed_by.get(obj, frozenset()):
            return home
        return obj


@dataclass(frozen=True)
class FoundClaim:
    """A claim with its evidence sentence (offsets into title + "\\n" + abstract)."""

    subject: str
    relation: Relation
    object: str
    polarity: str
    hedged: bool
    confidence: float
    sentence: Sentence


def _span(sent: Sentence, mention: Mention) -> Span:
    return sent.span.doc[mention.start : mention.end]


def _named(sent: Sentence) -> frozenset[int]:
    """Tokens of the sentence that name a concept: part of a name, not a cue."""
    return frozenset(i for m in sent.mentions for i in range(m.start, m.end))


def _targets(sent: Sentence, studied: frozenset[str]) -> list[Mention]:
    """Abilities and risks a sentence names specifically (not through a contextual alias)."""
    return [
        m
        for m in sent.mentions
        if kind(m.concept) in ("ability", "risk")
        and not m.generic
        and (m.concept in studied or m.subsumed)
    ]


def _nearest(sent: Sentence, subject: Mention, targets: list[Mention], main: str | None) -> Mention:
    """The target the subject's effect cue governs: the closest to that cue in the parse ("X
    improves Y": Y is the object of "improves"), then the closest to the subject; the main
    ability wins a tie."""
    span = _span(sent, subject)
    cue = nearest_cue(sent.span, span, _named(sent))
    anchor = cue if cue is not None else span.root

    def key(target: Mention) -> tuple[int, int, bool, int]:
        root = _span(sent, target).root
        return (
            tree_distance(anchor, root),
            tree_distance(span.root, root),
            target.concept != main,
            target.start,
        )

    return min(targets, key=key)


def _clause_verb(tok: Token) -> Token:
    """The verb (or the root) of the clause a token is in."""
    while tok.pos_ not in ("VERB", "AUX") and tok.head.i != tok.i:
        tok = tok.head
    return tok


def _governs(cue: Token, subject: Span, obj: Span) -> bool:
    """`subject` is in the grammatical subject of the cue's clause, `obj` elsewhere in it."""
    verb = _clause_verb(cue)
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")]
    if not subjects and verb.dep_ in ("xcomp", "ccomp", "advcl", "conj"):
        subjects = [c for c in verb.head.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")]
    for subj in subjects:
        inside = range(subj.left_edge.i, subj.right_edge.i + 1)
        if subject.root.i in inside and obj.root.i not in inside and _heads(subject.root, subj):
            return verb.left_edge.i <= obj.root.i <= verb.right_edge.i
    return False


def _heads(tok: Token, subj: Token) -> bool:
    """`tok` is (part of) the head phrase of grammatical subject `subj`, not buried in one of
    its modifiers ("combining demonstrations with ICL" does not make ICL the subject)."""
    while tok.i != subj.i:
        if tok.dep_ == "pobj" and tok.head.lower_ in ("as", "like", "including"):
            tok = tok.head.head  # "prompting (such as chain of thought)": an example of it
            continue
        if tok.dep_ in ("prep", "pobj", "pcomp", "dobj", "acl", "relcl", "advcl"):
            return False
        tok = tok.head
    return True


def _ability_pairs(sent: Sentence, targets: list[Mention]) -> list[tuple[Mention, Mention]]:
    """(subject, object) abilities: the grammatical subject of an effect cue affects an
    ability or risk in the rest of the cue's clause ("CoT improves reasoning")."""
    cues = [t for t in sent.span if cue_polarity(t) is not None]
    pairs: list[tuple[Mention, Mention]] = []
    for subj in targets:
        if kind(subj.concept) != "ability":
            continue
        for obj in targets:
            if obj.concept != subj.concept and any(
                _governs(c, _span(sent, subj), _span(sent, obj)) for c in cues
            ):
                pairs.append((subj, obj))
    return pairs


def _coordination(tok: Token) -> int:
    """The index of the first conjunct of the coordination `tok` is in (its own if none)."""
    while tok.dep_ == "conj" and tok.head.i != tok.i:
        tok = tok.head
    return tok.i


def _conjoined(sent: Sentence, a: Mention, b: Mention) -> bool:
    """Two mentions are conjuncts of one coordination ("A and B improve X")."""
    root_a, root_b = _span(sent, a).root, _span(sent, b).root
    return root_a.i != root_b.i and _coordination(root_a) == _coordination(root_b)


def _is_baseline(span: Span) -> bool:
    """The mention is what something is compared against ("outperforms fine-tuning")."""
    heads = [span.root.head, span.root.head.head]
    beaten = span.root.dep_ == "dobj" and span.root.head.lemma_ in _OUTPERFORM
    return (
        beaten
        or span.root.head.lemma_ in ("baseline", "counterpart")
        or any(h.lower_ in _BASELINE_MARKERS for h in heads)
    )


def _acts_on_factor(sent: Sentence, subject: Mention) -> bool:
    """The subject, as the grammatical subject of its cue's clause, acts on another factor
    named in the predicate ("larger models rely more on shortcuts", "instruction tuning
    reduces the sensitivity to the prompt format"): the finding is about that factor's role,
    not about the paper's main ability."""
    span = _span(sent, subject)
    cue = nearest_cue(sent.span, span, _named(sent))
    verb = _clause_verb(cue if cue is not None else span.root)
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")]
    inside = [s for s in subjects if s.left_edge.i <= span.root.i <= s.right_edge.i]
    if not inside:
        return False
    phrase = range(inside[0].left_edge.i, inside[0].right_edge.i + 1)
    return any(
        kind(m.concept) == "factor"
        and m.concept != subject.concept
        and m.start not in phrase
        and _in_clause(_span(sent, m).root, verb)
        for m in sent.mentions
    )


def _in_clause(tok: Token, verb: Token) -> bool:
    """`tok` belongs to `verb`'s own clause (its objects and complements), not to a clause
    subordinate to or conjoined with it."""
    while tok.i != verb.i:
        if tok.dep_ in ("advcl", "conj", "relcl", "acl", "ccomp", "parataxis", "npadvmod"):
            return False
        if tok.head.i == tok.i:
            return False
        tok = tok.head
    return True


def _is_cause(sent: Sentence, mention: Mention) -> bool:
    """The mention can be the cause of an effect: it is neither a baseline, nor what a verb of
    change acts on, nor a setting or regime, nor a concession."""
    span = _span(sent, mention)
    return not (
        _is_baseline(span)
        or _is_affected(span)
        or is_setting(span)
        or _concession(span)
        or _names_regime(span)
    )


# Nouns of a regime a result holds in ("specific to the instruction tuning setting").
_REGIME_NOUNS = {"setting", "regime", "scenario", "condition", "setup"}


def _names_regime(span: Span) -> bool:
    """The mention modifies a noun of regime ("the instruction tuning setting", "in the
    few-shot regime"): it says where the result holds, not what causes it."""
    root = span.root
    return root.dep_ in ("compound", "amod", "nmod") and root.head.lemma_.lower() in _REGIME_NOUNS


def _concession(span: Span) -> bool:
    """The mention is in a concessive phrase ("the gap remains even when increasing model
    size", "even with more demonstrations"): the result holds despite it, not because of it."""
    for anc in [span.root, *span.root.ancestors]:
        if anc.dep_ in ("prep", "advcl") and span.doc[anc.left_edge.i].lower_ == "even":
            return True
        if anc.dep_ in ("ROOT", "relcl", "ccomp"):
            break
    return False


def _is_affected(span: Span) -> bool:
    """The mention is what a verb of increase or decrease changes, not what changes something:
    the object of a finite cue verb with a subject of its own ("GRPO increases response
    length", "RL reduces the number of reasoning steps"). Not when the verb is itself the cause
    ("increasing the number of demonstrations improves ICL") or the authors act ("we increase
    the model size")."""
    tok = span.root
    while tok.dep_ == "pobj" and tok.head.lower_ == "of" and tok.head.head.pos_ == "NOUN":
        tok = tok.head.head  # "the number of reasoning steps"
    if tok.dep_ != "dobj":
        return False
    verb = tok.head
    if verb.pos_ != "VERB" or verb.tag_ == "VBG":
        return False
    if cue_polarity(verb) not in (INCREASES, DECREASES):
        return False
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "csubj")]
    return bool(subjects) and all(c.lower_ not in ("we", "us", "one") for c in subjects)


def _reversed(subject: Span, concept: str, obj: Span | None) -> bool:
    """The subject is named by its opposite or the object (a risk) by its positive side."""
    words = {t.lower_ for t in subject}
    opposite = any(w in NEGATIVE_SIDE_WORDS and w not in concept for w in words)
    positive = obj is not None and any(t.lower_ in POSITIVE_RISK_WORDS for t in obj)
    return opposite != positive


def _claim(
    sent: Sentence,
    subject: Mention,
    obj: str,
    obj_mention: Mention | None,
    categorical: frozenset[str] = frozenset(),
) -> FoundClaim:
    """The claim `subject` -> `obj` stated by `sent` (object named by `obj_mention`, if any)."""
    span = _span(sent, subject)
    relation: Relation = "explains" if kind(subject.concept) == "mechanism" else "affects"
    pol: Polarity
    if relation == "explains":
        pol = explain_polarity(sent.span, span)
    else:
        obj_span = _span(sent, obj_mention) if obj_mention is not None else None
        reverse = _reversed(span, subject.concept, obj_span)
        pol = affect_polarity(sent.span, span, reverse, _named(sent))
        # A factor that varies in kind reads as `matters`, unless one named variant acts
        # ("looped transformers improve ICL"): two variants compared ("transformers outperform
        # recurrent models") or a variant that performance varies with still read as `matters`.
        named_once = sum(m.concept == subject.concept for m in sent.mentions) == 1
        if (
            subject.concept in categorical
            and pol.polarity in (INCREASES, DECREASES)
            and not (pol.agent and named_once)
        ):
            pol = replace(pol, polarity=MATTERS)
    confidence = _ROLE_CONFIDENCE.get(sent.role, 0.5) - (0.1 if pol.hedged else 0.0)
    if pol.cue is None and relation == "affects":
        confidence -= 0.1
    return FoundClaim(
        subject.concept, relation, obj, pol.polarity, pol.hedged, round(confidence, 2), sent
    )


def sentence_claims(sent: Sentence, ctx: PaperContext) -> list[FoundClaim]:
    """Claims one sentence states about the paper's studied concepts."""
    if sent.role not in _CLAIM_ROLES or sent.span.text.rstrip().endswith("?"):
        return []
    if sent.role is Role.TITLE and is_topic_title(sent.span.text):
        return []
    if not any(cue_polarity(t) is not None for t in sent.span):
        return []
    targets = _targets(sent, ctx.studied)
    pairs = [
        (s, o)
        for s, o in _ability_pairs(sent, targets)
        if s.concept not in ctx.yielding
        and not s.subsumed
        and (s.concept == ctx.main or o.subsumed or o.concept not in ctx.yielding)
    ]
    targets = [t for t in targets if t.concept not in ctx.yielding and not t.subsumed]
    found: list[FoundClaim] = []
    seen: set[str] = set()
    for subj in sent.mentions:
        if (
            subj.concept in seen
            or subj.concept not in ctx.studied
            or kind(subj.concept) not in ("factor", "mechanism")
        ):
            continue
        if not _is_cause(sent, subj):
            continue  # a later mention of the concept may name it as a cause
        seen.add(subj.concept)
        objects = [
            t for t in targets if kind(subj.concept) != "mechanism" or kind(t.concept) == "ability"
        ]
        if objects and all(_conjoined(sent, subj, t) for t in objects):
            continue  # "ICL and instruction tuning enhance X": co-subjects, X not a concept
        objects = [t for t in objects if not _conjoined(sent, subj, t)]
        if _acts_on_factor(sent, subj):
            continue
        if objects:
            target = _nearest(sent, subj, objects, ctx.main)
            obj = ctx.reads_as(subj.concept, target.concept)
            found.append(_claim(sent, subj, obj, target, ctx.categorical))
        elif ctx.main is not None:
            obj = ctx.reads_as(subj.concept, ctx.main)
            found.append(_claim(sent, subj, obj, None, ctx.categorical))
    found.extend(_claim(sent, s, o.concept, o) for s, o in pairs)
    return found


def _best_sentence(paper: PaperView, concept: str, as_cause: bool = False) -> Sentence | None:
    """The best-placed sentence naming `concept` (with `as_cause`, naming it other than as a
    baseline or as what something changes)."""
    order = [Role.FINDING, Role.TITLE, Role.OTHER, Role.METHOD, Role.QUESTION, Role.BACKGROUND]
    named = [
        s
        for s in paper.sentences
        if concept in s.concepts
        and s.role in order
        and (not as_cause or any(_is_cause(s, m) for m in s.mentions if m.concept == concept))
    ]
    return min(named, key=lambda s: (order.index(s.role), s.position)) if named else None


def _can_state_result(sent: Sentence) -> bool:
    """The sentence states a result: a finding, or a title that does not just name a topic or
    ask a question (a sentence with no cue of a finding only describes what is analysed)."""
    if sent.role is Role.TITLE:
        return not is_topic_title(sent.span.text)
    return sent.role is Role.FINDING


def _refuting_sentence(paper: PaperView, concept: str) -> Sentence | None:
    """A result sentence of the paper that argues against mechanism `concept`, if any."""
    for sent in paper.sentences:
        if sent.role not in _CLAIM_ROLES:
            continue
        for m in sent.mentions:
            if m.concept == concept and refutes(sent.span, _span(sent, m)):
                return sent
    return None


def _default_claims(
    paper: PaperView, ctx: PaperContext, main: str, claimed: set[str]
) -> list[FoundClaim]:
    """Claims on the main ability for studied mechanisms (explains) and well-evidenced factors
    (affects) that no sentence pairs explicitly; evidence is their best-placed sentence, which
    for a mechanism must be able to state a result."""
    found: list[FoundClaim] = []
    for concept in sorted(ctx.studied - claimed):
        sent = _best_sentence(paper, concept, as_cause=kind(concept) == "factor")
        if sent is None:
            continue
        if kind(concept) == "mechanism":
            if not _can_state_result(sent):
                continue  # named only where no result is stated
            hedged = is_hedged(sent.span)
            found.append(
                FoundClaim(concept, "explains", main, SUPPORTS, hedged, _DEFAULT_CONFIDENCE, sent)
            )
        elif kind(concept) == "factor" and ctx.scores.get(concept, 0.0) >= DEFAULT_FACTOR_SCORE:
            mention = next(m for m in sent.mentions if m.concept == concept and _is_cause(sent, m))
            claim = _claim(sent, mention, ctx.reads_as(concept, main), None, ctx.categorical)
            found.append(replace(claim, confidence=_DEFAULT_CONFIDENCE))
    return found


def _agreed(claims: list[FoundClaim]) -> FoundClaim:
    """One claim from the sentences stating the same (subject, relation, object): the polarity
    with the most confidence summed over them, evidenced by its most confident sentence."""
    weight: dict[str, float] = {}
    for claim in claims:
        weight[claim.polarity] = weight.get(claim.polarity, 0.0) + claim.confidence
    polarity = max(
        weight, key=lambda p: (weight[p], max(c.confidence for c in claims if c.polarity == p))
    )
    return max((c for c in claims if c.polarity == polarity), key=lambda c: c.confidence)


def find_claims(paper: PaperView, ctx: PaperContext) -> list[FoundClaim]:
    """One claim per (subject, relation, object), its polarity agreed over the sentences that
    state it; then the default claims on the main ability; a mechanism is refuted if any
    result sentence argues against it. A survey states none."""
    if paper.survey:
        return []  # a survey reports others' findings, not its own
    stated: dict[tuple[str, Relation, str], list[FoundClaim]] = {}
    for sent in paper.sentences:
        for claim in sentence_claims(sent, ctx):
            stated.setdefault((claim.subject, claim.relation, claim.object), []).append(claim)
    best = {key: _agreed(claims) for key, claims in stated.items()}
    if ctx.main is not None:
        claimed = {s for s, _, _ in best}
        for claim in _default_claims(paper, ctx, ctx.main, claimed):
            best[(claim.subject, claim.relation, claim.object)] = claim
    claims = list(best.values())
    for n, claim in enumerate(claims):
        if claim.relation == "explains" and claim.polarity == SUPPORTS:
            against = _refuting_sentence(paper, claim.subject)
            if against is not None:
                claims[n] = replace(claim, polarity=REFUTES, sentence=against)
    return sorted(claims, key=lambda c: (c.sentence.start, c.subject, c.object))
