"""Shared fixtures: an isolated KG_HOME per test and the repository's real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.store import Store

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "pipelines" / "emergent_abilities" / "snapshot"
DEFAULT_PIPELINE = REPO / "pipelines" / "emergent_abilities.toml"


@pytest.fixture(autouse=True)
def kg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own KG_HOME: no test touches the user's real store."""
    home = tmp_path / "kg-home"
    monkeypatch.setenv("KG_HOME", str(home))
    for name in ("KG_VOCABULARY", "KG_SPACY_MODEL", "KG_ARXIV_URL", "KG_S2_URL", "S2_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "store.sqlite3") as opened:
        yield opened


# -- the graph people use: a small built graph with known answers (tests/small_graph.py) ----


@pytest.fixture(scope="session")
def small_graph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with graph.json built from a real store filled with the small corpus."""
    from kg.graph import build_graph, save_graph
    from kg.vocabulary import load_vocabulary
    from tests.small_graph import fill_small_store

    folder = tmp_path_factory.mktemp("small-graph")
    with Store(folder / "store.sqlite3") as opened:
        fill_small_store(opened)
        save_graph(build_graph(opened, load_vocabulary()), folder / "graph.json")
    return folder


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path to Debian's Chromium: skipped locally when absent, a failure on CI (CI set)."""
    from tests.cdp import require_chromium

    return require_chromium()


# -- the online harvest: a loopback arXiv + Semantic Scholar ---------------------------------


@pytest.fixture
def harvest_world(monkeypatch: pytest.MonkeyPatch):
    """(world, server): a loopback arXiv + Semantic Scholar built from the snapshot's papers
    (`tests.worlds.topic_world`), with `KG_ARXIV_URL` and `KG_S2_URL` pointing at it.
    Inject faults with `server.inject(Reply(...), when=...)`; see `tests/loopback.py`."""
    from tests.loopback import Loopback
    from tests.worlds import topic_world

    world = topic_world()
    with Loopback(world.handler) as server:
        monkeypatch.setenv("KG_ARXIV_URL", server.url + "/api/query")
        monkeypatch.setenv("KG_S2_URL", server.url)
        yield world, server
