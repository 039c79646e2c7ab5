"""Pipeline definitions (`pipelines/<topic>.toml`) loaded into typed, validated config.

An unknown key or a value of the wrong type is a `ConfigError` naming the file and the key.
Relative paths in the file are relative to the file itself.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PIPELINE = REPO_ROOT / "pipelines" / "emergent_abilities.toml"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class PipelineSection:
    name: str
    topic: str
    output: Path
    snapshot: Path | None = None
    vocabulary: Path | None = None


@dataclass(frozen=True)
class ArxivSection:
    queries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    date_floor: date | None = None
    page_size: int = 200
    overlap_days: int = 3
    # Politeness and robustness (see README "Harvesting"); arXiv asks for >= 3 s between calls.
    request_interval: float = 3.0
    timeout: float = 30.0
    max_per_query: int = 30000


@dataclass(frozen=True)
class SemanticScholarSection:
    queries: tuple[str, ...] = ()
    fields_of_study: tuple[str, ...] = ()
    year_floor: int | None = None
    seed_ids: tuple[str, ...] = ()
    overlap_days: int = 30
    batch_size: int = 500
    citations_limit: int = 1000
    refresh_days: int = 30
    request_interval: float = 1.0
    timeout: float = 30.0


@dataclass(frozen=True)
class SnowballSection:
    min_citing: int = 3
    depth: int = 1


@dataclass(frozen=True)
class HarvestSection:
    """Retries and resumption shared by the online sources."""

    max_tries: int = 5
    backoff: float = 2.0
    backoff_cap: float = 120.0
    retry_after_cap: float = 600.0
    give_up_after: int = 3
    resume_hours: int = 24


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline definition."""

    path: Path
    pipeline: PipelineSection
    arxiv: ArxivSection = field(default_factory=ArxivSection)
    semantic_scholar: SemanticScholarSection = field(default_factory=SemanticScholarSection)
    snowball: SnowballSection = field(default_factory=SnowballSection)
    harvest: HarvestSection = field(default_factory=HarvestSection)

    @property
    def name(self) -> str:
        return self.pipeline.name


_SECTIONS: dict[str, type] = {
    "pipeline": PipelineSection,
    "arxiv": ArxivSection,
    "semantic_scholar": SemanticScholarSection,
    "snowball": SnowballSection,
    "harvest": HarvestSection,
}


def _convert(value: Any, annotation: Any, base: Path, where: str) -> Any:
    """Check `value` against a field annotation and convert it; raise naming `where`."""
    hint = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    if hint:  # X | None
        if value is None:
            return None
        annotation = next(a for a in hint if a is not type(None))
    if annotation is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a path string, got {value!r}")
        return (base / value).resolve()
    if annotation is date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a date like 2020-01-31, got {value!r}")
    if typing.get_origin(annotation) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, got {value!r}")
        return tuple(value)
    if annotation is float:
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{where} must be a non-negative number, got {value!r}")
        return float(value)
    if annotation is int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{where} must be a non-negative integer, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
        return value
    raise AssertionError(annotation)


def _section(cls: type, data: Any, base: Path, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
    values = {}
    for name, spec in known.items():
        if name in data:
            values[name] = _convert(data[name], hints[name], base, f"{where}.{name}")
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise ConfigError(f"{where}.{name}: required key is missing")
    return cls(**values)


def load_pipeline(path: str | Path | None = None) -> PipelineConfig:
    """Read and validate a pipeline file (default: the emergent-abilities pipeline)."""
    file = Path(path) if path is not None else DEFAULT_PIPELINE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: pipeline file not found; pass --pipeline FILE") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    base = file.resolve().parent
    for key in data:
        if key not in _SECTIONS:
            raise ConfigError(f"{file}: [{key}]: unknown section (known: {', '.join(_SECTIONS)})")
    if "pipeline" not in data:
        raise ConfigError(f"{file}: [pipeline]: required section is missing")
    sections = {
        key: _section(cls, data[key], base, f"{file}: {key}")
        for key, cls in _SECTIONS.items()
        if key in data
    }
    if not _NAME.fullmatch(sections["pipeline"].name):
        raise ConfigError(
            f"{file}: pipeline.name must be lower-case letters, digits, '_' or '-', "
            f"got {sections['pipeline'].name!r}"
        )
    arxiv = sections.get("arxiv")
    if arxiv and not 1 <= arxiv.page_size <= 2000:
        raise ConfigError(f"{file}: arxiv.page_size must be 1..2000 (the API's limit)")
    if arxiv and not arxiv.page_size <= arxiv.max_per_query <= 30000:
        raise ConfigError(f"{file}: arxiv.max_per_query must be page_size..30000 (the API's limit)")
    s2 = sections.get("semantic_scholar")
    if s2 and not 1 <= s2.batch_size <= 500:
        raise ConfigError(f"{file}: semantic_scholar.batch_size must be 1..500 (the API's limit)")
    harvest = sections.get("harvest")
    if harvest and harvest.max_tries < 1:
        raise ConfigError(f"{file}: harvest.max_tries must be at least 1")
    return PipelineConfig(path=file.resolve(), **sections)
