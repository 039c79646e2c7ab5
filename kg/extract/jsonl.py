"""`kg extract` over JSONL: papers in, one contract line per paper out, in input order."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from kg.errors import InputError

log = logging.getLogger("kg.extract")


def _papers(lines: Iterable[str], source_name: str) -> Iterator[tuple[str, str, str | None]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source_name}:{lineno}"
        try:
            data: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object")
        paper_id = data.get("paper_id") or data.get("arxiv_id")
        title, abstract = data.get("title"), data.get("abstract")
        if not isinstance(paper_id, str) or not paper_id:
            raise InputError(f"{where}: needs 'paper_id' or 'arxiv_id'")
        if not isinstance(title, str):
            raise InputError(f"{where}: 'title' must be a string")
        if abstract is not None and not isinstance(abstract, str):
            raise InputError(f"{where}: 'abstract' must be a string or null")
        yield paper_id, title, abstract


def extract_jsonl(lines: Iterable[str], source_name: str, extractor: Any) -> Iterator[str]:
    """Yield one `kg extract` JSON line per paper read from `lines`."""
    for extraction in extractor.extract_many(_papers(lines, source_name)):
        for warning in extraction.warnings:
            log.warning("%s: %s", extraction.paper_id, warning)
        yield json.dumps(extraction.to_dict(), ensure_ascii=False)
