"""`KnowledgeGraph`: the Python query API over a built graph."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from kg.config import REPO_ROOT
from kg.graph import load_graph

DEFAULT_GRAPH = REPO_ROOT / "graphs" / "emergent_abilities" / "graph.json"


@dataclass(frozen=True)
class FactorRow:
    """One concept that papers claim affects or explains an ability."""

    concept: str
    label: str
    counts: dict[str, int]
    papers: tuple[str, ...]


class KnowledgeGraph:
    """A loaded graph with questions researchers ask of it."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnowledgeGraph:
        """Load `graph.json` (default: the graph shipped with kg)."""
        return cls(load_graph(path or DEFAULT_GRAPH))

    def factors(self, ability: str) -> list[FactorRow]:
        """Concepts with claims about `ability`, most papers first."""
        rows = []
        for subject, _obj, attrs in self.graph.in_edges(ability, data=True):
            if attrs["kind"] in ("affects", "explains"):
                rows.append(
                    FactorRow(
                        subject,
                        self.graph.nodes[subject].get("label", subject),
                        attrs["counts"],
                        tuple(attrs["papers"]),
                    )
                )
        return sorted(rows, key=lambda r: (-len(r.papers), r.concept))
