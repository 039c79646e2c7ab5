"""JSON Lines input: one JSON object a line, each error naming the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from kg.errors import InputError


def read_objects(lines: Iterable[str], source_name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; `InputError` names `source_name:line`."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source_name}:{lineno}: not valid JSON ({exc.msg}, column {exc.colno}); "
                "fix the line"
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"{source_name}:{lineno}: expected a JSON object per line")
        yield lineno, data
