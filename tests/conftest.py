"""Shared fixtures: an isolated KG_HOME per test and the repository's real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kg.store import Store

if TYPE_CHECKING:
    from kg.extract import Extractor

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "pipelines" / "emergent_abilities" / "snapshot"
DEFAULT_PIPELINE = REPO / "pipelines" / "emergent_abilities.toml"


@pytest.fixture(scope="session", autouse=True)
def no_user_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point the per-user data folder (KG_HOME's default) at an empty folder for the whole
    session, and fail if any test wrote there: a test that loses its KG_HOME shows up here,
    not in the developer's real store."""
    folder = tmp_path_factory.mktemp("xdg-data")
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(folder)
    yield
    if previous is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = previous
    leaked = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert not leaked, f"tests wrote to the default KG_HOME instead of their own: {leaked}"


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
    with Store(folder / "small.sqlite3") as opened:  # where KG_HOME=folder puts pipeline "small"
        fill_small_store(opened)
        save_graph(build_graph(opened, load_vocabulary(), "small"), folder / "graph.json")
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


# -- extraction: the real spaCy model and vocabulary, loaded once per session ----------------


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """The default extractor (shipped vocabulary, installed default spaCy model)."""
    from kg.extract import Extractor

    return Extractor()
