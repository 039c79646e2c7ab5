"""Sentence roles in an abstract: what a sentence does, read from its cue phrases.

A finding ("we find that", "results suggest") states a result; a question or a method sentence
says what the paper studies; background (motivation, related work, "has been shown") and
resource sentences ("code is available at") say neither. Titles are their own role. A survey
(`is_survey`) states no findings of its own; what it says it covers is what it studies.
"""

from __future__ import annotations

import re
from enum import Enum

from spacy.tokens import Span


class Role(Enum):
    """What a sentence contributes to a paper's findings."""

    TITLE = "title"
    FINDING = "finding"
    METHOD = "method"
    QUESTION = "question"
    BACKGROUND = "background"
    RESOURCE = "resource"
    OTHER = "other"


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_ADV = r"(?:also |further |then |first |additionally |empirically |consistently |now |"
_ADV += r"theoretically |experimentally |surprisingly |indeed |thus |instead |finally |clearly )?"
_FINDING = _any(
    rf"\bwe {_ADV}(?:find|found|show|showed|demonstrate|observe|discover|reveal|prove|establish"
    r"|identify|uncover|confirm|verify|report|conclude|notice|see that|argue that|"
    r"provide (?:\w+ )?evidence|present (?:\w+ )?evidence|highlight|characteri[sz]e|derive|"
    r"obtain|determine|estimate that|hypothesi[sz]e that|show that|make the (?:\w+ )?observation)",
    r"\b(?:results?|findings?|experiments?|analys[ie]s|evidence|observations?|investigations?|"
    r"study|studies|ablations?|theory|experimentation|work|paper|evaluation)"
    r" (?:\w+ ){0,2}(?:show|shows|suggest|suggests|indicate|indicates|demonstrate|demonstrates|"
    r"reveal|reveals|confirm|confirms|support|supports|highlight|highlights|uncover|uncovers|"
    r"establish|establishes|imply|implies|provide|provides|point|exhibit|exhibits|explain|"
    r"explains|predict|predicts|account for|accounts for)\b",
    r"\b(?:has|have|had) (?:a |an )?(?:\w+ )?(?:minimal|little|no|negligible|significant|"
    r"substantial|large|strong|marginal|limited|small|dramatic) (?:effects?|impacts?|influence)\b",
    r"\bthis (?:suggests|indicates|shows|implies|means|explains|reveals)\b",
    r"\b(?:surprisingly|interestingly|remarkably|notably|importantly|crucially|counter-?intuitively)\b",
    r"\b(?:we|our \w+) (?:\w+ ){0,3}(?:outperform|outperforms|improves?|achieves?|yields?|surpass"
    r"|surpasses|boosts?|reduces?|increases?|decreases?|enhances?|enables?|matches|leads? to)\b",
    r"\bit turns out\b",
    r"\b(?:showing|finding|establishing|revealing|demonstrating|confirming|proving|"
    r"observing|discovering|concluding) that\b",
)
_FINDING_WEAK = _any(
    r"^(?:thus|therefore|hence|consequently|overall|together|in sum|in summary|taken together)\b",
    r"\b(?:finds?|found|shows?|showed|shown|demonstrates?|demonstrated|reveals?|revealed|"
    r"observed?|confirms?|indicates?|suggests?|establish(?:es)?|discover(?:s|ed)?|"
    r"uncover(?:s|ed)?|proves?) that\b",
)
_BACKGROUND = _any(
    r"\b(?:recent|prior|previous|existing|earlier|past|much|related|some) (?:\w+ )?(?:work|works|"
    r"studies|research|literature|approaches|methods|papers|findings|efforts)\b",
    r"\b(?:has|have) (?:\w+ )?been (?:shown|proposed|observed|argued|suggested|demonstrated|"
    r"found|reported|hypothesi[sz]ed|attributed|linked)\b",
    r"\b(?:is|are) (?:commonly |widely |generally |often |typically )?(?:believed|thought|assumed"
    r"|argued|known|considered)\b",
    r"\bconventional wisdom\b|\bet al\b|\bit is (?:commonly|widely|generally|often) \w+",
    r"\b(?:remains?|is|are) (?:still |largely |yet |currently |not )*(?:unclear|elusive|"
    r"poorly understood|not well understood|unknown|underexplored|unexplored|an open question|"
    r"limited|lacking|debated|a mystery|mysterious)\b",
    r"\blittle (?:is known|understanding|work)\b|\bhas (?:recently )?(?:emerged|attracted)\b",
    r"\b(?:work|works|studies|research|literature|papers?|authors)(?: \w+){0,4} (?:has|have) "
    r"(?:\w+ )?(?:found|shown|demonstrated|observed|suggested|argued|reported|claimed)\b",
    r"^however, (?:\w+ ){0,8}(?:unclear|remains|little|few|not)\b",
    r"^(?:the|a|one|our) (?:\w+ )?hypothesis is\b",
    r"\bin contrast to (?:the )?(?:mainstream|existing|prior|previous|conventional|standard|"
    r"current|common|typical)\b",
)
# Common practice ("models are typically prompted with ..."): background even in a sentence
# that names the paper's own setup.
_PRACTICE = re.compile(
    r"\b(?:is|are) (?:typically|usually|commonly|conventionally|traditionally) \w+(?:ed|en)\b"
)
_QUESTION = _any(
    r"\?",
    r"\bwe (?:\w+ )?(?:ask|investigate|study|explore|examine|analy[sz]e|probe|evaluate|test|"
    r"measure|consider|focus|seek|aim|revisit|compare|characteri[sz]e|quantify|question|review|"
    r"survey|systematically|take a|conduct|perform|run|benchmark|track|dissect|re-?examine)\b",
    r"\b(?:this|our) (?:paper|work|study|survey|review|analysis) (?:\w+ )?(?:studies|investigates|"
    r"explores|examines|aims|asks|focuses|analy[sz]es|presents|provides|discusses|reviews|seeks)\b",
    r"\bwhether\b|\bthe question\b|\bto (?:understand|investigate|study|explore)\b",
)
_METHOD = _any(
    r"\bwe (?:\w+ )?(?:propose|introduce|present|develop|design|construct|build|train|create|"
    r"release|use|leverage|employ|devise|define|formali[sz]e|curate|collect|offer|extend|"
    r"apply|generate|fine-?tune|combine|derive|frame)\b",
    r"\b(?:our|the proposed|this) (?:\w+ )?(?:method|approach|framework|technique|model|"
    r"algorithm|procedure|pipeline|benchmark|dataset)\b",
)
_RESOURCE = _any(
    r"https?://|www\.|github|\.com\b|\.io\b",
    r"\b(?:code|data|datasets?|models?|checkpoints?|benchmark|implementation|prompts)"
    r"(?: \w+){0,6} (?:is|are|will be) (?:\w+ )?(?:publicly |freely |openly )?"
    r"(?:available|released)",
    r"\bwe (?:publicly |also )?(?:release|open-?source)\b|\bavailable at\b",
)


_SURVEY_TITLE = re.compile(
    r"^(?:survey|review)\b|\b(?:survey|review) (?:of|on)\b|\ban? (?:\w+ ){0,2}(?:survey|review)\b|"
    r"(?:survey|review)\W*$",
    re.IGNORECASE,
)
_SURVEY = re.compile(
    r"\b(?:this|our) (?:survey|review)\b|"
    r"\b(?:we|paper|work) (?:present|presents|provide|provides|offer|offers|conduct|conducts) "
    r"an? (?:\w+ ){0,3}(?:survey|review)\b",
    re.IGNORECASE,
)


_TOPIC_TITLE = re.compile(
    r"^(?:towards?|exploring|explore|understanding|on|investigating|analy[sz]ing|quantifying|"
    r"measuring|probing|rethinking|revisiting|what|how|why|when|which|do|does|is|are|can|"
    r"an? (?:\w+ )?(?:study|analysis|investigation|exploration|survey|review))\b",
    re.IGNORECASE,
)


def is_topic_title(title: str) -> bool:
    """The title names a topic or asks a question ("Exploring the relationship between ...",
    "Which heads matter?") rather than stating a result."""
    return "?" in title or bool(_TOPIC_TITLE.search(title.strip()))


def is_survey(title: str, sentences: list[str]) -> bool:
    """The paper presents itself as a survey or review ("A Survey of ...", "this survey")."""
    return bool(_SURVEY_TITLE.search(title)) or any(_SURVEY.search(s) for s in sentences)


def sentence_role(sent: Span, first: bool = False) -> Role:
    """The role of an abstract sentence; `first` marks the abstract's first sentence."""
    text = sent.text.strip().lower()
    if _RESOURCE.search(text):
        return Role.RESOURCE
    if _FINDING.search(text):
        return Role.FINDING
    if _PRACTICE.search(text):
        return Role.BACKGROUND
    we = re.search(r"\b(?:we|our|us|this paper|this work|this study|in this)\b", text)
    if _BACKGROUND.search(text) and not we:
        return Role.BACKGROUND
    if _FINDING_WEAK.search(text):
        return Role.FINDING
    if _QUESTION.search(text):
        return Role.QUESTION
    if _METHOD.search(text):
        return Role.METHOD
    if first and not we:
        return Role.BACKGROUND
    return Role.OTHER
