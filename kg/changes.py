"""What a refresh changed: a pure diff of two graphs and the `CHANGES.md` it appends to.

The change set is derived from the graph itself, the previous `graph.json` against the new one,
so it says what a reader of the graph sees change, whichever stage caused it: papers added,
withdrawn or updated to a new arXiv version, claims added or dropped, and concept pairs whose
consensus changed. Consensus is read from an aggregated `affects`/`explains` edge:

- `single-source`: one paper makes claims about the pair;
- `contested`: two or more papers, with opposite polarities among their claims (`increases` vs
  `decreases`; `no-effect` vs any effect; `supports` vs `refutes`);
- `agreed`: two or more papers and no opposite polarities;
- `no claims`: the pair has no aggregated edge.

`CHANGES.md` lists entries newest first. Each entry carries a marker with the hashes of the
graph before and after (`<!-- kg-changes from=... to=... -->`), which depend only on the graph:
an entry whose graph was never published (the run was killed before `graph.json` was renamed
into place) is replaced by the next run's entry instead of being repeated.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from kg.records import POLARITIES, normalize_title

CHANGES_FILE = "CHANGES.md"
HEADER = (
    "# Changes\n\n"
    "What each refresh changed in this graph, newest first (written by `kg refresh`; "
    "`kg changes` lists the same from the store).\n"
)
MAX_LISTED = 50
_MARKER = re.compile(r"<!-- kg-changes from=(?P<from>\S+) to=(?P<to>\S+) -->")
# Paper attributes derived from the rest of the graph: a change there is not a paper update.
_DERIVED = {"pagerank", "cited_in_corpus"}
_OPPOSED = {
    "affects": (
        ({"increases"}, {"decreases"}),
        ({"no-effect"}, {"increases", "decreases", "matters"}),
    ),
    "explains": (({"supports"}, {"refutes"}),),
}


def graph_hash(data: bytes) -> str:
    """The short content hash of a `graph.json` that markers and the store record."""
    return hashlib.sha256(data).hexdigest()[:16]


def consensus(relation: str, counts: dict[str, int] | None, n_papers: int) -> str:
    """`no claims`, `single-source`, `agreed` or `contested` (see the module docstring)."""
    if not counts or n_papers == 0:
        return "no claims"
    if n_papers == 1:
        return "single-source"
    present = {polarity for polarity, n in counts.items() if n}
    for left, right in _OPPOSED.get(relation, ()):
        if present & left and present & right:
            return "contested"
    return "agreed"


@dataclass
class ChangeSet:
    """The difference between two graphs, in the terms a reader cares about."""

    first_build: bool = False
    papers_added: list[dict[str, Any]] = field(default_factory=list)
    papers_withdrawn: list[dict[str, Any]] = field(default_factory=list)
    papers_new_version: list[dict[str, Any]] = field(default_factory=list)
    papers_rekeyed: list[dict[str, Any]] = field(default_factory=list)
    claims_added: list[dict[str, Any]] = field(default_factory=list)
    claims_removed: list[dict[str, Any]] = field(default_factory=list)
    consensus_changed: list[dict[str, Any]] = field(default_factory=list)
    citations_added: int = 0
    citations_removed: int = 0
    papers_updated: int = 0
    concepts_changed: int = 0
    details_changed: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangeSet:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def headline(self) -> str:
        """One line: `3 new papers, 5 new claims, 1 consensus change` (or `no changes`)."""
        if self.first_build:
            return (
                f"first build: {self.totals.get('papers', 0)} papers, "
                f"{self.totals.get('claims', 0)} claims"
            )
        parts = [
            (len(self.papers_added), "new paper", "new papers"),
            (len(self.papers_new_version), "new version", "new versions"),
            (
                len(self.papers_withdrawn),
                "paper withdrawn or removed",
                "papers withdrawn or removed",
            ),
            (len(self.claims_added), "new claim", "new claims"),
            (len(self.claims_removed), "dropped claim", "dropped claims"),
            (len(self.consensus_changed), "consensus change", "consensus changes"),
            (self.citations_added, "new citation", "new citations"),
            (self.papers_updated, "paper updated", "papers updated"),
        ]
        shown = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
        others = (
            len(self.papers_rekeyed),
            self.citations_removed,
            self.concepts_changed,
            self.details_changed,
        )
        if not shown and any(others):
            shown.append("other details updated")
        return ", ".join(shown) or "no changes"

    @property
    def empty(self) -> bool:
        return self.headline() == "no changes"


def _papers(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not data:
        return {}
    return {n["id"]: n for n in data["nodes"] if n.get("kind") == "paper"}


def _claims(data: dict[str, Any] | None) -> Counter[tuple[str, str, str, str, str]]:
    found: Counter[tuple[str, str, str, str, str]] = Counter()
    for edge in (data or {}).get("edges", ()):
        if edge.get("kind") == "claims":
            found[
                (
                    edge["source"],
                    edge["subject"],
                    edge["relation"],
                    edge["object"],
                    edge["polarity"],
                )
            ] += 1
    return found


def _aggregates(data: dict[str, Any] | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (e["source"], e["target"], e["kind"]): e
        for e in (data or {}).get("edges", ())
        if e.get("kind") in ("affects", "explains")
    }


def _citations(data: dict[str, Any] | None) -> set[tuple[str, str]]:
    return {
        (e["source"], e["target"]) for e in (data or {}).get("edges", ()) if e["kind"] == "cites"
    }


def _paper_row(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node["id"],
        "title": node.get("title") or node.get("label"),
        "year": node.get("year"),
    }


def diff_graphs(old: dict[str, Any] | None, new: dict[str, Any]) -> ChangeSet:
    """What changed from node-link data `old` (None: nothing was built before) to `new`."""
    old_papers, new_papers = _papers(old), _papers(new)
    new_claims = _claims(new)
    changes = ChangeSet(
        first_build=old is None,
        totals={"papers": len(new_papers), "claims": sum(new_claims.values())},
    )
    if old is None:
        return changes
    added = sorted(set(new_papers) - set(old_papers))
    gone = sorted(set(old_papers) - set(new_papers))
    # A work first seen without an arXiv id is rekeyed when one turns up: same title, new key.
    by_title = {normalize_title(new_papers[p].get("title") or ""): p for p in added}
    for paper in list(gone):
        twin = by_title.get(normalize_title(old_papers[paper].get("title") or ""))
        if twin and twin in added:
            changes.papers_rekeyed.append({"from": paper, "to": twin})
            added.remove(twin)
            gone.remove(paper)
    changes.papers_added = [_paper_row(new_papers[p]) for p in added]
    changes.papers_withdrawn = [_paper_row(old_papers[p]) for p in gone]
    for paper in sorted(set(old_papers) & set(new_papers)):
        before, after = old_papers[paper], new_papers[paper]
        if after.get("withdrawn") and not before.get("withdrawn"):
            changes.papers_withdrawn.append(_paper_row(after))
            continue
        v_old, v_new = before.get("arxiv_version"), after.get("arxiv_version")
        if isinstance(v_old, int) and isinstance(v_new, int) and v_new > v_old:
            changes.papers_new_version.append({**_paper_row(after), "from": v_old, "to": v_new})
        elif {k: v for k, v in before.items() if k not in _DERIVED} != {
            k: v for k, v in after.items() if k not in _DERIVED
        }:
            changes.papers_updated += 1
    old_claims = _claims(old)
    for claim, n in sorted((new_claims - old_claims).items()):
        changes.claims_added.extend([_claim_row(claim)] * n)
    for claim, n in sorted((old_claims - new_claims).items()):
        changes.claims_removed.extend([_claim_row(claim)] * n)
    old_agg, new_agg = _aggregates(old), _aggregates(new)
    for pair in sorted(set(old_agg) | set(new_agg)):
        before_edge, after_edge = old_agg.get(pair, {}), new_agg.get(pair, {})
        relation = pair[2]
        was = consensus(relation, before_edge.get("counts"), before_edge.get("n_papers", 0))
        now = consensus(relation, after_edge.get("counts"), after_edge.get("n_papers", 0))
        if was != now:
            changes.consensus_changed.append(
                {
                    "subject": pair[0],
                    "object": pair[1],
                    "relation": relation,
                    "before": was,
                    "after": now,
                    "counts": after_edge.get("counts") or {},
                    "n_papers": after_edge.get("n_papers", 0),
                }
            )
    old_cites, new_cites = _citations(old), _citations(new)
    changes.citations_added = len(new_cites - old_cites)
    changes.citations_removed = len(old_cites - new_cites)
    old_concepts = {n["id"]: n for n in old["nodes"] if n.get("kind") not in ("paper", "author")}
    new_concepts = {n["id"]: n for n in new["nodes"] if n.get("kind") not in ("paper", "author")}
    changes.concepts_changed = sum(
        1
        for c in set(old_concepts) | set(new_concepts)
        if old_concepts.get(c) != new_concepts.get(c)
    )
    old_cite_attrs, new_cite_attrs = _cite_attrs(old), _cite_attrs(new)
    changes.details_changed = sum(
        1
        for pair in set(old_cite_attrs) & set(new_cite_attrs)
        if old_cite_attrs[pair] != new_cite_attrs[pair]
    ) + int(old.get("graph") != new.get("graph"))
    if changes.empty and old != new:
        changes.details_changed += 1  # something no category above describes
    return changes


def _cite_attrs(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): e for e in data.get("edges", ()) if e["kind"] == "cites"}


def _claim_row(claim: tuple[str, str, str, str, str]) -> dict[str, str]:
    paper, subject, relation, obj, polarity = claim
    return {
        "paper": paper,
        "subject": subject,
        "relation": relation,
        "object": obj,
        "polarity": polarity,
    }


# -- CHANGES.md -----------------------------------------------------------------------------


def _paper_link(row: dict[str, Any]) -> str:
    key = row["id"]
    link = f"[{key}](https://arxiv.org/abs/{key})" if key[:1].isdigit() else f"`{key}`"
    year = f" ({row['year']})" if row.get("year") else ""
    return f"{link} {row.get('title') or ''}{year}".rstrip()


def _section(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    shown = lines[:MAX_LISTED]
    more = len(lines) - len(shown)
    tail = [f"- ... and {more} more (`kg changes --json` lists all)"] if more else []
    return [f"### {title} ({len(lines)})", "", *shown, *tail, ""]


def render_changes(changes: ChangeSet) -> str:
    """The body of a change entry in Markdown (sections for what changed)."""
    if changes.first_build:
        return (
            f"First build of this graph: {changes.totals.get('papers', 0)} papers, "
            f"{changes.totals.get('claims', 0)} claims.\n"
        )
    claim = "- {paper}: `{subject}` {relation} `{object}` ({polarity})"
    lines = [
        *_section("New papers", [f"- {_paper_link(r)}" for r in changes.papers_added]),
        *_section(
            "Updated to a new arXiv version",
            [f"- {_paper_link(r)}: v{r['from']} → v{r['to']}" for r in changes.papers_new_version],
        ),
        *_section(
            "Withdrawn or removed", [f"- {_paper_link(r)}" for r in changes.papers_withdrawn]
        ),
        *_section("New claims", [claim.format(**c) for c in changes.claims_added]),
        *_section("Dropped claims", [claim.format(**c) for c in changes.claims_removed]),
        *_section(
            "Consensus changed",
            [
                f"- `{c['subject']}` {c['relation']} `{c['object']}`: {c['before']} → "
                f"{c['after']} ({_counts(c['relation'], c['counts'])}; {c['n_papers']} papers)"
                for c in changes.consensus_changed
            ],
        ),
    ]
    also = [
        f"{label}: {n}"
        for label, n in (
            ("new citations", changes.citations_added),
            ("removed citations", changes.citations_removed),
            ("papers with updated metadata", changes.papers_updated),
            ("papers given a new identifier", len(changes.papers_rekeyed)),
            ("concepts added, removed or relabelled", changes.concepts_changed),
            ("other details (citation contexts, graph attributes)", changes.details_changed),
        )
        if n
    ]
    if also:
        lines += ["### Also", "", "- " + "; ".join(also), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _counts(relation: str, counts: dict[str, int]) -> str:
    order = [*POLARITIES.get(relation, ()), *sorted(counts)]
    shown = dict.fromkeys(order)
    return ", ".join(f"{k} {counts[k]}" for k in shown if counts.get(k)) or "none"


def render_entry(changes: ChangeSet, date: str, from_graph: str | None, to_graph: str) -> str:
    """One dated `CHANGES.md` entry with its marker."""
    marker = f"<!-- kg-changes from={from_graph or 'none'} to={to_graph} -->"
    return f"## {date}: {changes.headline()}\n{marker}\n\n{render_changes(changes)}"


def update_changelog(
    existing: str | None, changes: ChangeSet, date: str, from_graph: str | None, to_graph: str
) -> str | None:
    """The new `CHANGES.md` text with this change on top, or None when it is there already.

    An entry from the same `from_graph` on top was never published (the graph on disk is still
    `from_graph`): it is replaced rather than kept twice.
    """
    entry = render_entry(changes, date, from_graph, to_graph)
    text = existing or ""
    body = text[len(HEADER) :] if text.startswith(HEADER) else text
    body = body.lstrip("\n")
    top = _MARKER.search(body.split("\n## ", 1)[0]) if body.startswith("## ") else None
    if top and top["from"] == (from_graph or "none"):
        if top["to"] == to_graph:
            return None
        rest = body.split("\n## ", 1)
        body = "## " + rest[1] if len(rest) > 1 else ""
    return f"{HEADER}\n{entry}" + (f"\n{body}" if body else "")


def top_entry(text: str) -> tuple[str, str] | None:
    """The (from, to) graph hashes of the newest entry of a `CHANGES.md`, if any."""
    match = _MARKER.search(text)
    return (match["from"], match["to"]) if match else None
