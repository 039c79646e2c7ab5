"""The interactive page: a pyvis rendering of the graph that opens offline.

vis-network is inlined (pyvis `cdn_resources="in_line"`) and the template's CDN links are
removed, so the page loads nothing from the network. Layout is computed in Python with a fixed
seed and physics is off: the page draws at once and the same graph gives the same bytes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import networkx as nx

KIND_COLOURS = {
    "ability": "#d62728",
    "factor": "#1f77b4",
    "mechanism": "#2ca02c",
    "risk": "#9467bd",
    "paper": "#c7c7c7",
    "author": "#f7b6d2",
}
_EXTERNAL = re.compile(r"<(link|script)\b[^>]*\bhttps?://[^>]*>(\s*</script>)?", re.IGNORECASE)


def _tooltip(attrs: dict[str, Any]) -> str:
    """Plain-text tooltip (vis-network shows string titles as text, never as HTML)."""
    if attrs["kind"] != "paper":
        return f"{attrs.get('label', '')} ({attrs['kind']})"
    lines = [attrs.get("title") or "", f"{attrs.get('year') or ''} {attrs.get('venue') or ''}"]
    authors = attrs.get("authors") or []
    if authors:
        lines.append(", ".join(authors[:6]) + (" et al." if len(authors) > 6 else ""))
    if attrs.get("url"):
        lines.append(attrs["url"])
    return "\n".join(line.strip() for line in lines if line.strip())


def render_html(graph: nx.MultiDiGraph, heading: str) -> str:
    """The concept map with its papers: abilities, factors, mechanisms, risks and papers."""
    from pyvis.network import Network  # rendering is separate from building: import here

    # Built node by node in sorted order: a subgraph view iterates a set, whose order (and so
    # the seeded layout) would change from one process to the next.
    view = nx.MultiDiGraph()
    for node in sorted(graph.nodes):
        if graph.nodes[node]["kind"] != "author":
            view.add_node(node, **graph.nodes[node])
    for u, v, k, attrs in sorted(graph.edges(keys=True, data=True), key=lambda e: e[:3]):
        if u in view and v in view:
            view.add_edge(u, v, key=k, **attrs)
    positions = nx.spring_layout(nx.Graph(view), seed=7, iterations=60, scale=1000)
    net = Network(height="90vh", width="100%", directed=True, cdn_resources="in_line", heading="")
    for node in sorted(view.nodes):
        attrs = view.nodes[node]
        is_paper = attrs["kind"] == "paper"
        x, y = positions[node]
        net.add_node(
            node,
            label="" if is_paper else attrs.get("label", node),
            title=_tooltip(attrs),
            color=KIND_COLOURS[attrs["kind"]],
            size=6 if is_paper else 18,
            x=round(float(x), 2),
            y=round(float(y), 2),
            physics=False,
        )
    for u, v, _key, attrs in sorted(view.edges(keys=True, data=True), key=lambda e: e[:3]):
        if attrs["kind"] in ("affects", "explains"):
            net.add_edge(u, v, title=f"{attrs['kind']}: {attrs['counts']}", width=2)
        elif attrs["kind"] in ("cites", "claims"):
            net.add_edge(u, v, color="#dddddd", width=1)
    net.toggle_physics(False)
    page = net.generate_html(notebook=False)
    page = _EXTERNAL.sub("", page)
    title = f"<title>{html.escape(heading)}</title>"
    return page.replace("<head>", f"<head>\n{title}", 1)
