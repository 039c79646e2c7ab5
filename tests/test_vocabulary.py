"""The vocabulary file: the shipped one loads; bad files fail naming the file and concept."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import ConfigError
from kg.evaluate import GOLD_VOCABULARY_IDS
from kg.vocabulary import load_vocabulary


def test_shipped_vocabulary_keeps_every_gold_id_and_validates() -> None:
    vocabulary = load_vocabulary()
    ids = {c.id for c in vocabulary}
    assert ids >= GOLD_VOCABULARY_IDS
    assert all(c.aliases or c.contextual for c in vocabulary)
    scale = vocabulary.get("factor:model-scale")
    assert any("scale" in g.aliases and "model" in g.context for g in scale.contextual)
    assert vocabulary.get("ability:reasoning").subsumed_by == ("ability:chain-of-thought",)
    assert vocabulary.get("factor:demonstration-order").categorical
    assert vocabulary.get("factor:reasoning-length").property_of == "ability:chain-of-thought"


def test_kg_vocabulary_environment_variable_selects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[[concept]]\nid = "ability:x"\nlabel = "X"\naliases = ["x"]\n', "utf-8")
    monkeypatch.setenv("KG_VOCABULARY", str(path))
    assert [c.id for c in load_vocabulary()] == ["ability:x"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('id = "ability:x"\nlabel = "X"\naliases = ["x"]\nbogus = 1', "unknown key 'bogus'"),
        ('id = "skill:x"\nlabel = "X"', "'id' must be 'kind:slug'"),
        ('id = "ability:x"\nlabel = "X"\naliases = "x"', "'aliases' must be a list"),
        (
            'id = "ability:x"\nlabel = "X"\n[[concept.contextual]]\naliases = ["scale"]',
            "'context' must be a non-empty list",
        ),
        (
            'id = "ability:x"\nlabel = "X"\n[[concept.contextual]]\naliases = ["s"]\n'
            'context = ["m"]\nwords = ["w"]',
            "unknown key 'words'",
        ),
        ('id = "ability:x"\nlabel = "X"\nsubsumed_by = ["ability:nope"]', "unknown concept"),
        ('id = "ability:x"\nlabel = "X"\ncategorical = "yes"', "'categorical' must be"),
        ('id = "ability:x"\nlabel = "X"\nproperty_of = "factor:y"', "'property_of' must be"),
        ('id = "ability:x"\nlabel = "X"\nproperty_of = "ability:nope"', "unknown concept"),
    ],
)
def test_invalid_concept_names_file_and_concept(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[[concept]]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_vocabulary(path)
    assert str(path) in str(err.value)
    assert "ability:x" in str(err.value) or "skill:x" in str(err.value)


def test_unreadable_vocabulary_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_vocabulary(tmp_path / "missing.toml")
    bad = tmp_path / "broken.toml"
    bad.write_text("[[concept]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_vocabulary(bad)
