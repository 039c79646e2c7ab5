"""Online harvest of the pipeline's topic from arXiv and Semantic Scholar.

One call of `harvest` runs these stages, each incremental and each resumable at any request:

1. **arXiv**: every `[arxiv] queries` entry, restricted to `categories` and to a window of
   submission dates from the query's watermark minus `overlap_days` (or `date_floor`) to the
   start of this harvest pass, oldest first, `page_size` results a call. Paging past the API's
   30,000 results per query moves the window's start to the last date seen.
2. **Semantic Scholar search**: every `[semantic_scholar] queries` entry through
   `/paper/search/bulk`; the continuation token is stored after every page.
3. **Enrichment**: seed papers not stored yet and corpus papers never looked up (or looked up
   more than `refresh_days` ago) through `POST /paper/batch`, `batch_size` (<= 500) ids a call.
4. **References** of every corpus paper found in Semantic Scholar, with contexts, intents and
   influence, paged; the works they cite are remembered even while outside the corpus.
5. **Snowballing**: a work cited by at least `[snowball] min_citing` corpus papers whose title
   or abstract names a vocabulary concept joins the corpus; `depth` rounds.
6. **Citations** of corpus papers (up to `citations_limit` each): edges from corpus papers.
7. **Linking**: every remembered reference whose two ends are now stored becomes a citation.

Every record goes through `kg.pipeline.ingest`, the path the snapshot takes too, in the same
transaction as the cursor that says the page is done. A query's watermark moves only when
all its pages are in (for arXiv, never on an empty answer). A failure (after the fetcher's retries)
costs only its query or stage: it becomes one line of `HarvestReport.failures`, what worked is
kept, and the next run -- within `harvest.resume_hours` -- resumes the same pass where it stopped.
A part the service refuses (a 4xx, arXiv's error feed) is marked failed for the pass and does
not hold it open; the next pass asks again.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kg.config import PipelineConfig
from kg.errors import ConfigError
from kg.harvest_state import DONE, Candidate, HarvestState
from kg.records import Citation, Paper
from kg.sources import arxiv as arxiv_source
from kg.sources import semantic_scholar as s2_source
from kg.sources.http import (
    Fetcher,
    FetchError,
    RetryPolicy,
    check_base_url,
    is_loopback,
    limiter_for,
)
from kg.store import Store, default_home
from kg.vocabulary import Vocabulary

log = logging.getLogger(__name__)

# How `kg.pipeline.ingest` counts map to report counts (None: not reported; the report
# counts new citations as the change in the store's total instead of writes).
_INGEST_NAMES: dict[str, str | None] = {
    "papers_new": "new",
    "papers_updated": "updated",
    "papers_unchanged": "unchanged",
    "citations": None,
    "citations_skipped": "skipped_citation_end_not_stored",
}
_ARXIV_MINUTE = "%Y%m%d%H%M"
_SUMMARY_FIRST = ("new", "updated", "unchanged", "merged", "citations_new", "snowball_joined")
_SEEDS_PART = "s2:seeds"  # seeds Semantic Scholar did not know, per pass


@dataclass
class HarvestReport:
    """What a harvest did: counts by name, and one readable line per part that failed.

    Count names: `new`, `updated`, `unchanged` (papers), `merged` (merge decisions the store
    logged), `citations_new`, `skipped_<reason>`, `requests_arxiv`, `requests_s2` (every
    attempt, retries included), `retries_<source>`, and per-stage tallies such as
    `s2_batch_calls`.
    """

    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            self.counts[name] = self.counts.get(name, 0) + amount

    def add_ingest(self, counts: dict[str, int]) -> None:
        for name, amount in counts.items():
            renamed = _INGEST_NAMES.get(name, name)
            if renamed is not None:
                self.add(renamed, amount)


@runtime_checkable
class ProgressBars(Protocol):
    """A progress callback that can also draw bars (the CLI passes one; see `kg.cli`)."""

    def __call__(self, message: str) -> None: ...

    def start_task(self, description: str, total: int | None = None) -> int: ...

    def update_task(self, task: int, *, advance: int = 0, total: int | None = None) -> None: ...

    def end_task(self, task: int) -> None: ...


class _NoBars:
    def start_task(self, description: str, total: int | None = None) -> int:
        return 0

    def update_task(self, task: int, *, advance: int = 0, total: int | None = None) -> None:
        pass

    def end_task(self, task: int) -> None:
        pass


def topic_matcher(vocabulary: Vocabulary) -> Callable[[str], list[str]]:
    """A function giving the vocabulary concepts a text names (by alias, on word boundaries).

    Aliases with an acronym (two or more capitals in a word: ICL, CoT, RLHF) match case by
    case; all others ignore case.
    """
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for concept in vocabulary:
        exact: list[str] = []
        folded: list[str] = []
        for alias in concept.aliases:
            acronym = any(sum(ch.isupper() for ch in word) >= 2 for word in alias.split())
            (exact if acronym else folded).append(re.escape(alias))
        parts = []
        if folded:
            parts.append(f"(?i:{'|'.join(folded)})")
        if exact:
            parts.append("|".join(exact))
        if parts:
            pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(parts)})(?![\w-])")
            compiled.append((concept.id, pattern))

    def concepts(text: str) -> list[str]:
        return [cid for cid, pattern in compiled if pattern.search(text)]

    return concepts


def _check_politeness(config: PipelineConfig, arxiv_url: str, s2_url: str) -> None:
    for section, interval, floor, url, who in (
        ("arxiv", config.arxiv.request_interval, arxiv_source.MIN_INTERVAL, arxiv_url, "arXiv"),
        (
            "semantic_scholar",
            config.semantic_scholar.request_interval,
            s2_source.MIN_INTERVAL,
            s2_url,
            "Semantic Scholar",
        ),
    ):
        if interval < floor and not is_loopback(url):
            raise ConfigError(
                f"{config.path}: {section}.request_interval = {interval:g} s is below {who}'s "
                f"limit of one request every {floor:g} s; shorter spacing is only allowed "
                "against a test server on 127.0.0.1"
            )
    for section, timeout in (
        ("arxiv", config.arxiv.timeout),
        ("semantic_scholar", config.semantic_scholar.timeout),
    ):
        if timeout <= 0:
            raise ConfigError(f"{config.path}: {section}.timeout must be more than 0 s")


def harvest(
    store: Store,
    config: PipelineConfig,
    run_id: int | None,
    progress: Callable[[str], None] | None = None,
    *,
    home: Path | None = None,
    clock: Callable[[], datetime] | None = None,
) -> HarvestReport:
    """Harvest the pipeline's topic into `store`; see the module docstring for the stages.

    Base URLs come from `KG_ARXIV_URL` and `KG_S2_URL`, the key from `S2_API_KEY` (sent as a
    header, never logged). Lock files for the machine-wide request spacing live under `home`
    (default `KG_HOME`). Raises only for bad configuration; a source that fails becomes a line
    of the report's `failures`.
    """
    from kg.pipeline import pipeline_vocabulary  # kg.pipeline imports this module lazily

    say = progress or (lambda _message: None)
    bars: Any = progress if isinstance(progress, ProgressBars) else _NoBars()
    now = (clock or (lambda: datetime.now(UTC)))()
    arxiv_url = check_base_url(
        os.environ.get("KG_ARXIV_URL") or arxiv_source.DEFAULT_URL, "KG_ARXIV_URL"
    )
    s2_url = check_base_url(os.environ.get("KG_S2_URL") or s2_source.DEFAULT_URL, "KG_S2_URL")
    _check_politeness(config, arxiv_url, s2_url)
    home = home or default_home()
    retry = config.harvest
    policy = RetryPolicy(
        max_tries=retry.max_tries,
        backoff=retry.backoff,
        backoff_cap=retry.backoff_cap,
        retry_after_cap=retry.retry_after_cap,
        give_up_after=retry.give_up_after,
    )
    api_key = os.environ.get("S2_API_KEY", "").strip()
    report = HarvestReport()
    arxiv_fetcher = Fetcher(
        "arXiv",
        limiter_for(home, "arxiv", arxiv_url, config.arxiv.request_interval),
        replace(policy, timeout=config.arxiv.timeout),
    )
    s2_fetcher = Fetcher(
        "Semantic Scholar",
        limiter_for(home, "s2", s2_url, config.semantic_scholar.request_interval),
        replace(policy, timeout=config.semantic_scholar.timeout),
        headers={"x-api-key": api_key} if api_key else None,
    )
    citations_before = store.counts()["citations"]
    with arxiv_fetcher, s2_fetcher:
        run = _Run(
            store,
            config,
            run_id,
            arxiv_source.ArxivSource(arxiv_fetcher, arxiv_url),
            s2_source.SemanticScholarSource(s2_fetcher, s2_url),
            report,
            say,
            bars,
            topic_matcher(pipeline_vocabulary(config)),
            now,
        )
        try:
            run.run()
        finally:
            report.add("requests_arxiv", arxiv_fetcher.requests)
            report.add("requests_s2", s2_fetcher.requests)
            report.add("retries_arxiv", arxiv_fetcher.retries)
            report.add("retries_s2", s2_fetcher.retries)
            report.add("merged", run.state.merges_in_run(run_id))
            report.add("citations_new", store.counts()["citations"] - citations_before)
            first = [k for k in _SUMMARY_FIRST if k in report.counts]
            report.counts = {k: report.counts[k] for k in [*first, *sorted(report.counts)]}
    return report


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Run:
    """One harvest: the stages of the module docstring over one store and one pipeline."""

    def __init__(
        self,
        store: Store,
        config: PipelineConfig,
        run_id: int | None,
        arxiv: arxiv_source.ArxivSource,
        s2: s2_source.SemanticScholarSource,
        report: HarvestReport,
        say: Callable[[str], None],
        bars: Any,
        concepts: Callable[[str], list[str]],
        now: datetime,
    ) -> None:
        self.store = store
        self.state = HarvestState(store)
        self.config = config
        self.run_id = run_id
        self.arxiv = arxiv
        self.s2 = s2
        self.report = report
        self.say = say
        self.bars = bars
        self.concepts = concepts
        self.now = now
        self.generation = 0
        self._seeds_missing: set[str] = set()  # seeds Semantic Scholar did not know
        self._resumable = False  # a failure a rerun of this pass could finish
        self._last_error = ""  # the last batch lookup that failed, and whether a retry may help
        self._last_retryable = True
        self.started = now

    # -- the stages -------------------------------------------------------------------------

    def run(self) -> None:
        self.generation, resumed = self.state.open_generation(
            self.now, self.config.harvest.resume_hours, self.run_id
        )
        self.started = self.state.generation_started(self.generation)
        if resumed:
            self.say(f"resuming harvest pass {self.generation}")
            self.report.add("resumed")
        for query in self.config.arxiv.queries:
            self.arxiv_query(query)
        for query in self.config.semantic_scholar.queries:
            self.s2_search(query)
        self.enrich()
        self.edges("references")
        self.snowball()
        self.edges("citations")
        self.link()
        if not self._resumable:
            # Nothing left that a rerun could finish (a refused query is retried next pass).
            with self.store.transaction():
                self.state.close_generation(self.generation, self.now)

    def _ingest(self, papers: Iterable[Paper], citations: Iterable[Citation] = ()) -> None:
        from kg.pipeline import ingest

        self.report.add_ingest(ingest(self.store, papers, citations, self.run_id))

    def _fail(self, line: str, resumable: bool = True) -> None:
        """Report one failed part or stage; `resumable` keeps this pass open for a rerun."""
        log.warning("%s", line)
        self.report.failures.append(line)
        self._resumable = self._resumable or resumable

    def _refused(self, key: str, cursor: dict[str, Any], exc: FetchError) -> bool:
        """For an error retrying cannot fix: mark the part failed for this pass; True if so."""
        if exc.retryable:
            return False
        with self.store.transaction():
            self.state.save_part(key, self.generation, "failed", cursor, self.run_id, self.now)
        return True

    def _cursor(self, key: str, fresh: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """The cursor to go on from: None if done in this pass, the saved one, or `fresh()`."""
        part = self.state.part(key)
        if part is not None and part.generation == self.generation:
            if part.status in ("done", "failed"):
                self.report.add(f"parts_{part.status}_before")
                return None
            return part.cursor
        return fresh()

    def _save(self, key: str, cursor: dict[str, Any], done: bool = False) -> None:
        status = "done" if done else "pending"
        self.state.save_part(key, self.generation, status, cursor, self.run_id, self.now)

    # -- arXiv ------------------------------------------------------------------------------

    def _arxiv_window(self, watermark_key: str) -> dict[str, Any]:
        cfg = self.config.arxiv
        floor = datetime.combine(cfg.date_floor or date(1991, 1, 1), time(0), UTC)
        start = floor
        mark = self.store.watermark(arxiv_source.SOURCE, watermark_key)
        if mark:
            start = max(floor, datetime.fromisoformat(mark) - timedelta(days=cfg.overlap_days))
        return {
            "from": start.strftime(_ARXIV_MINUTE),
            "to": self.started.strftime(_ARXIV_MINUTE),
            "start": 0,
            "seen": 0,
            "last": None,
            "short": False,
            "asked_again": False,
        }

    def arxiv_query(self, query: str) -> None:
        cfg = self.config.arxiv
        categories = ",".join(cfg.categories) or "any"
        watermark_key = f"{query} | cat {categories} | from {cfg.date_floor or 'any'}"
        key = f"arxiv:{watermark_key}"
        cursor = self._cursor(key, lambda: self._arxiv_window(watermark_key))
        if cursor is None:
            return
        self.say(f"arXiv: {query}")
        task = self.bars.start_task(f"arXiv {query[:40]}", None)
        try:
            self._arxiv_pages(query, key, watermark_key, cursor, task)
        except FetchError as exc:
            if self._refused(key, cursor, exc):
                self._fail(f"arXiv query {query!r}: {exc}", resumable=False)
            else:
                self._fail(
                    f"arXiv query {query!r}: {exc}; the next run resumes at result "
                    f"{cursor['start']} of the window {cursor['from']}-{cursor['to']}"
                )
        finally:
            self.bars.end_task(task)

    def _arxiv_pages(
        self,
        query: str,
        key: str,
        watermark_key: str,
        cursor: dict[str, Any],
        task: int,
    ) -> None:
        cfg = self.config.arxiv
        size = cfg.page_size
        while True:
            if cursor["start"] + size > cfg.max_per_query:
                # The API pages through at most `max_per_query` results of one query: go on
                # with a window starting at the last submission date seen (oldest first).
                if not cursor["last"] or cursor["last"] <= cursor["from"]:
                    raise FetchError(
                        f"arXiv: more than {cfg.max_per_query} results submitted in the "
                        f"minute {cursor['from']}; narrow the query",
                        url=self.arxiv.url,
                        retryable=False,
                    )
                cursor.update({"from": cursor["last"], "start": 0, "short": False})
                cursor["asked_again"] = True  # the window is known not to be empty
                self.report.add("arxiv_windows_moved")
            text = arxiv_source.search_query(query, cfg.categories, cursor["from"], cursor["to"])
            page = self.arxiv.page(text, cursor["start"], size, end_possible=cursor["short"])
            self.report.add("arxiv_pages")
            entries = len(page.results) + page.skipped
            if cursor["start"] == 0 and entries == 0 and not cursor["asked_again"]:
                # An empty first page is not believed at once: arXiv sometimes sends one for a
                # query that has results. Ask once more; either way no watermark moves on it.
                cursor["asked_again"] = True
                self.report.add("arxiv_empty_first_pages")
                continue
            papers = [arxiv_source.paper_from_result(r) for r in page.results]
            kept = [p for p in papers if p is not None]
            incomplete = page.skipped + len(papers) - len(kept)
            self.report.add("skipped_arxiv_entry_incomplete", incomplete)
            self.report.add("arxiv_results", len(kept))
            done = entries == 0 or cursor["start"] + entries >= page.total
            with self.store.transaction():
                self._ingest(kept)
                cursor["start"] += entries
                cursor["seen"] += len(kept)
                cursor["short"] = entries < size
                latest = [r.published.strftime(_ARXIV_MINUTE) for r in page.results]
                if latest:
                    cursor["last"] = max([*latest, cursor["last"] or ""])
                self._save(key, cursor, done)
                if done and cursor["seen"]:
                    to = datetime.strptime(cursor["to"], _ARXIV_MINUTE).replace(tzinfo=UTC)
                    self.store.set_watermark(
                        arxiv_source.SOURCE,
                        watermark_key,
                        to.isoformat(timespec="minutes"),
                        self.run_id,
                    )
            if done and not cursor["seen"]:
                self.report.add("arxiv_empty_windows")
            self.bars.update_task(task, advance=entries, total=page.total)
            if done:
                return

    # -- Semantic Scholar: bulk search ------------------------------------------------------

    def _search_window(self, watermark_key: str) -> dict[str, Any]:
        cfg = self.config.semantic_scholar
        dates = f"{cfg.year_floor}:" if cfg.year_floor else None
        mark = self.store.watermark(s2_source.SOURCE, watermark_key)
        if mark:
            since = date.fromisoformat(mark) - timedelta(days=cfg.overlap_days)
            if cfg.year_floor:
                since = max(since, date(cfg.year_floor, 1, 1))
            dates = f"{since.isoformat()}:"
        return {
            "dates": dates,
            "token": None,
            "to": self.started.date().isoformat(),
            "seen": 0,
            "restarted": False,
        }

    def s2_search(self, query: str) -> None:
        cfg = self.config.semantic_scholar
        fields = ",".join(cfg.fields_of_study) or "any"
        watermark_key = f"search {query} | fields {fields} | from {cfg.year_floor or 'any'}"
        key = f"s2:{watermark_key}"
        cursor = self._cursor(key, lambda: self._search_window(watermark_key))
        if cursor is None:
            return
        self.say(f"Semantic Scholar search: {query}")
        task = self.bars.start_task(f"S2 search {query[:34]}", None)
        try:
            while True:
                try:
                    page = self.s2.search_bulk(
                        query,
                        token=cursor["token"],
                        fields_of_study=cfg.fields_of_study,
                        dates=cursor["dates"],
                    )
                except FetchError as exc:
                    if exc.status == 400 and cursor["token"] and not cursor["restarted"]:
                        # A stored token the service no longer accepts: start the query over.
                        cursor.update({"token": None, "restarted": True})
                        self.report.add("s2_searches_restarted")
                        continue
                    raise
                with self.store.transaction():
                    for record in page.papers:
                        self._store_s2_record(record, None, depth=None)
                    self.report.add("s2_search_results", len(page.papers))
                    cursor["token"] = page.token
                    cursor["seen"] += len(page.papers)
                    done = page.token is None
                    self._save(key, cursor, done)
                    if done:
                        self.store.set_watermark(
                            s2_source.SOURCE, watermark_key, cursor["to"], self.run_id
                        )
                self.bars.update_task(task, advance=len(page.papers), total=page.total)
                if done:
                    return
        except FetchError as exc:
            if self._refused(key, cursor, exc):
                self._fail(f"Semantic Scholar search {query!r}: {exc}", resumable=False)
            else:
                where = "the stored continuation token" if cursor["token"] else "its first page"
                self._fail(
                    f"Semantic Scholar search {query!r}: {exc}; the next run resumes at {where}"
                )
        finally:
            self.bars.end_task(task)

    def _store_s2_record(self, record: Any, key: str | None, depth: int | None) -> str | None:
        """Ingest one Semantic Scholar record (as corpus paper `key` if given): its stored key,
        or None when it lacks a paperId or title, or names another arXiv id than `key`."""
        paper = s2_source.paper_from_s2(record)
        if paper is None:
            self.report.add("skipped_s2_record_incomplete")
            return None
        if key is not None and not key.startswith(("s2:", "doi:")):
            if paper.arxiv_id and paper.arxiv_id != key:
                self.report.add("skipped_s2_id_mismatch")
                return None
            paper = replace(paper, paper_id=key, arxiv_id=key)
        if key is None and not paper.arxiv_id:
            paper = self._unless_duplicate(paper)
        self._ingest([paper])
        stored = self.store.resolve(paper)
        merged_into_arxiv = key is None and not paper.arxiv_id and stored != paper.paper_id
        if stored is not None and not merged_into_arxiv:
            # A record without an arXiv id that merged into an arXiv paper (by title or DOI)
            # is not that paper's Semantic Scholar entry: enrichment still asks by arXiv id.
            self.state.mark_lookup(stored, self.generation, found=True, now=self.now, depth=depth)
        return stored

    def _unless_duplicate(self, paper: Paper) -> Paper:
        """`paper` without its Semantic Scholar identity and counts when it is a second S2
        record of a stored work that already has one (S2 keeps duplicates, e.g. a venue copy
        without the arXiv id): it then adds only aliases and fields still empty."""
        existing = self.store.resolve(paper)
        if existing is None or existing == paper.paper_id:
            return paper
        current = self.store.get_paper(existing)
        if current is None or not current.s2_paper_id or current.s2_paper_id == paper.s2_paper_id:
            return paper
        self.report.add("s2_duplicate_records")
        return replace(
            paper,
            s2_paper_id=None,
            s2_corpus_id=None,
            citation_count=None,
            influential_citation_count=None,
            reference_count=None,
            url=None,
        )

    # -- Semantic Scholar: enrichment -------------------------------------------------------

    def _seed_stored(self, seed: str) -> bool:
        kind, _, value = seed.partition(":")
        kind = kind.lower()
        if kind == "arxiv":
            return self.state.resolve_ids(None, value, None) is not None
        if kind == "doi":
            return self.state.resolve_ids(None, None, value) is not None
        if kind == "corpusid":
            row = self.store.db.execute(
                "SELECT 1 FROM papers WHERE s2_corpus_id = ?", (value,)
            ).fetchone()
            return row is not None
        return self.state.resolve_ids(seed, None, None) is not None

    def enrich(self) -> None:
        cfg = self.config.semantic_scholar
        part = self.state.part(_SEEDS_PART)
        if part is not None and part.generation == self.generation:
            self._seeds_missing = set(part.cursor.get("missing", []))
        wanted: list[tuple[str, str | None]] = [
            (seed, None)
            for seed in cfg.seed_ids
            if seed not in self._seeds_missing and not self._seed_stored(seed)
        ]
        stale_before = self.now - timedelta(days=cfg.refresh_days)
        for key, arxiv_id, doi, s2_id in self.state.papers_to_enrich(self.generation, stale_before):
            # By arXiv id first: Semantic Scholar maps it to its canonical record even when a
            # duplicate record (merged here by title) lent the paper another paperId.
            if arxiv_id:
                wanted.append((f"arXiv:{arxiv_id}", key))
            elif s2_id:
                wanted.append((s2_id, key))
            elif doi:
                wanted.append((f"DOI:{doi}", key))
        if not wanted:
            return
        self.say(f"Semantic Scholar: enriching {len(wanted)} papers")
        self.report.add("s2_lookups", len(wanted))
        failed = self._batches(wanted, "enrich")
        if failed:
            self._fail(
                f"Semantic Scholar batch lookup: {failed} of {len(wanted)} papers not looked up "
                f"({self._last_error}); the next run looks them up",
                resumable=self._last_retryable,
            )

    def _batches(self, wanted: Sequence[tuple[str, Any]], stage: str) -> int:
        """Look `wanted` (request id, corpus key | Candidate | None) up in batches; store what
        comes back. Returns how many ids could not be looked up."""
        task = self.bars.start_task(f"S2 {stage}", len(wanted))
        failed = 0
        try:
            for chunk in _chunks(wanted, self.config.semantic_scholar.batch_size):
                try:
                    records = self.s2.batch([request_id for request_id, _ in chunk])
                except FetchError as exc:
                    self._last_error = str(exc)
                    self._last_retryable = exc.retryable
                    failed += len(chunk)
                    continue
                self.report.add("s2_batch_calls")
                with self.store.transaction():
                    for (request_id, target), record in zip(chunk, records, strict=True):
                        self._batch_entry(request_id, target, record)
                    if stage == "enrich":
                        cursor = {"missing": sorted(self._seeds_missing)}
                        self._save(_SEEDS_PART, cursor, done=True)
                self.bars.update_task(task, advance=len(chunk))
        finally:
            self.bars.end_task(task)
        return failed

    def _batch_entry(self, request_id: str, target: Any, record: Any) -> None:
        if isinstance(target, Candidate):
            if record is None:
                self.state.mark_work_lookup(target.s2_paper_id, self.generation, False)
                self.report.add("skipped_not_in_s2")
                return
            stored = self._store_s2_record(record, None, depth=target.depth)
            self.state.mark_work_lookup(target.s2_paper_id, self.generation, stored is not None)
            if stored is not None:
                self.report.add("snowball_joined")
            return
        if record is None:
            if target:
                self.report.add("skipped_not_in_s2")
                self.state.mark_lookup(target, self.generation, found=False, now=self.now)
            else:
                self.report.add("skipped_seed_not_in_s2")
                self._seeds_missing.add(request_id)
            return
        stored = self._store_s2_record(record, target, depth=None)
        if stored is None and target:
            self.state.mark_lookup(target, self.generation, found=False, now=self.now)
        elif stored is not None:
            self.report.add("s2_enriched" if target else "s2_seeds_added")

    # -- Semantic Scholar: references and citations -----------------------------------------

    def edges(self, kind: str) -> None:
        cfg = self.config.semantic_scholar
        cap = s2_source.EDGE_CAP if kind == "references" else min(cfg.citations_limit, 10000)
        if cap <= 0:
            return
        todo = self.state.edges_todo(kind)
        if not todo:
            return
        self.say(f"Semantic Scholar: {kind} of {len(todo)} papers")
        task = self.bars.start_task(f"S2 {kind}", len(todo))
        failed: list[str] = []
        try:
            for key, s2_id, offset in todo:
                try:
                    self._edge_pages(kind, key, s2_id, offset, cap)
                except FetchError as exc:
                    if exc.retryable:
                        failed.append(f"{key}: {exc}")
                        continue
                    if exc.status == 404:  # Semantic Scholar no longer knows the paper
                        with self.store.transaction():
                            self.state.set_edges_next(kind, key, DONE)
                        self.report.add(f"skipped_{kind}_paper_not_found")
                    else:  # refused: a retry now would not help; the next run asks again
                        self._fail(f"Semantic Scholar {kind} of {key}: {exc}", resumable=False)
                finally:
                    self.bars.update_task(task, advance=1)
        finally:
            self.bars.end_task(task)
        if failed:
            self._fail(
                f"Semantic Scholar {kind}: {len(failed)} of {len(todo)} papers failed "
                f"(first: {failed[0]}); the next run goes on where each stopped"
            )

    def _edge_pages(self, kind: str, key: str, s2_id: str, offset: int, cap: int) -> None:
        while offset != DONE:
            size = min(s2_source.MAX_EDGE_PAGE, cap - offset)
            page = self.s2.edges(kind, s2_id, offset, size)
            self.report.add(f"s2_{kind}_calls")
            following = page.next
            if following is None or following <= offset or following >= cap or not page.edges:
                following = DONE
            with self.store.transaction():
                if kind == "references":
                    self._store_references(key, page.edges)
                else:
                    self._store_citations(key, page.edges)
                self.state.set_edges_next(kind, key, following)
            offset = following

    def _store_references(self, key: str, edges: Sequence[Any]) -> None:
        for edge in edges:
            cited = edge.paper
            if cited is None or not cited.paperId:
                self.report.add("skipped_reference_without_s2_id")
                continue
            arxiv_id, doi = s2_source.external_ids(cited)
            self.state.add_work(
                cited.paperId, arxiv_id, doi, cited.title, cited.abstract, cited.year
            )
            self.state.add_reference(
                key, cited.paperId, edge.contexts or (), edge.intents or (), edge.isInfluential
            )
            self.report.add("references")

    def _store_citations(self, key: str, edges: Sequence[Any]) -> None:
        citations = []
        for edge in edges:
            citing = edge.paper
            if citing is None or not citing.paperId:
                self.report.add("skipped_citation_without_s2_id")
                continue
            arxiv_id, doi = s2_source.external_ids(citing)
            citing_key = self.state.resolve_ids(citing.paperId, arxiv_id, doi)
            if citing_key is None or citing_key == key:
                self.report.add("skipped_citation_outside_corpus")
                continue
            citations.append(
                Citation(
                    citing_key,
                    key,
                    s2_source.SOURCE,
                    tuple(edge.contexts or ()),
                    tuple(edge.intents or ()),
                    edge.isInfluential,
                )
            )
        self._ingest([], citations)

    # -- snowballing and linking ------------------------------------------------------------

    def snowball(self) -> None:
        cfg = self.config.snowball
        rejected: set[str] = set()
        for round_no in range(1, cfg.depth + 1):
            candidates = self.state.snowball_candidates(cfg.min_citing, cfg.depth, self.generation)
            joining = []
            for candidate in candidates:
                text = f"{candidate.title or ''}\n{candidate.abstract or ''}"
                if self.concepts(text):
                    joining.append(candidate)
                elif candidate.s2_paper_id not in rejected:
                    rejected.add(candidate.s2_paper_id)
                    self.report.add("skipped_snowball_off_topic")
            if not joining:
                return
            self.say(f"snowballing round {round_no}: {len(joining)} works join")
            failed = self._batches([(c.s2_paper_id, c) for c in joining], "snowball")
            if failed:
                self._fail(
                    f"Semantic Scholar snowball lookup: {failed} of {len(joining)} works not "
                    f"looked up ({self._last_error}); the next run tries again",
                    resumable=self._last_retryable,
                )
                return
            self.edges("references")

    def link(self) -> None:
        rows = self.state.unlinked_references()
        if not rows:
            return
        with self.store.transaction():
            self._ingest(
                [],
                [
                    Citation(citing, cited, s2_source.SOURCE, tuple(ctx), tuple(intents), infl)
                    for citing, _s2, cited, ctx, intents, infl in rows
                    if citing != cited
                ],
            )
            for citing, cited_s2, *_ in rows:
                self.state.mark_linked(citing, cited_s2)
