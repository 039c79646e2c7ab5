"""The concept vocabulary: abilities, factors, mechanisms and risks with their aliases.

The default is `kg/vocabulary.toml`; `KG_VOCABULARY` or a pipeline's `vocabulary` key points to
another file with the same shape. Concept ids (`kind:slug`) are stable.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigError
from kg.records import KINDS, Concept, ContextualAliases

DEFAULT_PATH = Path(__file__).with_name("vocabulary.toml")
_CONCEPT_KEYS = {
    "id", "label", "aliases", "unverified_aliases", "contextual", "subsumed_by", "categorical",
    "property_of", "note", "sources",
}  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """Concepts by id, in file order."""

    concepts: tuple[Concept, ...]
    path: Path

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts)

    def __len__(self) -> int:
        return len(self.concepts)

    def __contains__(self, concept_id: object) -> bool:
        return any(c.id == concept_id for c in self.concepts)

    def get(self, concept_id: str) -> Concept:
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)


def _contextual(groups: object, where: str) -> list[ContextualAliases]:
    """The [[concept.contextual]] tables of a concept: each needs aliases and context words."""
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise ConfigError(f"{where}: 'contextual' must be [[concept.contextual]] tables")
    out: list[ContextualAliases] = []
    for group in groups:
        unknown = set(group) - {"aliases", "context"}
        if unknown:
            raise ConfigError(f"{where}: contextual: unknown key {sorted(unknown)[0]!r}")
        aliases, context = group.get("aliases"), group.get("context")
        for key, value in (("aliases", aliases), ("context", context)):
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                raise ConfigError(
                    f"{where}: contextual: {key!r} must be a non-empty list of strings "
                    "(generic aliases, and the words that must occur near them)"
                )
        assert isinstance(aliases, list) and isinstance(context, list)
        out.append(ContextualAliases(tuple(aliases), tuple(w.lower() for w in context)))
    return out


def resolve_path(path: str | Path | None = None) -> Path:
    """The vocabulary file to use: an explicit path, else `KG_VOCABULARY`, else the default."""
    if path is not None:
        return Path(path)
    env = os.environ.get("KG_VOCABULARY")
    return Path(env) if env else DEFAULT_PATH


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Read and validate a vocabulary file; errors name the file and the concept."""
    file = resolve_path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: vocabulary file not found; set KG_VOCABULARY to a file"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    entries = data.get("concept")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{file}: expected one or more [[concept]] tables")
    concepts: list[Concept] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{file}: concept #{n}: expected a [[concept]] table")
        where = f"{file}: concept #{n} ({entry.get('id', '?')})"
        unknown = set(entry) - _CONCEPT_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        cid = entry.get("id")
        if not isinstance(cid, str) or cid.split(":", 1)[0] not in KINDS or ":" not in cid:
            raise ConfigError(f"{where}: 'id' must be 'kind:slug' with kind in {list(KINDS)}")
        if cid in seen:
            raise ConfigError(f"{where}: duplicate id {cid!r}")
        seen.add(cid)
        label = entry.get("label")
        if not isinstance(label, str) or not label:
            raise ConfigError(f"{where}: 'label' must be a non-empty string")
        lists = {key: entry.get(key, []) for key in ("aliases", "subsumed_by")}
        for key, value in lists.items():
            if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
                raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings")
        contextual = tuple(_contextual(entry.get("contextual", []), where))
        note = entry.get("note")
        categorical = entry.get("categorical", False)
        if not isinstance(categorical, bool):
            raise ConfigError(f"{where}: 'categorical' must be true or false")
        property_of = entry.get("property_of")
        if property_of is not None and not (
            isinstance(property_of, str) and property_of.startswith("ability:")
        ):
            raise ConfigError(f"{where}: 'property_of' must be the id of an ability")
        concepts.append(
            Concept(
                cid,
                label,
                tuple(lists["aliases"]),
                note if isinstance(note, str) else None,
                contextual=contextual,
                subsumed_by=tuple(lists["subsumed_by"]),
                categorical=categorical,
                property_of=property_of,
            )
        )
    for concept in concepts:
        unknown_ids = set(concept.subsumed_by) - seen
        if unknown_ids:
            raise ConfigError(
                f"{file}: concept {concept.id}: 'subsumed_by' names unknown concept "
                f"{sorted(unknown_ids)[0]!r}"
            )
        if concept.property_of is not None and concept.property_of not in seen:
            raise ConfigError(
                f"{file}: concept {concept.id}: 'property_of' names unknown concept "
                f"{concept.property_of!r}"
            )
    return Vocabulary(tuple(concepts), file)
