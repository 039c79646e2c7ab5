"""What the online harvest remembers between requests and runs, in the store's own file.

- **Generations.** One harvest pass over every configured query is a generation. A pass that
  ends with failures stays open; a run within `harvest.resume_hours` resumes it, skipping the
  parts already done, so no completed page is fetched again.
- **Parts.** One row per arXiv query or Semantic Scholar search with its cursor: the window,
  the next result offset or the bulk-search continuation token. A part's cursor is written in
  the same transaction as the records of the page it follows.
- **Per paper.** `s2_state` says which corpus papers were looked up in Semantic Scholar (and
  when), how far their references and citations were paged, and at which snowball depth they
  joined.
- **Out-of-corpus works.** `s2_works` and `s2_references` keep the works corpus papers cite,
  with the citing sentences, so an edge becomes a citation as soon as both ends are stored,
  and snowballing can count how many corpus papers cite a work.

All SQL here is parameterised and runs on the `Store`'s connection (see migration 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kg.store import Store

DONE = -1  # refs_next / cits_next once a paper's edges are all fetched


@dataclass(frozen=True)
class Part:
    """A query's progress: the generation it belongs to, its status and its cursor."""

    key: str
    generation: int
    status: str  # "pending" | "done"
    cursor: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """An out-of-corpus work and how many corpus papers (below the depth limit) cite it."""

    s2_paper_id: str
    citing: int
    depth: int  # depth it joins at: 1 + the deepest citing paper
    title: str | None
    abstract: str | None
    arxiv_id: str | None
    doi: str | None


class HarvestState:
    """Harvest bookkeeping over an open `Store` (no transactions of its own: callers group)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- generations and parts --------------------------------------------------------------

    def open_generation(
        self, now: datetime, resume_hours: int, run_id: int | None
    ) -> tuple[int, bool]:
        """(generation, resumed): the open pass if younger than `resume_hours`, else a new one."""
        with self.store.transaction():
            row = self.db.execute(
                "SELECT generation, started_at, closed_at FROM harvest_generations "
                "ORDER BY generation DESC LIMIT 1"
            ).fetchone()
            if row and row["closed_at"] is None:
                started = datetime.fromisoformat(row["started_at"])
                if now - started < timedelta(hours=resume_hours):
                    return int(row["generation"]), True
                self.close_generation(int(row["generation"]), now)
            generation = int(row["generation"]) + 1 if row else 1
            self.db.execute(
                "INSERT INTO harvest_generations (generation, started_at, run_id) VALUES (?, ?, ?)",
                (generation, now.isoformat(timespec="seconds"), run_id),
            )
            return generation, False

    def generation_started(self, generation: int) -> datetime:
        row = self.db.execute(
            "SELECT started_at FROM harvest_generations WHERE generation = ?", (generation,)
        ).fetchone()
        return datetime.fromisoformat(row[0])

    def close_generation(self, generation: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE harvest_generations SET closed_at = ? WHERE generation = ?",
            (now.isoformat(timespec="seconds"), generation),
        )

    def part(self, key: str) -> Part | None:
        row = self.db.execute(
            "SELECT generation, status, cursor FROM harvest_parts WHERE part = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return Part(key, int(row[0]), str(row[1]), json.loads(row[2]))

    def save_part(
        self,
        key: str,
        generation: int,
        status: str,
        cursor: dict[str, Any],
        run_id: int | None,
        now: datetime,
    ) -> None:
        self.db.execute(
            "INSERT INTO harvest_parts (part, generation, status, cursor, run_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(part) DO UPDATE SET "
            "generation = excluded.generation, status = excluded.status, "
            "cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at",
            (
                key,
                generation,
                status,
                json.dumps(cursor, sort_keys=True),
                run_id,
                now.isoformat(timespec="seconds"),
            ),
        )

    # -- Semantic Scholar, per corpus paper -------------------------------------------------

    def papers_to_enrich(
        self, generation: int, stale_before: datetime
    ) -> list[tuple[str, str | None, str | None, str | None]]:
        """(key, arXiv id, DOI, S2 id) of papers never looked up, not found in an earlier
        generation, or whose Semantic Scholar data is older than `stale_before`."""
        rows = self.db.execute(
            "SELECT p.paper_id, p.arxiv_id, p.doi, p.s2_paper_id FROM papers p "
            "LEFT JOIN s2_state s USING (paper_id) "
            "WHERE s.paper_id IS NULL OR s.lookup_generation IS NULL "
            "OR (s.found = 0 AND s.lookup_generation < ?) "
            "OR (s.found = 1 AND (s.enriched_at IS NULL OR s.enriched_at < ?)) "
            "ORDER BY p.paper_id",
            (generation, stale_before.isoformat(timespec="seconds")),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def mark_lookup(
        self,
        key: str,
        generation: int,
        *,
        found: bool,
        now: datetime,
        depth: int | None = None,
    ) -> None:
        """Record a batch lookup of corpus paper `key` (found or not) in `generation`."""
        self.db.execute(
            "INSERT INTO s2_state (paper_id, lookup_generation, found, enriched_at, depth) "
            "VALUES (?, ?, ?, ?, COALESCE(?, 0)) ON CONFLICT(paper_id) DO UPDATE SET "
            "lookup_generation = excluded.lookup_generation, found = excluded.found, "
            "enriched_at = COALESCE(excluded.enriched_at, s2_state.enriched_at), "
            "depth = COALESCE(?, s2_state.depth)",
            (
                key,
                generation,
                int(found),
                now.isoformat(timespec="seconds") if found else None,
                depth,
                depth,
            ),
        )

    def edges_todo(self, kind: str) -> list[tuple[str, str, int]]:
        """(key, S2 paperId, next offset) of found papers whose `kind` edges are not all in."""
        column = "refs_next" if kind == "references" else "cits_next"
        rows = self.db.execute(
            f"SELECT s.paper_id, p.s2_paper_id, s.{column} FROM s2_state s "
            "JOIN papers p USING (paper_id) "
            f"WHERE s.found = 1 AND p.s2_paper_id IS NOT NULL AND s.{column} >= 0 "
            "ORDER BY s.paper_id"
        ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def set_edges_next(self, kind: str, key: str, offset: int) -> None:
        column = "refs_next" if kind == "references" else "cits_next"
        self.db.execute(f"UPDATE s2_state SET {column} = ? WHERE paper_id = ?", (offset, key))

    # -- out-of-corpus works and reference edges --------------------------------------------

    def add_work(
        self,
        s2_paper_id: str,
        arxiv_id: str | None,
        doi: str | None,
        title: str | None,
        abstract: str | None,
        year: int | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO s2_works (s2_paper_id, arxiv_id, doi, title, abstract, year) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(s2_paper_id) DO UPDATE SET "
            "arxiv_id = COALESCE(excluded.arxiv_id, s2_works.arxiv_id), "
            "doi = COALESCE(excluded.doi, s2_works.doi), "
            "title = COALESCE(excluded.title, s2_works.title), "
            "abstract = COALESCE(excluded.abstract, s2_works.abstract), "
            "year = COALESCE(excluded.year, s2_works.year)",
            (s2_paper_id, arxiv_id, doi, title, abstract, year),
        )

    def add_reference(
        self,
        citing: str,
        cited_s2: str,
        contexts: Iterable[str],
        intents: Iterable[str],
        is_influential: bool | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO s2_references (citing, cited_s2, contexts, intents, is_influential) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(citing, cited_s2) DO UPDATE SET "
            "contexts = excluded.contexts, intents = excluded.intents, "
            "is_influential = excluded.is_influential",
            (
                citing,
                cited_s2,
                json.dumps(list(contexts)),
                json.dumps(list(intents)),
                None if is_influential is None else int(is_influential),
            ),
        )

    def resolve_ids(
        self, s2_paper_id: str | None, arxiv_id: str | None, doi: str | None
    ) -> str | None:
        """The stored paper with one of these ids (S2 id, then arXiv id, then DOI), or None."""
        aliases = []
        if s2_paper_id:
            aliases += [f"s2:{s2_paper_id}", f"id:s2:{s2_paper_id}"]
        if arxiv_id:
            aliases.append(f"arxiv:{arxiv_id}")
        if doi:
            aliases.append(f"doi:{doi.lower()}")
        return self.store.key_of(aliases)

    def unlinked_references(self) -> list[tuple[str, str, str, list[str], list[str], bool | None]]:
        """(citing, cited S2 id, cited key, contexts, intents, influential) of edges not yet
        stored as citations whose cited work is now a stored paper."""
        rows = self.db.execute(
            "SELECT r.citing, r.cited_s2, r.contexts, r.intents, r.is_influential, "
            "COALESCE(a1.paper_id, a4.paper_id, a2.paper_id, a3.paper_id) AS cited "
            "FROM s2_references r LEFT JOIN s2_works w ON w.s2_paper_id = r.cited_s2 "
            "LEFT JOIN paper_aliases a1 ON a1.alias = 's2:' || r.cited_s2 "
            "LEFT JOIN paper_aliases a4 ON a4.alias = 'id:s2:' || r.cited_s2 "
            "LEFT JOIN paper_aliases a2 ON a2.alias = 'arxiv:' || w.arxiv_id "
            "LEFT JOIN paper_aliases a3 ON a3.alias = 'doi:' || lower(w.doi) "
            "WHERE r.linked = 0 AND cited IS NOT NULL ORDER BY r.citing, r.cited_s2"
        ).fetchall()
        return [
            (
                r[0],
                r[1],
                r[5],
                json.loads(r[2]),
                json.loads(r[3]),
                None if r[4] is None else bool(r[4]),
            )
            for r in rows
        ]

    def mark_linked(self, citing: str, cited_s2: str) -> None:
        self.db.execute(
            "UPDATE s2_references SET linked = 1 WHERE citing = ? AND cited_s2 = ?",
            (citing, cited_s2),
        )

    def snowball_candidates(self, min_citing: int, depth: int, generation: int) -> list[Candidate]:
        """Works cited by >= `min_citing` corpus papers of depth < `depth`, not stored yet and
        not already looked up without success in this generation."""
        rows = self.db.execute(
            "SELECT r.cited_s2, COUNT(DISTINCT r.citing) AS n, "
            "MAX(COALESCE(s.depth, 0)) + 1 AS d, w.title, w.abstract, w.arxiv_id, w.doi "
            "FROM s2_references r JOIN s2_works w ON w.s2_paper_id = r.cited_s2 "
            "LEFT JOIN s2_state s ON s.paper_id = r.citing "
            "WHERE COALESCE(s.depth, 0) < ? AND r.linked = 0 "
            "AND NOT (COALESCE(w.found, 1) = 0 AND COALESCE(w.lookup_generation, 0) = ?) "
            "GROUP BY r.cited_s2 HAVING n >= ? ORDER BY n DESC, r.cited_s2",
            (depth, generation, min_citing),
        ).fetchall()
        found = [Candidate(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], r[6]) for r in rows]
        return [c for c in found if self.resolve_ids(c.s2_paper_id, c.arxiv_id, c.doi) is None]

    def mark_work_lookup(self, s2_paper_id: str, generation: int, found: bool) -> None:
        self.db.execute(
            "UPDATE s2_works SET lookup_generation = ?, found = ? WHERE s2_paper_id = ?",
            (generation, int(found), s2_paper_id),
        )

    def merges_in_run(self, run_id: int | None) -> int:
        if run_id is None:
            return 0
        return int(
            self.db.execute("SELECT COUNT(*) FROM merges WHERE run_id = ?", (run_id,)).fetchone()[0]
        )
