"""A synthetic scale-up of the real corpus, for benchmarks and demos.

Replica 0 is the embedded snapshot (179 papers, 27 citations) with the hand-labelled claims of
the dev gold standard (`tests/data/dev_gold.jsonl`, 212 claims on 168 of its papers) as its
extraction; each further replica copies every paper with a new key, a title and author names
marked with the replica number (so nothing merges), the same year, venue and claims, and the
same citations among the copies plus a citation to the original's cited paper in the previous
replica. The distributions of years, authors per paper, claims per paper and polarities are
the real ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kg.records import Citation, Claim, Extraction, Paper
from kg.store import Store
from kg.vocabulary import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "pipelines" / "emergent_abilities" / "snapshot"
GOLD = ROOT / "tests" / "data" / "dev_gold.jsonl"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text):
        start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        if m.end() > start:
            spans.append((start, m.end()))
    return spans


def _evidence(text: str, subject: str, vocabulary: Vocabulary) -> tuple[int, int]:
    """The sentence of `text` that names the claim's subject most (else the last one)."""
    try:
        concept = vocabulary.get(subject)
        names = [n.lower() for n in (concept.label, *concept.aliases)]
    except KeyError:
        names = [subject.split(":", 1)[-1].replace("-", " ")]
    spans = _sentences(text)[1:] or _sentences(text)  # skip the title
    best = max(spans, key=lambda s: sum(text[s[0] : s[1]].lower().count(n) for n in names))
    if not any(n in text[best[0] : best[1]].lower() for n in names):
        best = spans[-1]
    return best


def corpus(vocabulary: Vocabulary | None = None) -> tuple[list[Paper], list[Citation], dict]:
    """The real papers, citations and gold extractions (with evidence sentences and offsets)."""
    vocabulary = vocabulary or load_vocabulary()
    papers = [
        Paper.from_dict({**p, "paper_id": p["arxiv_id"], "source": "snapshot"})
        for p in _lines(SNAPSHOT / "papers.jsonl")
    ]
    citations = [
        Citation(c["citing"], c["cited"], "snapshot") for c in _lines(SNAPSHOT / "citations.jsonl")
    ]
    by_id = {p.paper_id: p for p in papers}
    extractions = {}
    for gold in _lines(GOLD):
        paper = by_id.get(gold["paper_id"])
        if paper is None:
            continue
        claims = []
        for c in gold["claims"]:
            start, end = _evidence(paper.text, c["subject"], vocabulary)
            claims.append(
                Claim(
                    c["subject"],
                    c["relation"],
                    c["object"],
                    c["polarity"],
                    paper.text[start:end],
                    start,
                    end,
                    False,
                    0.8,
                )
            )
        extractions[paper.paper_id] = (tuple(gold["concepts"]), tuple(claims))
    return papers, citations, extractions


def fill_scaled_store(store: Store, n_papers: int, vocabulary: Vocabulary | None = None) -> None:
    """Write `n_papers` papers (replicas of the real corpus, the last one partial)."""
    papers, citations, extractions = corpus(vocabulary)
    run_id = store.start_run("synthetic", "offline")
    written: list[set[str]] = []
    with store.transaction():
        replica = 0
        while sum(len(w) for w in written) < n_papers:
            keys: set[str] = set()
            for paper in papers:
                if sum(len(w) for w in written) + len(keys) >= n_papers:
                    break
                key = _key(paper.paper_id, replica)
                copy = (
                    paper
                    if replica == 0
                    else Paper(
                        **{
                            **paper.__dict__,
                            "paper_id": key,
                            "arxiv_id": None,
                            "s2_paper_id": key.removeprefix("s2:"),
                            "title": f"{paper.title} (replica {replica})",
                            "authors": tuple(f"{a} {replica}" for a in paper.authors),
                        }
                    )
                )
                store.upsert_paper(copy, run_id)
                if paper.paper_id in extractions:
                    concepts, claims = extractions[paper.paper_id]
                    shift = len(copy.title) - len(paper.title)
                    moved = tuple(
                        Claim(
                            **{
                                **c.__dict__,
                                "char_start": c.char_start + shift,
                                "char_end": c.char_end + shift,
                            }
                        )
                        for c in claims
                    )
                    store.save_extraction(
                        Extraction(key, concepts, moved), copy.content_hash, "synthetic", run_id
                    )
                keys.add(key)
            for c in citations:
                citing, cited = _key(c.citing, replica), _key(c.cited, replica)
                if citing in keys and cited in keys:
                    store.upsert_citation(Citation(citing, cited, "synthetic"))
                if replica and citing in keys:
                    store.upsert_citation(Citation(citing, _key(c.cited, replica - 1), "synthetic"))
            written.append(keys)
            replica += 1
    store.finish_run(run_id, "ok", {"papers": n_papers})


def _key(paper_id: str, replica: int) -> str:
    return paper_id if replica == 0 else f"s2:syn{replica}-{paper_id}"
