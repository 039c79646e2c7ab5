"""The SQLite store: papers, authors, citations, claims, runs and harvest watermarks.

One file per pipeline under `KG_HOME` (default: the per-user data folder, never the working
directory). The schema carries a version (`PRAGMA user_version`) and is migrated forward on open;
foreign keys are enforced and the journal is WAL. Every upsert is idempotent: writing the same
record twice changes nothing the second time. All SQL is parameterised.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs

from kg.errors import StoreError
from kg.records import Author, Citation, Claim, Extraction, Paper, normalize_title

# Forward migrations: MIGRATIONS[n] takes a store from schema version n to n + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE papers (
        paper_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        abstract TEXT,
        published TEXT,
        updated TEXT,
        year INTEGER,
        categories TEXT NOT NULL DEFAULT '[]',
        venue TEXT,
        doi TEXT,
        arxiv_id TEXT,
        arxiv_version INTEGER,
        s2_paper_id TEXT,
        s2_corpus_id INTEGER,
        citation_count INTEGER,
        influential_citation_count INTEGER,
        reference_count INTEGER,
        abstract_complete INTEGER,
        url TEXT,
        field_sources TEXT NOT NULL DEFAULT '{}',
        content_hash TEXT NOT NULL,
        first_run INTEGER,
        changed_run INTEGER
    );
    CREATE TABLE paper_aliases (
        alias TEXT PRIMARY KEY,
        paper_id TEXT NOT NULL REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE
    );
    CREATE INDEX paper_aliases_paper ON paper_aliases(paper_id);
    CREATE TABLE authors (
        author_id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE paper_authors (
        paper_id TEXT NOT NULL REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        position INTEGER NOT NULL,
        author_id TEXT NOT NULL REFERENCES authors(author_id),
        name TEXT NOT NULL,
        PRIMARY KEY (paper_id, position)
    );
    CREATE INDEX paper_authors_author ON paper_authors(author_id);
    CREATE TABLE citations (
        citing TEXT NOT NULL REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        cited TEXT NOT NULL REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        source TEXT NOT NULL,
        contexts TEXT NOT NULL DEFAULT '[]',
        intents TEXT NOT NULL DEFAULT '[]',
        is_influential INTEGER,
        PRIMARY KEY (citing, cited)
    );
    CREATE INDEX citations_cited ON citations(cited);
    CREATE TABLE extractions (
        paper_id TEXT PRIMARY KEY
            REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        extractor_version TEXT NOT NULL,
        concepts TEXT NOT NULL,
        run_id INTEGER
    );
    CREATE TABLE claims (
        paper_id TEXT NOT NULL REFERENCES extractions(paper_id)
            ON UPDATE CASCADE ON DELETE CASCADE,
        position INTEGER NOT NULL,
        subject TEXT NOT NULL,
        relation TEXT NOT NULL,
        object TEXT NOT NULL,
        polarity TEXT NOT NULL,
        sentence TEXT NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        hedged INTEGER NOT NULL,
        confidence REAL NOT NULL,
        extractor_version TEXT NOT NULL,
        PRIMARY KEY (paper_id, position)
    );
    CREATE INDEX claims_pair ON claims(subject, object);
    CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        mode TEXT NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}',
        watermarks_before TEXT NOT NULL DEFAULT '{}',
        watermarks_after TEXT NOT NULL DEFAULT '{}',
        message TEXT
    );
    CREATE TABLE watermarks (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        run_id INTEGER,
        PRIMARY KEY (source, key)
    );
    CREATE TABLE merges (
        merge_id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER,
        kept TEXT NOT NULL,
        merged TEXT NOT NULL,
        rule TEXT NOT NULL
    );
    """,
    # 1 -> 2: online harvest state (kg.harvest_state): resumable cursors per query, Semantic
    # Scholar progress per corpus paper, and the out-of-corpus works corpus papers cite.
    """
    CREATE TABLE harvest_generations (
        generation INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        closed_at TEXT,
        run_id INTEGER
    );
    CREATE TABLE harvest_parts (
        part TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        status TEXT NOT NULL,
        cursor TEXT NOT NULL DEFAULT '{}',
        run_id INTEGER,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE s2_state (
        paper_id TEXT PRIMARY KEY
            REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        lookup_generation INTEGER,
        found INTEGER,
        enriched_at TEXT,
        refs_next INTEGER NOT NULL DEFAULT 0,
        cits_next INTEGER NOT NULL DEFAULT 0,
        depth INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE s2_works (
        s2_paper_id TEXT PRIMARY KEY,
        arxiv_id TEXT,
        doi TEXT,
        title TEXT,
        abstract TEXT,
        year INTEGER,
        lookup_generation INTEGER,
        found INTEGER
    );
    CREATE TABLE s2_references (
        citing TEXT NOT NULL REFERENCES papers(paper_id) ON UPDATE CASCADE ON DELETE CASCADE,
        cited_s2 TEXT NOT NULL,
        contexts TEXT NOT NULL DEFAULT '[]',
        intents TEXT NOT NULL DEFAULT '[]',
        is_influential INTEGER,
        linked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (citing, cited_s2)
    );
    CREATE INDEX s2_references_cited ON s2_references(cited_s2);
    CREATE INDEX s2_references_unlinked ON s2_references(linked);
    """,
    # 2 -> 3: refresh bookkeeping. `state` holds each stage's cache key (what it last saw);
    # `changes` what each run changed in the graph; `generation` counts every write to the
    # tables the graph is built from (kept by triggers, whoever writes), so a refresh can tell
    # in O(1) whether anything changed since it last extracted or built.
    """
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        run_id INTEGER
    );
    CREATE TABLE changes (
        run_id INTEGER PRIMARY KEY REFERENCES runs(run_id),
        recorded_at TEXT NOT NULL,
        out_dir TEXT NOT NULL,
        from_graph TEXT,
        to_graph TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE TABLE generation (n INTEGER NOT NULL);
    INSERT INTO generation (n) VALUES (0);
    CREATE TRIGGER generation_papers_insert AFTER INSERT ON papers
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_papers_update AFTER UPDATE ON papers
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_papers_delete AFTER DELETE ON papers
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_paper_authors_insert AFTER INSERT ON paper_authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_paper_authors_update AFTER UPDATE ON paper_authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_paper_authors_delete AFTER DELETE ON paper_authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_authors_insert AFTER INSERT ON authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_authors_update AFTER UPDATE ON authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_authors_delete AFTER DELETE ON authors
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_citations_insert AFTER INSERT ON citations
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_citations_update AFTER UPDATE ON citations
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_citations_delete AFTER DELETE ON citations
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_extractions_insert AFTER INSERT ON extractions
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_extractions_update AFTER UPDATE ON extractions
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_extractions_delete AFTER DELETE ON extractions
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_claims_insert AFTER INSERT ON claims
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_claims_update AFTER UPDATE ON claims
        BEGIN UPDATE generation SET n = n + 1; END;
    CREATE TRIGGER generation_claims_delete AFTER DELETE ON claims
        BEGIN UPDATE generation SET n = n + 1; END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Which source wins a field when two disagree (earlier wins; a source not listed ranks last).
# A lower-ranked source only fills fields that are still empty.
FIELD_PRECEDENCE: dict[str, tuple[str, ...]] = {
    "title": ("arxiv", "snapshot", "s2"),
    "abstract": ("arxiv", "snapshot", "s2"),
    "authors": ("arxiv", "snapshot", "s2"),
    "categories": ("arxiv", "snapshot", "s2"),
    "published": ("arxiv", "snapshot", "s2"),
    "updated": ("arxiv", "snapshot", "s2"),
    "arxiv_version": ("arxiv", "snapshot", "s2"),
    "venue": ("s2", "snapshot", "arxiv"),
    "citation_count": ("s2", "snapshot"),
    "influential_citation_count": ("s2", "snapshot"),
    "reference_count": ("s2", "snapshot"),
}
_DEFAULT_PRECEDENCE = ("arxiv", "s2", "snapshot")
_MERGED_FIELDS = tuple(f.name for f in fields(Paper) if f.name not in {"paper_id", "source"})

UpsertOutcome = Literal["new", "updated", "unchanged"]


def default_home() -> Path:
    """`KG_HOME`, else the per-user data folder (e.g. ~/.local/share/kg)."""
    env = os.environ.get("KG_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("kg"))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _statements(script: str) -> Iterator[str]:
    """Split an SQL script into statements (a trigger body's `;` does not end its statement)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip().rstrip(";").strip():
                yield buffer.strip()
            buffer = ""


def _rank(field_name: str, source: str) -> int:
    order = FIELD_PRECEDENCE.get(field_name, _DEFAULT_PRECEDENCE)
    return order.index(source) if source in order else len(order)


def _empty(value: object) -> bool:
    return value is None or value == "" or value == ()


@dataclass(frozen=True)
class Run:
    """One row of the run ledger."""

    run_id: int
    started_at: str
    ended_at: str | None
    status: str
    pipeline: str
    mode: str
    counts: dict[str, Any]
    watermarks_before: dict[str, str]
    watermarks_after: dict[str, str]
    message: str | None


@dataclass(frozen=True)
class ChangeRecord:
    """What one run changed in the graph it wrote to `out_dir` (graph hashes before/after)."""

    run_id: int
    started_at: str
    status: str
    out_dir: str
    from_graph: str | None
    to_graph: str
    summary: dict[str, Any]


class Store:
    """A kg store on disk. Use as a context manager, or call `close()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the store {self.path}: {exc}; check that KG_HOME is writable"
            ) from None

    @classmethod
    def for_pipeline(cls, name: str, home: Path | None = None) -> Store:
        """The store of pipeline `name` under `home` (default `default_home()`)."""
        return cls((home or default_home()) / f"{name}.sqlite3")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this kg "
                f"({SCHEMA_VERSION}); upgrade kg"
            )
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _statements(MIGRATIONS[target]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {target + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT; rolls back on any error. Nested calls join the outer one."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- papers -----------------------------------------------------------------------------

    def resolve(self, paper: Paper) -> str | None:
        """The key of the stored work `paper` is, by arXiv id, DOI, S2 id, then title."""
        return self.key_of(self._aliases(paper))

    def key_of(self, aliases: Iterable[str]) -> str | None:
        """The key of the stored paper holding the first of `aliases` that one holds."""
        for alias in aliases:
            row = self.db.execute(
                "SELECT paper_id FROM paper_aliases WHERE alias = ?", (alias,)
            ).fetchone()
            if row:
                return str(row[0])
        return None

    @staticmethod
    def _aliases(paper: Paper) -> list[str]:
        aliases = [f"id:{paper.paper_id}"]
        if paper.arxiv_id:
            aliases.append(f"arxiv:{paper.arxiv_id}")
        if paper.doi:
            aliases.append(f"doi:{paper.doi.lower()}")
        if paper.s2_paper_id:
            aliases.append(f"s2:{paper.s2_paper_id}")
        title = normalize_title(paper.title)
        if len(title) >= 20:
            aliases.append(f"title:{title}")
        return aliases

    def upsert_paper(self, paper: Paper, run_id: int | None = None) -> UpsertOutcome:
        """Insert `paper` or merge it into the stored work it is (see `resolve`)."""
        with self.transaction():
            key = self.resolve(paper)
            if key is None:
                self._insert_paper(paper, run_id)
                return "new"
            return self._merge_paper(key, paper, run_id)

    def _insert_paper(self, paper: Paper, run_id: int | None) -> None:
        values = self._row_values(paper)
        sources = {f: paper.source for f in _MERGED_FIELDS if not _empty(getattr(paper, f))}
        values.update(
            paper_id=paper.paper_id,
            field_sources=json.dumps(sources, sort_keys=True),
            content_hash=paper.content_hash,
            first_run=run_id,
            changed_run=run_id,
        )
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.db.execute(f"INSERT INTO papers ({columns}) VALUES ({marks})", list(values.values()))
        self._write_authors(paper.paper_id, paper.authors)
        self._add_aliases(paper.paper_id, paper)

    def _merge_paper(self, key: str, paper: Paper, run_id: int | None) -> UpsertOutcome:
        current = self.get_paper(key)
        assert current is not None
        sources: dict[str, str] = json.loads(
            self.db.execute(
                "SELECT field_sources FROM papers WHERE paper_id = ?", (key,)
            ).fetchone()[0]
        )
        changes: dict[str, Any] = {}
        for name in _MERGED_FIELDS:
            new, old = getattr(paper, name), getattr(current, name)
            if _empty(new) or new == old:
                continue
            holder = sources.get(name)
            if _empty(old) or holder is None or _rank(name, paper.source) <= _rank(name, holder):
                changes[name] = new
                sources[name] = paper.source
        rule = self._merge_rule(key, paper)  # before this record's aliases point at `key`
        self._add_aliases(key, paper)
        if paper.arxiv_id and key.startswith(("s2:", "doi:")):
            # A work first seen without an arXiv id takes its arXiv id as key (FKs cascade).
            new_key = paper.paper_id
            self.db.execute("UPDATE papers SET paper_id = ? WHERE paper_id = ?", (new_key, key))
            self._log_merge(run_id, new_key, key, "rekeyed to arXiv id")
            key = new_key
        elif paper.paper_id != key:
            self._log_merge(run_id, key, paper.paper_id, rule)
        if not changes:
            return "unchanged"
        merged = Paper(**{**current.__dict__, **changes, "paper_id": key})
        row = {k: v for k, v in self._row_values(merged).items() if k in changes}
        if "title" in changes or "abstract" in changes:
            row["content_hash"] = merged.content_hash
        row.update(field_sources=json.dumps(sources, sort_keys=True), changed_run=run_id)
        assignments = ", ".join(f"{column} = ?" for column in row)
        self.db.execute(f"UPDATE papers SET {assignments} WHERE paper_id = ?", [*row.values(), key])
        if "authors" in changes:
            self._write_authors(key, merged.authors)
        return "updated"

    def _merge_rule(self, key: str, paper: Paper) -> str:
        for alias in self._aliases(paper):
            if self.key_of([alias]) == key:
                return f"same {alias.split(':', 1)[0]}"
        return "same work"

    def _log_merge(self, run_id: int | None, kept: str, merged: str, rule: str) -> None:
        exists = self.db.execute(
            "SELECT 1 FROM merges WHERE kept = ? AND merged = ? AND rule = ?", (kept, merged, rule)
        ).fetchone()
        if not exists:
            self.db.execute(
                "INSERT INTO merges (run_id, kept, merged, rule) VALUES (?, ?, ?, ?)",
                (run_id, kept, merged, rule),
            )

    @staticmethod
    def _row_values(paper: Paper) -> dict[str, Any]:
        values = {name: getattr(paper, name) for name in _MERGED_FIELDS if name != "authors"}
        values["categories"] = json.dumps(list(paper.categories))
        if paper.abstract_complete is not None:
            values["abstract_complete"] = int(paper.abstract_complete)
        return values

    def _add_aliases(self, key: str, paper: Paper) -> None:
        for alias in self._aliases(paper):
            self.db.execute(
                "INSERT OR IGNORE INTO paper_aliases (alias, paper_id) VALUES (?, ?)", (alias, key)
            )

    def _write_authors(self, key: str, names: Sequence[str]) -> None:
        self.db.execute("DELETE FROM paper_authors WHERE paper_id = ?", (key,))
        for position, name in enumerate(names):
            author = Author.from_name(name)
            self.db.execute(
                "INSERT INTO authors (author_id, name) VALUES (?, ?) "
                "ON CONFLICT(author_id) DO NOTHING",
                (author.author_id, author.name),
            )
            self.db.execute(
                "INSERT INTO paper_authors (paper_id, position, author_id, name) "
                "VALUES (?, ?, ?, ?)",
                (key, position, author.author_id, name),
            )

    def get_paper(self, paper_id: str) -> Paper | None:
        row = self.db.execute("SELECT * FROM papers WHERE paper_id = ?", (paper_id,)).fetchone()
        return self._paper_from_row(row) if row else None

    def papers(self) -> Iterator[Paper]:
        """Every stored paper, by key."""
        for row in self.db.execute("SELECT * FROM papers ORDER BY paper_id").fetchall():
            yield self._paper_from_row(row)

    def _paper_from_row(self, row: sqlite3.Row) -> Paper:
        data = dict(row)
        sources = json.loads(data["field_sources"])
        authors = tuple(
            r[0]
            for r in self.db.execute(
                "SELECT name FROM paper_authors WHERE paper_id = ? ORDER BY position",
                (data["paper_id"],),
            )
        )
        if data["abstract_complete"] is not None:
            data["abstract_complete"] = bool(data["abstract_complete"])
        data.update(
            authors=authors,
            categories=tuple(json.loads(data["categories"])),
            source=sources.get("title", "snapshot"),
        )
        return Paper.from_dict(data)

    def field_sources(self, paper_id: str) -> dict[str, str]:
        """Which source gave each field of a stored paper."""
        row = self.db.execute(
            "SELECT field_sources FROM papers WHERE paper_id = ?", (paper_id,)
        ).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def authors_of(self, paper_id: str) -> list[Author]:
        rows = self.db.execute(
            "SELECT a.author_id, a.name FROM paper_authors pa JOIN authors a USING (author_id) "
            "WHERE pa.paper_id = ? ORDER BY pa.position",
            (paper_id,),
        )
        return [Author(r[0], r[1]) for r in rows]

    def papers_added_after(self, run_id: int) -> set[str]:
        """Keys of the papers first stored by a run later than `run_id`."""
        rows = self.db.execute("SELECT paper_id FROM papers WHERE first_run > ?", (run_id,))
        return {r[0] for r in rows}

    def merges(self) -> list[tuple[str, str, str]]:
        """Every merge decision, as (kept key, merged key, rule)."""
        rows = self.db.execute("SELECT kept, merged, rule FROM merges ORDER BY merge_id")
        return [(r[0], r[1], r[2]) for r in rows]

    # -- citations --------------------------------------------------------------------------

    def upsert_citation(self, citation: Citation) -> bool:
        """Store a citation between two stored papers; returns False when either is unknown."""
        citing = self.db.execute(
            "SELECT paper_id FROM paper_aliases WHERE alias = ?", (f"id:{citation.citing}",)
        ).fetchone()
        cited = self.db.execute(
            "SELECT paper_id FROM paper_aliases WHERE alias = ?", (f"id:{citation.cited}",)
        ).fetchone()
        if not citing or not cited:
            return False
        self.db.execute(
            "INSERT INTO citations (citing, cited, source, contexts, intents, is_influential) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(citing, cited) DO UPDATE SET "
            "source = excluded.source, contexts = excluded.contexts, "
            "intents = excluded.intents, is_influential = excluded.is_influential "
            "WHERE excluded.contexts != '[]' OR citations.contexts = '[]'",
            (
                citing[0],
                cited[0],
                citation.source,
                json.dumps(list(citation.contexts)),
                json.dumps(list(citation.intents)),
                None if citation.is_influential is None else int(citation.is_influential),
            ),
        )
        return True

    def citations(self) -> Iterator[Citation]:
        rows = self.db.execute("SELECT * FROM citations ORDER BY citing, cited").fetchall()
        for r in rows:
            yield Citation(
                r["citing"],
                r["cited"],
                r["source"],
                tuple(json.loads(r["contexts"])),
                tuple(json.loads(r["intents"])),
                None if r["is_influential"] is None else bool(r["is_influential"]),
            )

    # -- extractions and claims -------------------------------------------------------------

    def papers_to_extract(self, extractor_version: str) -> list[Paper]:
        """Papers never extracted, or whose text or the extractor changed since."""
        rows = self.db.execute(
            "SELECT p.paper_id FROM papers p LEFT JOIN extractions e USING (paper_id) "
            "WHERE e.paper_id IS NULL OR e.content_hash != p.content_hash "
            "OR e.extractor_version != ? ORDER BY p.paper_id",
            (extractor_version,),
        ).fetchall()
        return [p for r in rows if (p := self.get_paper(r[0])) is not None]

    def save_extraction(
        self,
        extraction: Extraction,
        content_hash: str,
        extractor_version: str,
        run_id: int | None = None,
    ) -> None:
        """Replace a paper's concepts and claims with `extraction`."""
        with self.transaction():
            self.db.execute("DELETE FROM claims WHERE paper_id = ?", (extraction.paper_id,))
            self.db.execute(
                "INSERT INTO extractions (paper_id, content_hash, extractor_version, concepts, "
                "run_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT(paper_id) DO UPDATE SET "
                "content_hash = excluded.content_hash, "
                "extractor_version = excluded.extractor_version, "
                "concepts = excluded.concepts, run_id = excluded.run_id",
                (
                    extraction.paper_id,
                    content_hash,
                    extractor_version,
                    json.dumps(list(extraction.concepts)),
                    run_id,
                ),
            )
            self.db.executemany(
                "INSERT INTO claims (paper_id, position, subject, relation, object, polarity, "
                "sentence, char_start, char_end, hedged, confidence, extractor_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        extraction.paper_id,
                        i,
                        c.subject,
                        c.relation,
                        c.object,
                        c.polarity,
                        c.sentence,
                        c.char_start,
                        c.char_end,
                        int(c.hedged),
                        c.confidence,
                        extractor_version,
                    )
                    for i, c in enumerate(extraction.claims)
                ],
            )

    def extractions(self) -> Iterator[Extraction]:
        """Every stored extraction with its claims, by paper key."""
        claims: dict[str, list[Claim]] = {}
        for r in self.db.execute("SELECT * FROM claims ORDER BY paper_id, position"):
            claims.setdefault(r["paper_id"], []).append(
                Claim(
                    r["subject"],
                    r["relation"],
                    r["object"],
                    r["polarity"],
                    r["sentence"],
                    r["char_start"],
                    r["char_end"],
                    bool(r["hedged"]),
                    r["confidence"],
                )
            )
        rows = self.db.execute(
            "SELECT paper_id, concepts FROM extractions ORDER BY paper_id"
        ).fetchall()
        for r in rows:
            pid = r["paper_id"]
            yield Extraction(pid, tuple(json.loads(r["concepts"])), tuple(claims.get(pid, ())))

    # -- watermarks and runs ----------------------------------------------------------------

    def watermark(self, source: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM watermarks WHERE source = ? AND key = ?", (source, key)
        ).fetchone()
        return str(row[0]) if row else None

    def set_watermark(self, source: str, key: str, value: str, run_id: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO watermarks (source, key, value, run_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, "
            "run_id = excluded.run_id",
            (source, key, value, run_id),
        )

    def watermarks(self) -> dict[str, str]:
        rows = self.db.execute("SELECT source, key, value FROM watermarks ORDER BY source, key")
        return {f"{r[0]}:{r[1]}": r[2] for r in rows}

    def start_run(self, pipeline: str, mode: str) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, status, pipeline, mode, watermarks_before) "
                "VALUES (?, 'running', ?, ?, ?)",
                (now_iso(), pipeline, mode, json.dumps(self.watermarks(), sort_keys=True)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(
        self, run_id: int, status: str, counts: dict[str, Any], message: str | None = None
    ) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET ended_at = ?, status = ?, counts = ?, watermarks_after = ?, "
                "message = ? WHERE run_id = ?",
                (
                    now_iso(),
                    status,
                    json.dumps(counts, sort_keys=True),
                    json.dumps(self.watermarks(), sort_keys=True),
                    message,
                    run_id,
                ),
            )

    def runs(self, limit: int = 10) -> list[Run]:
        """The latest runs, newest first."""
        rows = self.db.execute(
            "SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [
            Run(
                r["run_id"],
                r["started_at"],
                r["ended_at"],
                r["status"],
                r["pipeline"],
                r["mode"],
                json.loads(r["counts"]),
                json.loads(r["watermarks_before"]),
                json.loads(r["watermarks_after"]),
                r["message"],
            )
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        tables = ("papers", "authors", "citations", "extractions", "claims", "runs")
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}

    # -- refresh bookkeeping: generation, stage state, interrupted runs, changes -------------

    def generation(self) -> int:
        """A counter that every write to the graph's source tables increments (by trigger)."""
        return int(self.db.execute("SELECT n FROM generation").fetchone()[0])

    def get_state(self, key: str) -> Any:
        """A stage's saved state (JSON), or None."""
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_state(self, key: str, value: Any, run_id: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO state (key, value, run_id) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
            "SET value = excluded.value, run_id = excluded.run_id",
            (key, json.dumps(value, sort_keys=True), run_id),
        )

    def mark_interrupted(self) -> list[int]:
        """Mark runs still `running` as `interrupted` (call only while holding the lock)."""
        with self.transaction():
            ids = [
                r[0]
                for r in self.db.execute(
                    "SELECT run_id FROM runs WHERE status = 'running' ORDER BY run_id"
                )
            ]
            self.db.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?), "
                "message = 'killed or crashed before it finished (found by a later refresh)' "
                "WHERE status = 'running'",
                (now_iso(),),
            )
        return ids

    def record_changes(
        self,
        run_id: int,
        out_dir: str,
        from_graph: str | None,
        to_graph: str,
        summary: dict[str, Any],
    ) -> None:
        """Keep what run `run_id` changed. A recorded change from the same `from_graph` to the
        same folder was never published (the graph on disk is still `from_graph`): replace it."""
        with self.transaction():
            latest = self.db.execute(
                "SELECT run_id, from_graph FROM changes WHERE out_dir = ? "
                "ORDER BY run_id DESC LIMIT 1",
                (out_dir,),
            ).fetchone()
            if latest and latest[0] != run_id and latest[1] == from_graph:
                self.db.execute("DELETE FROM changes WHERE run_id = ?", (latest[0],))
            self.db.execute(
                "INSERT INTO changes (run_id, recorded_at, out_dir, from_graph, to_graph, summary) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
                "recorded_at = excluded.recorded_at, out_dir = excluded.out_dir, "
                "from_graph = excluded.from_graph, to_graph = excluded.to_graph, "
                "summary = excluded.summary",
                (run_id, now_iso(), out_dir, from_graph, to_graph, json.dumps(summary)),
            )

    def changes(
        self, after_run: int | None = None, since: str | None = None, limit: int | None = None
    ) -> list[ChangeRecord]:
        """Recorded changes, newest first: of runs after `after_run`, or started at or after
        the ISO date/time `since`, or (neither given) the latest `limit`."""
        sql = (
            "SELECT c.*, r.started_at, r.status FROM changes c JOIN runs r USING (run_id) "
            "WHERE (? IS NULL OR c.run_id > ?) AND (? IS NULL OR r.started_at >= ?) "
            "ORDER BY c.run_id DESC"
        )
        params: list[Any] = [after_run, after_run, since, since]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            ChangeRecord(
                r["run_id"],
                r["started_at"],
                r["status"],
                r["out_dir"],
                r["from_graph"],
                r["to_graph"],
                json.loads(r["summary"]),
            )
            for r in self.db.execute(sql, params).fetchall()
        ]

    def watermark_rows(self) -> list[tuple[str, str, str, int | None]]:
        """Every watermark as (source, key, value, run that set it)."""
        rows = self.db.execute(
            "SELECT source, key, value, run_id FROM watermarks ORDER BY source, key"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
