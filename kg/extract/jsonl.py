"""`kg extract` over JSONL: papers in, one extraction line per paper out, in input order."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from kg.errors import InputError
from kg.jsonl import read_objects
from kg.records import Extraction

log = logging.getLogger("kg.extract")


class _Extracts(Protocol):
    def extract_many(
        self, papers: Iterable[tuple[str, str, str | None]], batch_size: int = ...
    ) -> Iterator[Extraction]: ...


def _optional_text(record: dict[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{where}: {key!r} must be a string or null")
    return value


def paper_fields(record: dict[str, Any], where: str) -> tuple[str, str, str | None]:
    """(paper_id, title, abstract) of one papers-JSONL record; InputError names `where`."""
    paper_id = record.get("paper_id") or record.get("arxiv_id")
    if not isinstance(paper_id, str) or not paper_id.strip():
        raise InputError(f"{where}: a paper needs a non-empty 'paper_id' (or 'arxiv_id')")
    title = _optional_text(record, "title", where) or ""
    abstract = _optional_text(record, "abstract", where)
    return paper_id, title, abstract


def read_papers(lines: Iterable[str], source_name: str) -> Iterator[tuple[str, str, str | None]]:
    """(paper_id, title, abstract) per non-blank line; InputError names `source_name:line`."""
    for lineno, record in read_objects(lines, source_name):
        yield paper_fields(record, f"{source_name}:{lineno}")


def extract_jsonl(lines: Iterable[str], source_name: str, extractor: _Extracts) -> Iterator[str]:
    """One JSON line (the `kg extract` contract) per input paper, lazily and in input order.

    A malformed line raises InputError naming `source_name:line` before any output for it;
    blank lines are skipped. Warnings for a paper go to the `kg.extract` logger.
    """
    for extraction in extractor.extract_many(read_papers(lines, source_name)):
        for warning in extraction.warnings:
            log.warning("%s", warning)
        yield json.dumps(extraction.to_dict(), ensure_ascii=False)
