"""Which concepts a paper studies, as opposed to merely mentions, and its main ability.

Evidence of study is weighted by where a concept is named: the title counts most, then finding
sentences, then other result sentences; method, question, motivation and related-work sentences
count half (a survey's count fully: they say what it covers), resource sentences nothing. A
mention through a contextual alias, or of a factor as the setting of a result, counts less
than a specific one, an ability or risk named as one item of an enumeration nothing; each
sentence counts once per concept. Abilities need less evidence than factors and mechanisms (a
paper names its ability in passing, its factors only when it varies them). The weights were
set on the dev set and checked on its even and odd halves.
"""

from __future__ import annotations

from collections import defaultdict

from kg.extract.matching import Mention
from kg.extract.paper import PaperView, Sentence
from kg.extract.roles import Role
from kg.extract.settings import is_setting

ROLE_WEIGHT: dict[Role, float] = {
    Role.TITLE: 1.5,
    Role.FINDING: 1.0,
    Role.OTHER: 0.75,
    Role.METHOD: 0.5,
    Role.QUESTION: 0.5,
    Role.BACKGROUND: 0.5,
    Role.RESOURCE: 0.0,
}
# A survey's questions, methods and motivation say what it covers, which is what it studies.
SURVEY_ROLE_WEIGHT = {**ROLE_WEIGHT, Role.QUESTION: 1.0, Role.METHOD: 1.0, Role.BACKGROUND: 1.0}
GENERIC_WEIGHT = 0.75
# An ability or risk named as one item of an enumeration ("tasks ranging from translation,
# summarization to reasoning") is named in passing; a listed factor may be the finding ("the
# label space, the input distribution and the format drive performance").
LISTED_WEIGHT = {"ability": 0.0, "risk": 0.0, "factor": 1.0, "mechanism": 1.0}
THRESHOLD = 1.0
# A factor named only as the setting of a result ("with much smaller models") counts like a
# generic mention: one such finding sentence is not evidence that the paper varies it.
SETTING_WEIGHT = 0.75
KIND_OFFSET = {"ability": -0.5, "factor": 0.0, "mechanism": 0.0, "risk": -0.5}
# An ability with less than full evidence is named in passing when the paper's best-evidenced
# ability has over 1 / PASSING_SHARE times its evidence (a reasoning paper naming CoT once).
PASSING_SHARE = 0.15


def kind(concept: str) -> str:
    """The kind of a concept id ("factor:model-scale" -> "factor")."""
    return concept.split(":", 1)[0]


def _names_setting(sent: Sentence, mention: Mention) -> bool:
    """A factor named as the setting of a result ("similar gains with smaller models")."""
    return kind(mention.concept) == "factor" and is_setting(
        sent.span.doc[mention.start : mention.end]
    )


def study_scores(paper: PaperView) -> dict[str, float]:
    """Evidence that the paper studies each concept it names. An ability named only in
    motivation or related work counts only when the paper names no ability elsewhere (the
    first sentence often introduces the ability the paper is about)."""
    scores: dict[str, float] = defaultdict(float)
    outside: set[str] = set()
    role_weight = SURVEY_ROLE_WEIGHT if paper.survey else ROLE_WEIGHT
    for sent in paper.sentences:
        specific: dict[str, bool] = {}
        listed: dict[str, bool] = {}
        setting: dict[str, bool] = {}
        for m in sent.mentions:
            if m.subsumed:
                continue
            specific[m.concept] = specific.get(m.concept, False) or not m.generic
            listed[m.concept] = listed.get(m.concept, True) and m.listed
            setting[m.concept] = setting.get(m.concept, True) and _names_setting(sent, m)
        for concept, is_specific in specific.items():
            weight = role_weight[sent.role] * (1.0 if is_specific else GENERIC_WEIGHT)
            if setting[concept]:
                weight *= SETTING_WEIGHT
            if listed[concept]:
                weight *= LISTED_WEIGHT[kind(concept)]
            if weight == 0.0:
                continue
            scores[concept] += weight
            if sent.role is not Role.RESOURCE and (
                paper.survey or sent.role is not Role.BACKGROUND
            ):
                outside.add(concept)
    if any(kind(c) == "ability" for c in outside):
        return {c: s for c, s in scores.items() if c in outside or kind(c) != "ability"}
    return dict(scores)


def studied_concepts(scores: dict[str, float]) -> set[str]:
    """Concepts whose evidence reaches the threshold of their kind; an ability that needs the
    lower threshold only if it is not in the shadow of a much better evidenced one."""
    top = max((s for c, s in scores.items() if kind(c) == "ability"), default=0.0)
    return {
        c
        for c, s in scores.items()
        if s >= THRESHOLD + KIND_OFFSET.get(kind(c), 0.0)
        and (kind(c) != "ability" or s >= THRESHOLD or s >= PASSING_SHARE * top)
    }


def main_ability(scores: dict[str, float], studied: set[str]) -> str | None:
    """The studied ability with the most evidence (None if the paper studies none)."""
    abilities = [c for c in studied if kind(c) == "ability"]
    return max(abilities, key=lambda c: (scores[c], c)) if abilities else None


def yielding(
    studied: set[str], main: str | None, subsumed_by: dict[str, frozenset[str]]
) -> set[str]:
    """Studied concepts the main ability subsumes (reasoning in a chain-of-thought paper): they
    are read as the main ability unless a sentence says the main ability affects them."""
    return {c for c in studied if main is not None and main in subsumed_by.get(c, frozenset())}
