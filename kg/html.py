"""The interactive page: a pyvis/vis-network rendering of the graph that opens offline.

`page_data` (pure, no pyvis) decides what the page shows: a concept map (abilities, factors,
mechanisms, risks and the aggregated `affects`/`explains` edges, coloured by consensus) and a
full view (plus papers, their authors, citations, claims), with positions computed here,
deterministically: concepts by a seeded spring layout, papers around the concepts they study,
authors around their papers. `render_html` turns it into one self-contained HTML file: pyvis
holds the nodes, edges and vis-network options, vis-network (shipped inside pyvis) is inlined,
and the page's own script draws the legend, filters, search box, tooltips and details panel.

Every piece of paper text is untrusted. It reaches the page only as JSON inside
`<script type="application/json">` (with `<`, `>`, `&`, U+2028 and U+2029 escaped), and the page
puts it into the DOM with `textContent` only; links are kept only when they are http(s). A
Content-Security-Policy allows the page's two scripts (by hash) and nothing else: no inline
event handler, no network request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import defaultdict
from html import escape as html_escape
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx

from kg.graph import AGGREGATE_KINDS, CONCEPT_KINDS

KIND_COLOURS = {
    "ability": "#d62728",
    "factor": "#1f77b4",
    "mechanism": "#2ca02c",
    "risk": "#9467bd",
    "paper": "#8c8c8c",
    "author": "#e377c2",
}
KIND_LABELS = {
    "ability": "Abilities",
    "factor": "Factors",
    "mechanism": "Mechanisms",
    "risk": "Risks",
    "paper": "Papers",
    "author": "Authors",
}
KIND_SHAPES = {
    "ability": "diamond",
    "factor": "dot",
    "mechanism": "square",
    "risk": "triangle",
    "paper": "dot",
    "author": "dot",
}
EDGE_STYLES: dict[str, dict[str, Any]] = {
    "affects": {"label": "affects (concept → ability/risk)", "colour": "#495057"},
    "explains": {"label": "explains (mechanism → ability)", "colour": "#495057"},
    "claims": {"label": "claims (paper → concept)", "colour": "#74a9cf"},
    "studies": {"label": "studies (paper → concept)", "colour": "#ced4da"},
    "cites": {"label": "cites (paper → paper)", "colour": "#868e96"},
    "wrote": {"label": "wrote (author → paper)", "colour": "#f3c4d9"},
}
CONSENSUS_COLOURS = {"agreed": "#2f9e44", "contested": "#e8590c", "single-source": "#868e96"}
MAX_NODES = 5000  # the full view's budget: authors are left out first, then the least cited
# Physics after the Python layout: a bounded number of stabilisation iterations (fewer for
# bigger views: each costs about O(n log n)) within a time budget, then the page freezes it.
PHYSICS_BUDGET = 200_000
MAX_ITERATIONS = 300
MIN_ITERATIONS = 20
BUDGET_MS = 4000
BIG_BUDGET_MS = 2000  # views of more than 2,000 nodes
VIS_DIR = ("templates", "lib", "vis-9.1.2")
_SAFE_URL = re.compile(r"https?://[^\s\"'<>\\]+", re.IGNORECASE)


def safe_url(url: object) -> str | None:
    """`url` if it is a plain http(s) URL, else None (no `javascript:`, no `data:`)."""
    return url if isinstance(url, str) and _SAFE_URL.fullmatch(url) else None


def short_label(label: str, limit: int = 26) -> str:
    """A concept label for the canvas: without its parenthesis, cut at `limit` characters."""
    text = re.sub(r"\s*\(.*?\)\s*", " ", label).strip() or label
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def paper_label(attrs: dict[str, Any]) -> str:
    """`Surname YEAR` (first author), the way papers are cited in prose."""
    authors = attrs.get("authors") or []
    surname = authors[0].split()[-1] if authors and authors[0].split() else "?"
    year = attrs.get("year")
    more = " et al." if len(authors) > 1 else ""
    return f"{surname}{more} {year}" if year else f"{surname}{more}"


def _round(value: float) -> float:
    return round(float(value), 1)


# -- what the page shows --------------------------------------------------------------------


def _paper_concepts(graph: nx.MultiDiGraph, paper: str) -> tuple[list[str], list[str]]:
    """(concepts the paper claims about, concepts it studies without a claim), sorted."""
    claimed: set[str] = set()
    for _p, _s, attrs in graph.out_edges(paper, data=True):
        if attrs["kind"] == "claims":
            claimed.update((attrs["subject"], attrs["object"]))
    studied = set(graph.nodes[paper].get("concepts") or ()) - claimed
    return sorted(c for c in claimed if c in graph), sorted(c for c in studied if c in graph)


def _focus_set(graph: nx.MultiDiGraph, focus: str) -> set[str]:
    """The focus concept, the concepts it has aggregated edges with, and its papers."""
    keep = {focus}
    for u, v, kind in [*graph.in_edges(focus, data="kind"), *graph.out_edges(focus, data="kind")]:
        if kind in AGGREGATE_KINDS:
            keep.update((u, v))
    for node, kind in graph.nodes(data="kind"):
        if kind == "paper":
            claimed, studied = _paper_concepts(graph, node)
            if focus in claimed or focus in studied:
                keep.add(node)
    return keep


def _concept_layout(graph: nx.MultiDiGraph, concepts: list[str]) -> dict[str, tuple[float, float]]:
    """Seeded spring layout of the concepts: aggregated edges and co-study pull them together."""
    weights: dict[tuple[str, str], float] = defaultdict(float)
    placed = set(concepts)
    claimed: set[str] = set()
    for u, v, attrs in graph.edges(data=True):
        if attrs["kind"] in AGGREGATE_KINDS and u in placed and v in placed and u != v:
            a, b = sorted((u, v))
            weights[(a, b)] += 2.0 * attrs.get("n_papers", 1)
            claimed.update((u, v))
    for node, kind in graph.nodes(data="kind"):
        if kind == "paper":
            studied = sorted(set(graph.nodes[node].get("concepts") or ()) & placed)
            for i, a in enumerate(studied):
                for b in studied[i + 1 :]:
                    weights[(a, b)] += 1.0
    layout = nx.Graph()
    layout.add_nodes_from(concepts)  # sorted by the caller: the seeded layout is reproducible
    for (a, b), weight in sorted(weights.items()):
        layout.add_edge(a, b, weight=weight)
    if len(concepts) == 1:
        return {concepts[0]: (0.0, 0.0)}
    scale = 160.0 * math.sqrt(len(concepts))
    pos = nx.spring_layout(layout, seed=7, iterations=100, scale=scale, weight="weight")
    placed_pos = {node: (float(x), float(y)) for node, (x, y) in pos.items()}
    # Concepts no claim links (when claims link others; else nothing at all): the layout
    # leaves them far out and the map's physics has no edge to pull them in; put them on a
    # ring just outside the linked ones instead, so the map stays compact.
    alone = [n for n in concepts if (n not in claimed if claimed else layout.degree(n) == 0)]
    linked = [placed_pos[n] for n in concepts if n not in alone]
    if alone and linked:
        radius = max(math.hypot(x, y) for x, y in linked) + 180.0
        for i, node in enumerate(alone):
            angle = -math.pi / 2 + 2 * math.pi * i / len(alone)
            placed_pos[node] = (radius * math.cos(angle), radius * math.sin(angle))
    return placed_pos


def _spiral(index: int, start: float, step: float) -> tuple[float, float]:
    """The index-th point of a golden-angle spiral (evenly spread, no randomness)."""
    angle = index * 2.399963229728653
    radius = start + step * math.sqrt(index)
    return radius * math.cos(angle), radius * math.sin(angle)


def _budget(
    graph: nx.MultiDiGraph,
    concepts: list[str],
    papers: list[str],
    authors: list[str],
    max_nodes: int,
) -> tuple[list[str], list[str], str | None]:
    """Papers and authors that fit in `max_nodes` with the concepts; a note when cut."""
    room = max_nodes - len(concepts)
    nodes = graph.nodes
    if len(papers) > room:
        ranked = sorted(
            papers,
            key=lambda p: (
                -float(nodes[p].get("pagerank") or 0.0),
                -int(nodes[p].get("n_claims") or 0),
                p,
            ),
        )
        kept = sorted(ranked[: max(room, 0)])
        note = (
            f"The full view shows {len(kept)} of {len(papers)} papers (highest PageRank) and "
            f"no authors: {max_nodes} nodes at most."
        )
        return kept, [], note
    room -= len(papers)
    if len(authors) > room:
        ranked = sorted(authors, key=lambda a: (-graph.out_degree(a), a))
        kept_authors = sorted(ranked[: max(room, 0)])
        note = (
            f"The full view shows {len(kept_authors)} of {len(authors)} authors (most papers "
            f"first): {max_nodes} nodes at most."
        )
        return papers, kept_authors, note
    return papers, authors, None


def _primary(claimed: list[str], studied: list[str], graph: nx.MultiDiGraph) -> str | None:
    """The concept a paper is drawn next to: the most specific one it claims about (a factor,
    mechanism or risk before an ability), else the one it studies."""
    for pool in (claimed, studied):
        specific = [c for c in pool if graph.nodes[c]["kind"] != "ability"]
        if specific or pool:
            return (specific or pool)[0]
    return None


def _full_layout(
    graph: nx.MultiDiGraph,
    map_pos: dict[str, tuple[float, float]],
    papers: list[str],
    authors: list[str],
    paper_concepts: dict[str, tuple[list[str], list[str]]],
) -> dict[str, tuple[float, float]]:
    """Concepts where the concept map has them, spread so that each concept's papers fit
    around it; papers on a golden-angle spiral around their primary concept, authors around
    their first paper, papers about no shown concept on an outer ring. O(n), no randomness."""
    members: dict[str | None, list[str]] = defaultdict(list)
    for p in papers:
        claimed, studied = paper_concepts[p]
        anchor = _primary(
            [c for c in claimed if c in map_pos], [c for c in studied if c in map_pos], graph
        )
        members[anchor].append(p)
    authors_per_paper = len(authors) / max(len(papers), 1)
    paper_step, author_room = 16.0, 30.0 + 6.0 * math.sqrt(authors_per_paper)

    def cluster_radius(n: int) -> float:
        return 40.0 + paper_step * math.sqrt(n) + author_room

    spread = 1.0
    concepts = sorted(map_pos)
    for c in concepts:
        others = [o for o in concepts if o != c]
        if not others:
            break
        nearest = min(others, key=lambda o: math.dist(map_pos[c], map_pos[o]))
        gap = max(math.dist(map_pos[c], map_pos[nearest]), 1.0)
        need = cluster_radius(len(members[c])) + cluster_radius(len(members[nearest]))
        spread = max(spread, min(need / gap, 40.0))
    pos = {c: (x * spread, y * spread) for c, (x, y) in map_pos.items()}
    for anchor, group in members.items():
        if anchor is None:
            continue
        cx, cy = pos[anchor]
        for i, p in enumerate(group):
            dx, dy = _spiral(i, 40.0, paper_step)
            pos[p] = (cx + dx, cy + dy)
    # Papers about no shown concept: a block of their own, right of everything else.
    loose = members.get(None, [])
    right = max((x for x, _y in pos.values()), default=0.0)
    block = cluster_radius(len(loose))
    for i, p in enumerate(loose):
        dx, dy = _spiral(i, 0.0, paper_step * 1.5)
        pos[p] = (right + block + 80.0 + dx, dy)
    kept = set(papers)
    around: dict[str, int] = defaultdict(int)
    for a in authors:
        mine = sorted(
            v for _u, v, k in graph.out_edges(a, data="kind") if k == "wrote" and v in kept
        )
        cx = sum(pos[p][0] for p in mine) / len(mine)
        cy = sum(pos[p][1] for p in mine) / len(mine)
        dx, dy = _spiral(around[mine[0]], 14.0, 6.0)
        around[mine[0]] += 1
        pos[a] = (cx + dx, cy + dy)
    return pos


def page_data(
    graph: nx.MultiDiGraph,
    heading: str,
    focus: str | None = None,
    max_nodes: int = MAX_NODES,
) -> dict[str, Any]:
    """Everything the page shows, as plain data (deterministic: sorted, rounded)."""
    if focus is not None and focus not in graph:
        raise KeyError(focus)
    nodes = graph.nodes
    scope = _focus_set(graph, focus) if focus else set(graph.nodes)
    all_concepts = sorted(n for n in scope if nodes[n]["kind"] in CONCEPT_KINDS)
    aggregated = sorted(
        (u, v, k, a)
        for u, v, k, a in graph.edges(keys=True, data=True)
        if a["kind"] in AGGREGATE_KINDS and u in scope and v in scope
    )
    linked = {n for u, v, *_ in aggregated for n in (u, v)}
    studied = [c for c in all_concepts if nodes[c].get("n_papers") or c in linked]
    concepts = studied or all_concepts  # an empty graph still shows its vocabulary
    papers = sorted(n for n in scope if nodes[n]["kind"] == "paper")
    authors = sorted(
        {u for p in papers for u, _v, kind in graph.in_edges(p, data="kind") if kind == "wrote"}
    )
    papers, authors, note = _budget(graph, concepts, papers, authors, max_nodes)

    map_pos = _concept_layout(graph, concepts)
    paper_concepts = {p: _paper_concepts(graph, p) for p in papers}
    full_pos = _full_layout(graph, map_pos, papers, authors, paper_concepts)
    kept_papers = set(papers)

    def concept_node(c: str, pos: dict[str, tuple[float, float]]) -> dict[str, Any]:
        attrs = nodes[c]
        n = int(attrs.get("n_papers") or 0)
        return {
            "id": c,
            "kind": attrs["kind"],
            "label": short_label(str(attrs.get("label") or c)),
            "size": _round(min(14 + 4 * math.sqrt(n), 48)),
            "x": _round(pos[c][0]),
            "y": _round(pos[c][1]),
        }

    def aggregate_edge(u: str, v: str, k: str, a: dict[str, Any]) -> dict[str, Any]:
        years = sorted({nodes[p].get("year") or 0 for p in a["papers"]} - {0})
        return {
            "id": f"{k}|{u}|{v}",
            "from": u,
            "to": v,
            "kind": a["kind"],
            "counts": a["counts"],
            "papers": a["papers"],
            "n_papers": a["n_papers"],
            "consensus": a["consensus"],
            "years": years,
            "width": _round(1 + 1.5 * math.sqrt(a["n_papers"])),
        }

    shown = set(concepts)
    map_edges = [aggregate_edge(*e) for e in aggregated if e[0] in shown and e[1] in shown]
    map_view = {"nodes": [concept_node(c, map_pos) for c in concepts], "edges": map_edges}

    full_nodes = [concept_node(c, full_pos) for c in concepts]
    info_papers: dict[str, Any] = {}
    claims: dict[str, list[list[Any]]] = {}
    for p in papers:
        attrs = nodes[p]
        cited = int(attrs.get("cited_in_corpus") or 0)
        n_claims = int(attrs.get("n_claims") or 0)
        external = int(attrs.get("citation_count") or 0)
        size = 6 + 2.5 * math.sqrt(cited) + 1.5 * math.sqrt(n_claims) + math.log10(1 + external)
        full_nodes.append(
            {
                "id": p,
                "kind": "paper",
                "label": paper_label(attrs),
                "year": attrs.get("year"),
                "size": _round(min(size, 34)),
                "x": _round(full_pos[p][0]),
                "y": _round(full_pos[p][1]),
            }
        )
        author_list = list(attrs.get("authors") or ())
        info_papers[p] = {
            "title": attrs.get("title") or "",
            "year": attrs.get("year"),
            "published": attrs.get("published"),
            "venue": attrs.get("venue"),
            "authors": author_list[:25],
            "more_authors": max(len(author_list) - 25, 0),
            "url": safe_url(attrs.get("url")),
            "cited_in_corpus": cited,
            "citation_count": attrs.get("citation_count"),
            "pagerank": attrs.get("pagerank"),
            "concepts": sorted({*paper_concepts[p][0], *paper_concepts[p][1]}),
        }
        mine = sorted(
            (int(str(k).rsplit(":", 1)[-1]), a)
            for _u, _v, k, a in graph.out_edges(p, keys=True, data=True)
            if a["kind"] == "claims"
        )
        if mine:
            claims[p] = [
                [
                    a["subject"],
                    a["relation"],
                    a["object"],
                    a["polarity"],
                    a.get("sentence", ""),
                    bool(a.get("hedged")),
                ]
                for _n, a in mine
            ]
    info_authors: dict[str, Any] = {}
    for a in authors:
        mine = sorted(
            v for _u, v, k in graph.out_edges(a, data="kind") if k == "wrote" and v in kept_papers
        )
        years = sorted({nodes[p].get("year") or 0 for p in mine} - {0})
        n = len(mine)
        full_nodes.append(
            {
                "id": a,
                "kind": "author",
                "label": str(nodes[a].get("label") or a),
                "years": [years[0], years[-1]] if years else None,
                "size": _round(min(4 + 2 * math.sqrt(n), 16)),
                "x": _round(full_pos[a][0]),
                "y": _round(full_pos[a][1]),
            }
        )
        info_authors[a] = {"name": str(nodes[a].get("label") or a), "papers": mine}

    full_edges = list(map_edges)
    for p in papers:
        year = nodes[p].get("year")
        claimed, studied_by_p = paper_concepts[p]
        for c in claimed:
            if c in shown:
                full_edges.append(
                    {"id": f"claims|{p}|{c}", "from": p, "to": c, "kind": "claims", "year": year}
                )
        for c in studied_by_p:
            if c in shown:
                full_edges.append(
                    {"id": f"studies|{p}|{c}", "from": p, "to": c, "kind": "studies", "year": year}
                )
        for _u, cited_paper, kind in graph.out_edges(p, data="kind"):
            if kind == "cites" and cited_paper in kept_papers:
                full_edges.append(
                    {
                        "id": f"cites|{p}|{cited_paper}",
                        "from": p,
                        "to": cited_paper,
                        "kind": "cites",
                        "year": year,
                    }
                )
    for a in authors:
        for p in info_authors[a]["papers"]:
            full_edges.append(
                {
                    "id": f"wrote|{a}|{p}",
                    "from": a,
                    "to": p,
                    "kind": "wrote",
                    "year": nodes[p].get("year"),
                }
            )
    full_edges.sort(key=lambda e: e["id"])

    info_concepts = {
        c: {
            "label": str(nodes[c].get("label") or c),
            "kind": nodes[c]["kind"],
            "aliases": list(nodes[c].get("aliases") or ())[:12],
            "n_papers": int(nodes[c].get("n_papers") or 0),
            "n_claims": int(nodes[c].get("n_claims") or 0),
        }
        for c in concepts
    }
    years = sorted({y for p in papers if (y := nodes[p].get("year"))})
    return {
        "heading": heading,
        "focus": focus,
        "notes": [n for n in (note, _claims_note(graph, map_edges)) if n],
        "years": [years[0], years[-1]] if years else None,
        "kinds": [
            {"kind": k, "label": KIND_LABELS[k], "colour": KIND_COLOURS[k], "shape": KIND_SHAPES[k]}
            for k in (*CONCEPT_KINDS, "paper", "author")
        ],
        "edge_kinds": [
            {"kind": k, "label": s["label"], "colour": s["colour"]} for k, s in EDGE_STYLES.items()
        ],
        "consensus": CONSENSUS_COLOURS,
        "views": {
            "map": {**map_view, **_physics(len(map_view["nodes"]))},
            "full": {"nodes": full_nodes, "edges": full_edges, **_physics(len(full_nodes))},
        },
        "concepts": info_concepts,
        "papers": info_papers,
        "authors": info_authors,
        "claims": claims,
    }


def _claims_note(graph: nx.MultiDiGraph, map_edges: list[dict[str, Any]]) -> str | None:
    if map_edges:
        return None
    if any(kind in AGGREGATE_KINDS for _u, _v, kind in graph.edges(data="kind")):
        return "No claims link these concepts."
    return (
        "No claims have been extracted yet: the concept map shows the concepts papers study, "
        "without links; the full graph links papers to them."
    )


def _physics(n_nodes: int) -> dict[str, int]:
    """How long the page refines the layout of a view of `n_nodes`: at most `iterations`
    (fewer for bigger views), in chunks of `chunk` iterations (the time budget is checked
    between chunks), within `budget_ms` (less for big views, whose chunks cost more)."""
    if n_nodes < 2:
        return {"iterations": 0, "budget_ms": 0, "chunk": 1}
    iterations = max(MIN_ITERATIONS, min(MAX_ITERATIONS, PHYSICS_BUDGET // n_nodes))
    chunk = max(1, min(25, 10_000 // n_nodes))
    budget = BUDGET_MS if n_nodes <= 2000 else BIG_BUDGET_MS
    return {"iterations": iterations, "budget_ms": budget, "chunk": chunk}


# -- rendering ------------------------------------------------------------------------------


def script_json(value: Any) -> str:
    """JSON that is inert inside an HTML `<script>` element: `<`, `>`, `&`, U+2028 and U+2029
    are written as \\u escapes, so no text can close the element or start a comment."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _asset(name: str) -> str:
    return resources.files("kg").joinpath("page", name).read_text(encoding="utf-8")


# Barnes-Hut forces per view: the concept map is small (many exact iterations, room for its
# labels); the full view is big (a coarse approximation, `theta` 0.9, weak central gravity so
# the Python layout's clusters keep their places).
BARNES_HUT = {
    "map": {
        "gravitationalConstant": -9000,
        "theta": 0.5,
        "centralGravity": 0.25,
        "springLength": 250,
        "springConstant": 0.02,
        "damping": 0.4,
        "avoidOverlap": 0.6,
    },
    "full": {
        "gravitationalConstant": -2500,
        "theta": 0.9,
        "centralGravity": 0.05,
        "springLength": 90,
        "springConstant": 0.03,
        "damping": 0.5,
        "avoidOverlap": 0,
    },
}


def _vis_options(view: str) -> dict[str, Any]:
    return {
        "autoResize": True,
        "layout": {"improvedLayout": False, "randomSeed": 7},
        "edges": {"smooth": False, "arrows": {"to": {"enabled": True, "scaleFactor": 0.5}}},
        "nodes": {"borderWidth": 1},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": True},
        "physics": {
            "enabled": False,  # the page turns it on after the first drawing, then off again
            "solver": "barnesHut",
            "barnesHut": BARNES_HUT[view],
            "minVelocity": 0.5 if view == "map" else 1.0,
            "stabilization": {
                "enabled": True,
                "iterations": 10,
                "updateInterval": 10,
                "fit": False,
            },
        },
    }


def _pyvis_view(name: str, view: dict[str, Any]) -> dict[str, Any]:
    """A view through pyvis's `Network`: its node and edge dicts and its options."""
    from pyvis.network import Network  # rendering is separate from building: import here

    net = Network(directed=True, cdn_resources="in_line")
    for node in view["nodes"]:
        attrs = {k: v for k, v in node.items() if k not in ("id", "label")}
        net.add_node(
            node["id"],
            label=node["label"] or " ",
            shape=KIND_SHAPES[node["kind"]],
            color=KIND_COLOURS[node["kind"]],
            **attrs,
        )
    for edge in view["edges"]:
        attrs = {k: v for k, v in edge.items() if k not in ("from", "to")}
        net.add_edge(edge["from"], edge["to"], **attrs)
    net.options = _vis_options(name)
    nodes, edges, *_rest, options = net.get_network_data()
    physics = {k: view[k] for k in ("iterations", "budget_ms", "chunk")}
    return {"nodes": nodes, "edges": edges, "options": json.loads(options), **physics}


def render_html(
    graph: nx.MultiDiGraph,
    heading: str,
    focus: str | None = None,
    *,
    max_nodes: int = MAX_NODES,
    csp: bool = True,
) -> str:
    """The page as one HTML string (same graph, same bytes). `csp=False` drops the
    Content-Security-Policy (tests use it to show that escaping alone keeps text inert)."""
    from pyvis import network as pyvis_network

    data = page_data(graph, heading, focus, max_nodes)
    data["views"] = {name: _pyvis_view(name, view) for name, view in data["views"].items()}
    vis_dir = resources.files(pyvis_network.__package__ or "pyvis").joinpath(*VIS_DIR)
    vis_js = vis_dir.joinpath("vis-network.min.js").read_text(encoding="utf-8")
    app_js = _asset("page.js")
    policy = (
        "default-src 'none'; "
        f"script-src {_csp_hash(vis_js)} {_csp_hash(app_js)}; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    csp_tag = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n' if csp else ""
    template = _asset("page.html")
    parts = {
        "{{CSP}}": csp_tag,
        "{{TITLE}}": html_escape(heading, quote=True),
        "{{CSS}}": _asset("page.css"),
        "{{VIS_JS}}": vis_js,
        "{{DATA}}": script_json(data),
        "{{APP_JS}}": app_js,
    }
    return re.sub(r"\{\{[A-Z_]+\}\}", lambda m: parts[m.group(0)], template)


def write_page(graph: nx.MultiDiGraph, heading: str, out: Path, focus: str | None = None) -> Path:
    """Render the page to `out` (folders created); returns the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(graph, heading, focus), encoding="utf-8")
    return out
