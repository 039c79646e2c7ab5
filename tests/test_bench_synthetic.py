"""The benchmarks' synthetic scale-up keeps the real corpus's shape and the claims contract."""

from __future__ import annotations

import sys

from kg.graph import build_graph, summarize
from kg.store import Store
from kg.vocabulary import load_vocabulary
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from synthetic import fill_scaled_store


def test_scale_up_replicates_papers_claims_and_citations(store: Store) -> None:
    fill_scaled_store(store, 400)  # the real 179 papers, then two replicas (the last partial)
    papers = {p.paper_id: p for p in store.papers()}
    assert len(papers) == 400 and len(store.runs()) == 1
    for extraction in store.extractions():
        text = papers[extraction.paper_id].text
        for claim in extraction.claims:
            assert text[claim.char_start : claim.char_end] == claim.sentence
    counts = summarize(build_graph(store, load_vocabulary()))
    assert counts["edges"]["claims"] > 400  # 212 gold claims per full replica
    assert counts["edges"]["cites"] > 27 * 2
    assert counts["nodes"]["author"] > 933 * 2
