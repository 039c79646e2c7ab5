"""The interactive page: what it holds (no browser) and what it does in headless Chromium.

Browser tests drive Debian's Chromium over the DevTools protocol (tests/cdp.py): they count
the nodes vis-network draws, record every request the page makes, hover and click like a
person, and check that hostile paper text stays text (with and without the CSP).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from kg.graph import load_graph
from kg.html import page_data, render_html, safe_url, script_json
from kg.store import Store
from tests.cdp import Chromium, Page
from tests.small_graph import (
    HOSTILE,
    HOSTILE_AUTHOR,
    HOSTILE_SENTENCE,
    HOSTILE_TITLE,
    HOSTILE_VENUE,
    ICL,
    P1,
    P6,
)

HEADING = 'Small graph <script>window.__kgPwned="heading"</script>'


@pytest.fixture(scope="module")
def graph(small_graph_dir: Path) -> nx.MultiDiGraph:
    return load_graph(small_graph_dir / "graph.json")


@pytest.fixture(scope="module")
def pages(graph: nx.MultiDiGraph, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for name, kwargs in {
        "page": {},
        "no-csp": {"csp": False},
        "focus": {"focus": "factor:model-scale"},
    }.items():
        out[name] = folder / f"{name}.html"
        out[name].write_text(render_html(graph, HEADING, **kwargs), encoding="utf-8")
    return out


# -- without a browser ----------------------------------------------------------------------


def test_views_hold_the_expected_nodes(graph: nx.MultiDiGraph) -> None:
    data = page_data(graph, "t")
    map_ids = {n["id"] for n in data["views"]["map"]["nodes"]}
    # Concepts with papers or claims; the vocabulary's unused concepts stay out.
    assert map_ids == {
        n for n, a in graph.nodes(data=True) if a.get("n_papers") and a["kind"] != "author"
    }
    assert len(map_ids) == 10
    assert {e["kind"] for e in data["views"]["map"]["edges"]} == {"affects", "explains"}
    full = data["views"]["full"]
    assert len(full["nodes"]) == 10 + 7 + 8  # concepts, papers, authors
    kinds = {e["kind"] for e in full["edges"]}
    assert kinds == {"affects", "explains", "claims", "studies", "cites", "wrote"}
    assert data["years"] == [2021, 2024] and data["notes"] == []
    edge = next(e for e in full["edges"] if e["id"] == f"affects|factor:label-correctness|{ICL}")
    assert edge["consensus"] == "contested" and edge["years"] == [2021, 2022, 2024]


def test_focus_keeps_the_neighbourhood(graph: nx.MultiDiGraph) -> None:
    data = page_data(graph, "t", focus="factor:model-scale")
    ids = {n["id"] for n in data["views"]["full"]["nodes"]}
    assert {"factor:model-scale", ICL, "ability:chain-of-thought"} <= ids
    assert P6 not in ids and "factor:demonstration-order" not in ids
    with pytest.raises(KeyError):
        page_data(graph, "t", focus="factor:nope")


def test_the_full_view_keeps_to_its_budget(graph: nx.MultiDiGraph) -> None:
    data = page_data(graph, "t", max_nodes=20)
    assert len(data["views"]["full"]["nodes"]) == 20
    assert "authors" in data["notes"][0]
    data = page_data(graph, "t", max_nodes=13)
    nodes = data["views"]["full"]["nodes"]
    assert len(nodes) == 13 and not [n for n in nodes if n["kind"] == "author"]
    assert P1 in {n["id"] for n in nodes}  # the highest PageRank paper stays


def test_same_graph_same_bytes(graph: nx.MultiDiGraph, pages: dict[str, Path]) -> None:
    assert render_html(graph, HEADING) == pages["page"].read_text(encoding="utf-8")


def test_script_json_is_inert_in_a_script_element() -> None:
    value = {"t": "</script><!-- <script>&\u2028\u2029"}
    text = script_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == value


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://arxiv.org/abs/2202.12837", True),
        ("http://example.org/paper", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ('https://x.org/"><script>', False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, kept: bool) -> None:
    assert (safe_url(url) is not None) is kept


def test_hostile_text_never_appears_as_markup(pages: dict[str, Path]) -> None:
    for path in pages.values():
        page = path.read_text(encoding="utf-8")
        # Exactly the page's own three scripts: vis-network, the data block, the page script.
        scripts = re.findall(r"(<script\b[^>]*>)(.*?)</script>", page, re.DOTALL)
        assert [tag for tag, _ in scripts] == [
            "<script>",
            '<script type="application/json" id="kg-data">',
            "<script>",
        ]
        data = scripts[1][1]
        assert not set("<>&\u2028\u2029") & set(data)
        if path.name != "focus.html":  # the focus page leaves the hostile paper out
            assert json.loads(data)["papers"][HOSTILE]["title"] == HOSTILE_TITLE
        markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", page, flags=re.DOTALL)
        for needle in ("<img", "<svg", "<b>", "onerror", "onload", "<script>window", "javascript:"):
            assert needle not in markup, (path.name, needle)
        assert "<title>Small graph &lt;script&gt;window.__kgPwned=&quot;heading&quot;" in markup


def test_the_page_names_no_remote_resource(pages: dict[str, Path]) -> None:
    page = pages["page"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "Content-Security-Policy" not in pages["no-csp"].read_text(encoding="utf-8")


# -- in headless Chromium -------------------------------------------------------------------


def test_missing_chromium_fails_on_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import cdp

    monkeypatch.setattr(cdp, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        cdp.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        cdp.require_chromium()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Chromium]:
    with Chromium(chromium) as opened:
        yield opened


def _open(browser: Chromium, path: Path | str, view: str = "map") -> Page:
    page = browser.page()
    url = (path.resolve().as_uri() if isinstance(path, Path) else path) + f"#{view}"
    page.navigate(url)
    page.wait_for(f"window.kgPage && kgPage.state.timings.settled.{view}", timeout=60)
    return page


@pytest.mark.browser
def test_page_draws_the_expected_nodes(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["page"])
    counts = page.eval("kgPage.visible()")
    assert counts == {"nodes": 10, "edges": 8, "drawn": 10, "drawnEdges": 8}
    assert page.eval("document.getElementById('status').textContent") == (
        "Concept map: 10 nodes, 8 edges"
    )
    page.eval("document.querySelector('input[name=view][value=full]').click()")
    page.wait_for("kgPage.state.timings.settled.full")
    assert page.eval("kgPage.visible()") == {
        "nodes": 25,
        "edges": 44,
        "drawn": 25,
        "drawnEdges": 44,
    }
    assert page.eval("location.hash") == "#full"
    assert page.errors == []
    page.close()


@pytest.mark.browser
def test_page_makes_no_external_request(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["page"], view="full")
    page.eval("kgPage.details('2101.00001'); kgPage.search('label'); kgPage.next()")
    page.wait_for("true")
    assert page.requests == [pages["page"].resolve().as_uri()]
    assert page.errors == []
    page.close()


@pytest.mark.browser
def test_request_capture_sees_a_remote_load(browser: Chromium, tmp_path: Path) -> None:
    """Control for the test above: a page that does load something is caught."""
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    page = browser.page()
    page.navigate(control)
    page.wait_for("document.readyState === 'complete'")
    assert "http://127.0.0.1:9/x.png" in page.requests
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("variant", ["page", "no-csp"])
def test_hostile_text_is_inert(browser: Chromium, pages: dict[str, Path], variant: str) -> None:
    """With or without the CSP, hostile titles, authors, venues, urls and sentences show as
    text: no element is created from them and the marker their scripts would set stays unset."""
    page = _open(browser, pages[variant], view="full")
    page.eval(f"kgPage.details({json.dumps(HOSTILE)})")
    panel = page.eval("document.getElementById('details').textContent")
    for text in (HOSTILE_TITLE, HOSTILE_VENUE, HOSTILE_AUTHOR):
        assert text in panel
    assert HOSTILE_SENTENCE.replace("\u2028", "") in panel.replace("\u2028", "")
    page.eval(f"kgPage.showEdge('affects|factor:prompt-wording|{ICL}')")
    assert "window.__kgPwned=2" in page.eval("document.getElementById('details').textContent")
    _hover(page, HOSTILE)
    tip = page.wait_for(
        "!document.getElementById('tooltip').hidden && document.querySelector('#tooltip h2')"
        ".textContent",
        timeout=10,
    )
    assert tip == HOSTILE_TITLE
    page.eval("kgPage.search('mallory'); kgPage.next()")
    assert page.eval("typeof window.__kgPwned") == "undefined"
    assert page.eval("document.querySelectorAll('img, svg, b, iframe, object').length") == 0
    assert page.eval("document.scripts.length") == 3
    assert page.eval("document.title") == HEADING
    assert page.eval("[...document.querySelectorAll('a')].map(a => a.href)") == []
    assert page.errors == []
    page.close()


def _point_on(page: Page, node: str) -> tuple[float, float]:
    """A page point where `node` is the topmost node (another may overlap its centre)."""
    point = page.eval(
        f"""(() => {{ const v = kgPage.views[kgPage.state.view], id = {json.dumps(node)};
        const c = v.network.canvasToDOM(v.network.getPosition(id));
        const r = document.getElementById('stage').getBoundingClientRect();
        const size = v.network.body.nodes[id].options.size * v.network.getScale();
        for (const [dx, dy] of [[0, 0], [0.5, 0], [-0.5, 0], [0, 0.5], [0, -0.5], [0.7, 0.7],
                                [-0.7, 0.7], [0.7, -0.7], [-0.7, -0.7]]) {{
          const p = {{x: c.x + dx * size, y: c.y + dy * size}};
          if (v.network.getNodeAt(p) === id) return [r.left + p.x, r.top + p.y];
        }}
        return null; }})()"""
    )
    assert point, f"{node} is hidden under other nodes"
    return point[0], point[1]


def _hover(page: Page, node: str) -> None:
    """Move the mouse over `node` as a person would (CDP input events)."""
    x, y = _point_on(page, node)
    page.mouse("mouseMoved", 1, 1)
    page.mouse("mouseMoved", x, y)


@pytest.mark.browser
def test_tooltip_and_details_show_claims_with_links(
    browser: Chromium, pages: dict[str, Path]
) -> None:
    page = _open(browser, pages["page"], view="full")
    _hover(page, "2202.00002")
    tip = page.wait_for(
        "!document.getElementById('tooltip').hidden && "
        "document.querySelector('#tooltip h2').textContent === 'Labels matter after all' && "
        "document.getElementById('tooltip').textContent",
        timeout=10,
    )
    assert "Labels matter after all" in tip and "2022" in tip and "Carol Chen" in tip
    assert "Correct labels improve in-context learning substantially." in tip
    links = page.eval("[...document.querySelectorAll('#tooltip a')].map(a => [a.href, a.rel])")
    assert links == [["https://arxiv.org/abs/2202.00002", "noopener noreferrer"]]
    # Click the node: the details panel.
    x, y = _point_on(page, "2202.00002")
    page.click(x, y)
    page.wait_for("!!document.querySelector('#details h2')", timeout=10)
    assert page.eval("document.querySelector('#details h2').textContent") == (
        "Labels matter after all"
    )
    assert page.eval("document.querySelectorAll('#details .claim').length") == 3
    page.close()


@pytest.mark.browser
def test_filters_by_kind_and_year_and_search(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["page"], view="full")
    page.eval("document.querySelector('input[data-kind=author]').click()")
    assert page.eval("kgPage.visible().nodes") == 25 - 8
    assert page.eval("kgPage.visible().drawn") == 25 - 8
    page.eval("kgPage.setKind('author', true)")
    page.eval("kgPage.setYears(2023, 2024)")
    # Papers 2023-2024: P3, P4, P5, P6; their authors: Dan, Eve, Frank, Gina; 10 concepts.
    assert page.eval("kgPage.visible().nodes") == 10 + 4 + 4
    page.eval("kgPage.setYears(2021, 2024)")
    page.eval("kgPage.setKind('wrote', false)")
    assert page.eval("kgPage.visible().edges") == 44 - 9
    assert page.eval("kgPage.search('LABEL')") == [
        "factor:label-correctness",
        "2202.00002",  # Labels matter after all
        "2405.00005",  # Labels do not matter, scale does
    ]
    assert page.eval("kgPage.next()") == "factor:label-correctness"
    assert page.eval("document.querySelector('#details h2').textContent").startswith(
        "Demonstration label correctness"
    )
    page.eval(
        "const box = document.getElementById('search'); box.value = 'gradient descent';"
        "box.dispatchEvent(new Event('input'))"
    )
    assert page.eval("document.getElementById('matches').textContent") == "3 matches"
    page.close()


@pytest.mark.browser
def test_year_filter_applies_to_the_concept_map(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["page"])
    page.eval(
        "const f = document.getElementById('year-from'); f.value = 2024;"
        "f.dispatchEvent(new Event('change'))"
    )
    # Edges with a supporting paper from 2024: label-correctness->ICL, model-scale->CoT.
    assert page.eval("kgPage.visible().edges") == 2
    page.close()


@pytest.mark.browser
def test_physics_stabilises_then_freezes(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["page"], view="full")
    timings = page.eval("kgPage.state.timings")
    assert timings["ready"]["full"] <= timings["settled"]["full"]
    assert timings["iterations"]["full"] > 0
    assert page.eval("kgPage.views.full.network.physics.options.enabled") is False
    before = page.eval("kgPage.views.full.network.getPositions()")
    page.eval("new Promise(r => setTimeout(r, 400))")
    assert page.eval("kgPage.views.full.network.getPositions()") == before
    page.close()


@pytest.mark.browser
def test_focus_opens_on_the_concept(browser: Chromium, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["focus"])
    page.wait_for("!!document.querySelector('#details h2')", timeout=10)
    assert page.eval("document.querySelector('#details h2').textContent") == "Model scale"
    assert page.eval("kgPage.views.map.network.getSelectedNodes()") == ["factor:model-scale"]
    assert page.eval("kgPage.visible().nodes") == 3
    page.close()


def test_a_graph_without_claims_says_so(store: Store) -> None:
    from kg.graph import build_graph
    from kg.records import Extraction, Paper
    from kg.vocabulary import load_vocabulary

    paper = Paper("2101.00009", "Alone", year=2021, arxiv_id="2101.00009")
    store.upsert_paper(paper)
    store.save_extraction(Extraction(paper.paper_id, (ICL,), ()), paper.content_hash, "t")
    data = page_data(build_graph(store, load_vocabulary()), "t")
    assert [n["id"] for n in data["views"]["map"]["nodes"]] == [ICL]
    assert data["notes"] and "No claims have been extracted yet" in data["notes"][0]
