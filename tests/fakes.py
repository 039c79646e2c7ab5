"""Stand-ins that make a refresh cheap and scriptable in tests.

`TaggedExtractor` is a drop-in for `kg.extract.Extractor` without spaCy: a paper states the
claims written in its abstract as tags, `[[factor:model-scale affects ability:in-context-learning
increases]]`, each tag being the claim's evidence sentence. Tests use it to make claims (the
baseline extractor finds none) and to keep subprocesses that refresh fast.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kg.config import PipelineConfig, load_pipeline
from kg.records import Claim, Extraction
from kg.vocabulary import Vocabulary

REPO = Path(__file__).resolve().parent.parent  # not from conftest: a child process imports this
SNAPSHOT = REPO / "pipelines" / "emergent_abilities" / "snapshot"
TAG = re.compile(r"\[\[(\S+) (affects|explains) (\S+) ([a-z-]+)\]\]")


class TaggedExtractor:
    """Claims are the `[[subject relation object polarity]]` tags of a paper's text."""

    version = "tagged/1"

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary

    def extract_many(
        self, papers: Iterable[tuple[str, str, str | None]], batch_size: int = 64
    ) -> Iterator[Extraction]:
        for paper_id, title, abstract in papers:
            text = f"{title}\n{abstract or ''}"
            claims = tuple(
                Claim(m[1], m[2], m[3], m[4], m[0], m.start(), m.end(), False, 0.9)  # type: ignore[arg-type]
                for m in TAG.finditer(text)
            )
            concepts = tuple(sorted({c for claim in claims for c in (claim.subject, claim.object)}))
            yield Extraction(paper_id, concepts, claims)


def tag(subject: str, obj: str, polarity: str, relation: str = "affects") -> str:
    return f"[[{subject} {relation} {obj} {polarity}]]"


def paper(
    arxiv_id: str,
    title: str,
    abstract: str = "An abstract.",
    *,
    version: int | None = None,
    year: int = 2023,
    authors: tuple[str, ...] = ("A. Author",),
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "arxiv_id": arxiv_id,
        "title": title,
        "authors": list(authors),
        "year": year,
        "abstract": abstract,
    }
    if version is not None:
        record["arxiv_version"] = version
    return record


def real_papers(n: int) -> list[dict[str, Any]]:
    """The first `n` papers of the embedded snapshot, as JSON records."""
    lines = (SNAPSHOT / "papers.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:n]]


def write_snapshot_files(
    folder: Path, papers: list[dict[str, Any]], citations: list[dict[str, Any]] = ()
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "papers.jsonl").write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in papers), encoding="utf-8"
    )
    (folder / "citations.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in citations), encoding="utf-8"
    )


def write_pipeline(
    root: Path,
    papers: list[dict[str, Any]],
    citations: list[dict[str, Any]] = (),
    *,
    name: str = "tiny",
) -> PipelineConfig:
    """A pipeline file under `root` with its own snapshot and output folder `root/out`."""
    write_snapshot_files(root / "snapshot", papers, citations)
    vocabulary = REPO / "kg" / "vocabulary.toml"
    (root / "pipeline.toml").write_text(
        f'[pipeline]\nname = "{name}"\ntopic = "A tiny test topic"\n'
        f'vocabulary = "{vocabulary}"\nsnapshot = "snapshot"\noutput = "out"\n',
        encoding="utf-8",
    )
    return load_pipeline(root / "pipeline.toml")


def copy_state(src: Path, dst: Path) -> None:
    """Copy a folder (a KG_HOME or an output folder) for a test to change."""
    if dst.exists():
        shutil.rmtree(dst)
    if src.exists():
        shutil.copytree(src, dst)
    else:
        dst.mkdir(parents=True)
