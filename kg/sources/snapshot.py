"""The embedded snapshot: JSONL of papers and citations that a refresh imports offline.

`read_snapshot` parses a whole snapshot before anything is stored, so a malformed line fails
with `file:line` and leaves the store as it was. `write_snapshot` exports a store in the same
format, so a team can share a harvest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import InputError
from kg.jsonl import read_objects
from kg.records import Citation, Paper, paper_key, split_arxiv_id
from kg.store import Store

PAPERS_FILE = "papers.jsonl"
CITATIONS_FILE = "citations.jsonl"
SOURCE = "snapshot"

_STR_FIELDS = ("title", "abstract", "published", "updated", "venue", "doi", "url")
_INT_FIELDS = (
    "year",
    "arxiv_version",
    "s2_corpus_id",
    "citation_count",
    "influential_citation_count",
    "reference_count",
)
_EXPORT_ORDER = (
    "arxiv_id",
    "paper_id",
    "title",
    "authors",
    "published",
    "updated",
    "year",
    "categories",
    "abstract",
    "abstract_complete",
    "venue",
    "doi",
    "arxiv_version",
    "s2_paper_id",
    "s2_corpus_id",
    "citation_count",
    "influential_citation_count",
    "reference_count",
    "source_url",
    "field_sources",
)
_KNOWN_KEYS = {*_EXPORT_ORDER, "url"}


@dataclass(frozen=True)
class Snapshot:
    """A parsed snapshot: papers and citations, in file order."""

    papers: tuple[Paper, ...]
    citations: tuple[Citation, ...]


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; a snapshot folder holds {PAPERS_FILE}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    yield from read_objects(text.splitlines(), str(path))


def paper_from_json(data: dict[str, Any], where: str, source: str = SOURCE) -> Paper:
    """Validate one snapshot line and turn it into a `Paper`; errors name `where` and the key."""
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")

    def check(key: str, kind: type, label: str) -> Any:
        value = data.get(key)
        # bool is an int subclass: true/false is not a year or a count.
        wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if value is not None and wrong:
            raise InputError(f"{where}: {key!r} must be {label}, got {value!r:.60}")
        return value

    for key in _STR_FIELDS:
        check(key, str, "a string or null")
    for key in _INT_FIELDS:
        check(key, int, "an integer or null")
    check("abstract_complete", bool, "true, false or null")
    for key in ("authors", "categories"):
        value = check(key, list, "a list of strings or null")
        if value is not None and not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: {key!r} must be a list of strings")
    title = data.get("title")
    if not title or not title.strip():
        raise InputError(f"{where}: 'title' is missing or empty")
    raw_id = data.get("arxiv_id") or (
        data.get("paper_id") if str(data.get("paper_id", ""))[:1].isdigit() else None
    )
    try:
        arxiv_id, version = split_arxiv_id(raw_id) if raw_id else (None, None)
        s2_id = data.get("s2_paper_id") or (
            data["paper_id"][3:] if str(data.get("paper_id", "")).startswith("s2:") else None
        )
        key = paper_key(arxiv_id, s2_id, data.get("doi"))
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return Paper(
        paper_id=key,
        title=title.strip(),
        abstract=data.get("abstract"),
        authors=tuple(data.get("authors") or ()),
        published=data.get("published"),
        updated=data.get("updated"),
        year=data.get("year"),
        categories=tuple(data.get("categories") or ()),
        venue=data.get("venue"),
        doi=data.get("doi"),
        arxiv_id=arxiv_id,
        arxiv_version=data.get("arxiv_version") or version,
        s2_paper_id=s2_id,
        s2_corpus_id=data.get("s2_corpus_id"),
        citation_count=data.get("citation_count"),
        influential_citation_count=data.get("influential_citation_count"),
        reference_count=data.get("reference_count"),
        abstract_complete=data.get("abstract_complete"),
        url=data.get("source_url") or data.get("url"),
        source=source,
    )


def read_snapshot(folder: str | Path) -> Snapshot:
    """Parse a snapshot folder completely; raise `InputError` naming file:line on bad input."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: snapshot folder not found")
    papers = [
        paper_from_json(data, f"{root / PAPERS_FILE}:{lineno}")
        for lineno, data in _lines(root / PAPERS_FILE)
    ]
    citations: list[Citation] = []
    cites_path = root / CITATIONS_FILE
    if cites_path.exists():
        for lineno, data in _lines(cites_path):
            where = f"{cites_path}:{lineno}"
            citing, cited = data.get("citing"), data.get("cited")
            if not isinstance(citing, str) or not isinstance(cited, str):
                raise InputError(f"{where}: 'citing' and 'cited' must be paper ids")
            try:
                citing_key = _citation_key(citing)
                cited_key = _citation_key(cited)
            except ValueError as exc:
                raise InputError(f"{where}: {exc}") from None
            citations.append(
                Citation(
                    citing_key,
                    cited_key,
                    str(data.get("source") or SOURCE),
                    tuple(data.get("contexts") or ()),
                    tuple(data.get("intents") or ()),
                    data.get("is_influential"),
                )
            )
    return Snapshot(tuple(papers), tuple(citations))


def _citation_key(raw: str) -> str:
    if raw.startswith(("s2:", "doi:")):
        return raw
    return split_arxiv_id(raw)[0]


def write_snapshot(store: Store, folder: str | Path) -> tuple[int, int]:
    """Export every paper and citation of `store` to `folder`; returns the two counts."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    n_papers = 0
    with (root / PAPERS_FILE).open("w", encoding="utf-8") as out:
        for paper in store.papers():
            record = paper.to_dict()
            record["source_url"] = record.pop("url")
            record["field_sources"] = store.field_sources(paper.paper_id)
            if paper.arxiv_id:
                del record["paper_id"]
            line = {k: record[k] for k in _EXPORT_ORDER if record.get(k) is not None}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n_papers += 1
    n_cites = 0
    with (root / CITATIONS_FILE).open("w", encoding="utf-8") as out:
        for citation in store.citations():
            record = citation.to_dict()
            line = {k: v for k, v in record.items() if v not in (None, [])}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n_cites += 1
    return n_papers, n_cites
