"""Pipeline definitions: the default validates; bad keys and types name file and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kg.config import load_pipeline
from kg.errors import ConfigError
from tests.conftest import DEFAULT_PIPELINE, REPO

MINIMAL = '[pipeline]\nname = "t"\ntopic = "T"\noutput = "out"\n'


def test_the_default_pipeline_loads_into_typed_config() -> None:
    config = load_pipeline()
    assert config.path == DEFAULT_PIPELINE
    assert config.name == "emergent_abilities"
    assert config.pipeline.output == REPO / "graphs" / "emergent_abilities"
    assert config.pipeline.snapshot == REPO / "pipelines" / "emergent_abilities" / "snapshot"
    assert config.arxiv.date_floor == date(2019, 1, 1)
    assert config.arxiv.queries and config.semantic_scholar.seed_ids
    assert config.snowball.min_citing >= 1


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    file = tmp_path / "p.toml"
    file.write_text(MINIMAL)
    assert load_pipeline(file).pipeline.output == tmp_path / "out"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[arxiv]\nquerys = ["x"]\n', r"p\.toml: arxiv\.querys: unknown key"),
        ("[arxiv]\npage_size = 5000\n", r"arxiv\.page_size must be 1\.\.2000"),
        ('[arxiv]\npage_size = "big"\n', r"arxiv\.page_size must be a non-negative integer"),
        ('[arxiv]\ndate_floor = "last year"\n', r"arxiv\.date_floor must be a date"),
        ("[semantic_scholar]\nqueries = 3\n", r"semantic_scholar\.queries must be a list"),
        ("[snowbal]\ndepth = 1\n", r"\[snowbal\]: unknown section"),
    ],
)
def test_bad_keys_and_types_name_the_file_and_key(tmp_path: Path, extra: str, message: str) -> None:
    file = tmp_path / "p.toml"
    file.write_text(MINIMAL + extra)
    with pytest.raises(ConfigError, match=message):
        load_pipeline(file)


def test_missing_required_key_and_bad_toml(tmp_path: Path) -> None:
    file = tmp_path / "p.toml"
    file.write_text('[pipeline]\nname = "t"\ntopic = "T"\n')
    with pytest.raises(ConfigError, match=r"pipeline\.output: required key is missing"):
        load_pipeline(file)
    file.write_text("[pipeline\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_pipeline(file)
    with pytest.raises(ConfigError, match="pipeline file not found"):
        load_pipeline(tmp_path / "absent.toml")
