"""The online harvest end to end against a loopback arXiv + Semantic Scholar built from real papers.

What a run must guarantee, each asserted here: every paper of a page that succeeded is stored;
a watermark never moves past a failure (nor on an empty answer); a rerun completes the harvest
with no duplicates and without refetching completed pages; one node per work; the API key never
reaches a log; the request spacing holds.
"""

from __future__ import annotations

import itertools
import logging
import math
from datetime import timedelta
from pathlib import Path

import pytest

from kg.errors import ConfigError
from kg.pipeline import ingest
from kg.records import Paper
from kg.store import Store
from tests.harvesting import NOW, pipeline, run
from tests.loopback import Loopback, Reply, Seen
from tests.worlds import OFF_TOPIC, World, atom_feed, error_feed, snapshot_works


@pytest.fixture
def world(harvest_world: tuple[World, Loopback]) -> World:
    return harvest_world[0]


@pytest.fixture
def server(harvest_world: tuple[World, Loopback]) -> Loopback:
    return harvest_world[1]


def arxiv_keys(world: World) -> set[str]:
    return {k for keys in world.arxiv_queries.values() for k in keys}


def expected_papers(world: World) -> set[str]:
    n = world.named
    s2_only = world.by_key[n["S2_ONLY"]]
    return arxiv_keys(world) | {n["SEARCH_EXTRA"], n["SEED"], n["JOINS"], f"s2:{s2_only.s2_id}"}


def expected_citations(world: World) -> set[tuple[str, str]]:
    """Edges among stored papers that Semantic Scholar can name (not via the MISSING paper)."""
    stored = expected_papers(world)
    missing = world.named["MISSING"]
    return {
        (citing, cited)
        for citing, cited_keys in world.references.items()
        for cited in cited_keys
        if citing in stored and cited in stored and missing not in (citing, cited)
    }


def is_arxiv(seen: Seen, query: str | None = None, start: int | None = None) -> bool:
    if not seen.path.endswith("/api/query"):
        return False
    text = seen.query.get("search_query", "")
    return (query is None or text.startswith(f"({query})")) and (
        start is None or seen.query.get("start") == str(start)
    )


def test_a_harvest_stores_the_topic_merged_and_linked(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    report = run(store, pipeline(tmp_path, world))
    assert report.failures == []
    assert world.errors == []  # no request the real services would refuse
    assert {p.paper_id for p in store.papers()} == expected_papers(world)
    assert {(c.citing, c.cited) for c in store.citations()} == expected_citations(world)
    counts = report.counts
    assert counts["new"] == len(expected_papers(world))
    assert counts["snowball_joined"] == 1 and counts["skipped_snowball_off_topic"] == 1
    assert counts["skipped_not_in_s2"] == 1 and counts["skipped_seed_not_in_s2"] == 1
    assert counts["skipped_reference_without_s2_id"] >= 1
    assert counts["requests_arxiv"] == counts["arxiv_pages"]
    assert counts["requests_s2"] == len(server.requests) - counts["requests_arxiv"]
    assert counts["citations_new"] == len(expected_citations(world))
    # the off-topic and the under-cited works stay out; the twin merged into its arXiv paper
    stored_titles = {p.title for p in store.papers()}
    assert OFF_TOPIC.title not in stored_titles
    assert world.by_key[world.named["TOO_FEW"]].title not in stored_titles


def test_one_node_per_work_with_its_fields_sources_and_merge_decisions(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    report = run(store, pipeline(tmp_path, world))
    first = min((world.by_key[k] for k in arxiv_keys(world)), key=lambda w: w.published)
    twin = world.by_key[world.named["TWIN"]]
    paper = store.get_paper(first.key)
    assert paper is not None and paper.title == first.title
    assert paper.arxiv_version == first.version and paper.published == str(first.published.date())
    sources = store.field_sources(first.key)
    assert sources["title"] == "arxiv" and sources["citation_count"] == "s2"
    assert (first.key, f"s2:{twin.s2_id}", "same title") in store.merges()
    assert report.counts["merged"] >= 1 and report.counts["s2_duplicate_records"] == 1
    assert paper.s2_paper_id == first.s2_id  # the duplicate lent an alias, not its identity
    assert store.resolve(Paper(f"doi:{twin.doi}", "x", doi=twin.doi)) == first.key
    cited = next(c for c in store.citations() if c.cited == first.key)
    assert cited.source == "s2" and cited.contexts and cited.intents
    assert cited.contexts[0].endswith(f"({first.authors[0].split()[-1]} et al., {first.year}).")


def test_a_rerun_fetches_the_overlap_only_and_duplicates_nothing(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    config = pipeline(tmp_path, world)
    run(store, config)
    papers, citations = store.counts()["papers"], store.counts()["citations"]
    marks = store.watermarks()
    window = "cat cs.CL,cs.LG,cs.AI | from 2019-01-01"
    assert marks == {
        f"arxiv:in-context learning | {window}": "2026-04-12T12:00+00:00",
        f"arxiv:chain-of-thought | {window}": "2026-04-12T12:00+00:00",
        "s2:search emergent abilities | fields any | from 2019": "2026-04-12",
    }
    before = len(server.requests)
    report = run(store, config, NOW + timedelta(days=1))
    assert report.failures == [] and "resumed" not in report.counts
    assert store.counts()["papers"] == papers and store.counts()["citations"] == citations
    assert report.counts.get("new", 0) == 0
    later = server.requests[before:]
    windows = [s.query["search_query"].rsplit("AND ", 1)[1] for s in later if is_arxiv(s)]
    assert windows == ["submittedDate:[202604091200 TO 202604131200]"] * 4  # watermark - 3 days
    assert report.counts["arxiv_empty_windows"] == 2  # each empty page asked twice ...
    arxiv_marks = {k: v for k, v in store.watermarks().items() if k.startswith("arxiv:")}
    assert arxiv_marks == {k: v for k, v in marks.items() if k.startswith("arxiv:")}  # ... unmoved
    searches = [s for s in later if s.path.endswith("/search/bulk")]
    assert [s.query["publicationDateOrYear"] for s in searches] == ["2026-03-13:"]


def test_a_failed_arxiv_page_keeps_what_worked_and_the_rerun_resumes_there(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    config = pipeline(tmp_path, world)
    icl = world.arxiv_queries["in-context learning"]
    server.inject(Reply(503, "down"), when=lambda s: is_arxiv(s, "in-context learning", 3), times=9)
    report = run(store, config)
    (failure,) = report.failures
    assert "arXiv query 'in-context learning': arXiv: HTTP 503 after 2 tries" in failure
    assert "the next run resumes at result 3" in failure
    first_page = sorted(icl, key=lambda k: world.by_key[k].published)[:3]
    assert all(store.get_paper(k) is not None for k in first_page)
    key = "in-context learning | cat cs.CL,cs.LG,cs.AI | from 2019-01-01"
    assert store.watermark("arxiv", key) is None  # never past a failure
    assert store.watermark("arxiv", key.replace("in-context learning", "chain-of-thought"))

    before = len(server.requests)
    server.clear_faults()
    report = run(store, config, NOW + timedelta(hours=1))
    assert report.failures == [] and report.counts["resumed"] == 1
    arxiv_again = [s for s in server.requests[before:] if is_arxiv(s)]
    assert arxiv_again[0].query["start"] == "3"  # where it stopped, not page 1 again
    assert all(is_arxiv(s, "in-context learning") for s in arxiv_again)  # the other is done
    assert store.watermark("arxiv", key) == "2026-04-12T12:00+00:00"
    assert {p.paper_id for p in store.papers()} == expected_papers(world)
    assert {(c.citing, c.cited) for c in store.citations()} == expected_citations(world)


def test_an_error_feed_fails_its_query_at_once_and_the_others_go_on(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    server.inject(
        Reply(
            400,
            error_feed("unbalanced parentheses in query"),
            {"Content-Type": "application/atom+xml"},
        ),
        when=lambda s: is_arxiv(s, "chain-of-thought"),
        times=9,
    )
    config = pipeline(tmp_path, world)
    report = run(store, config)
    (failure,) = report.failures
    assert "unbalanced parentheses in query" in failure and "not retried" in failure
    assert len([s for s in server.requests if is_arxiv(s, "chain-of-thought")]) == 1
    assert all(store.get_paper(k) for k in world.arxiv_queries["in-context learning"])
    # nothing to resume: the next run is a new pass for every query (no query starves)
    before = len(server.requests)
    report = run(store, config, NOW + timedelta(hours=1))
    assert "resumed" not in report.counts and len(report.failures) == 1
    again = server.requests[before:]
    assert any(is_arxiv(s, "in-context learning") for s in again)
    assert len([s for s in again if is_arxiv(s, "chain-of-thought")]) == 1


def test_an_empty_first_page_is_asked_again_before_it_is_believed(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    empty = atom_feed([], total=0, start=0, size=3, query="x")
    server.inject(Reply(200, empty), when=lambda s: is_arxiv(s, "in-context learning", 0))
    report = run(store, pipeline(tmp_path, world))
    assert report.failures == [] and report.counts["arxiv_empty_first_pages"] == 1
    assert all(store.get_paper(k) for k in world.arxiv_queries["in-context learning"])


def test_an_empty_window_moves_no_watermark(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    config = pipeline(tmp_path, world, arxiv={"queries": ["nothing matches this"]})
    report = run(store, config)
    assert report.failures == [] and report.counts["arxiv_empty_windows"] == 1
    assert report.counts["requests_arxiv"] == 2  # asked twice
    assert not [k for k in store.watermarks() if k.startswith("arxiv:")]
    run(store, config, NOW + timedelta(days=1))
    windows = [s.query["search_query"] for s in server.requests if is_arxiv(s)]
    assert windows[-1].endswith("submittedDate:[201901010000 TO 202604131200]")


def test_an_empty_page_in_the_middle_fails_the_query_not_the_pages_before(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    mid = atom_feed([], total=8, start=3, size=3, query="x")
    server.inject(Reply(200, mid), when=lambda s: is_arxiv(s, "in-context learning", 3), times=9)
    report = run(store, pipeline(tmp_path, world))
    (failure,) = report.failures
    assert "malformed response (no entries at result 3 of 8)" in failure
    assert (
        len([p for p in store.papers() if p.paper_id in world.arxiv_queries["in-context learning"]])
        >= 3
    )
    assert (
        store.watermark("arxiv", "in-context learning | cat cs.CL,cs.LG,cs.AI | from 2019-01-01")
        is None
    )


@pytest.mark.parametrize(
    "fault",
    [
        Reply(429, '{"message": "Too Many Requests"}', {"Retry-After": "0"}),
        Reply(502, "<html>Bad Gateway</html>"),
        Reply(503, ""),
        Reply(200, "{}", delay=1.2),  # past the 0.6 s timeout
        Reply(200, '[{"paperId": "x"}', truncate=5),
        Reply(200, "<html>captive portal</html>"),
        Reply(200, '{"error": "Internal error"}'),
    ],
    ids=["429", "502", "503", "slow", "truncated", "malformed", "error-200"],
)
def test_semantic_scholar_faults_cost_a_retry_not_data(
    world: World, server: Loopback, store: Store, tmp_path: Path, fault: Reply
) -> None:
    config = pipeline(tmp_path, world, harvest={"max_tries": 3}, semantic_scholar={"timeout": 0.6})
    for path in ("/paper/batch", "/references", "/search/bulk"):
        server.inject(fault, when=lambda s, path=path: s.path.endswith(path))
    report = run(store, config)
    if fault.body == '{"error": "Internal error"}':  # an error the API states is not retried
        assert len(report.failures) >= 2
        assert all("answered with an error: Internal error" in line for line in report.failures)
        return
    assert report.failures == []
    assert report.counts["retries_s2"] == 3
    assert {p.paper_id for p in store.papers()} == expected_papers(world)


def test_null_batch_entries_stay_aligned(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    run(store, pipeline(tmp_path, world))
    missing = store.get_paper(world.named["MISSING"])
    assert missing is not None and missing.s2_paper_id is None
    for key in arxiv_keys(world) - {world.named["MISSING"]}:
        paper = store.get_paper(key)
        assert paper is not None and paper.s2_paper_id == world.by_key[key].s2_id


def test_an_interrupted_search_resumes_from_its_stored_token(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    world.search_page = 1
    config = pipeline(tmp_path, world)
    server.inject(
        Reply(503), when=lambda s: s.path.endswith("/search/bulk") and "token" in s.query, times=9
    )
    report = run(store, config)
    assert (
        len(report.failures) == 1
        and "resumes at the stored continuation token" in report.failures[0]
    )
    assert store.watermark("s2", "search emergent abilities | fields any | from 2019") is None
    before = len(server.requests)
    server.clear_faults()
    report = run(store, config, NOW + timedelta(minutes=5))
    assert report.failures == []
    searches = [s for s in server.requests[before:] if s.path.endswith("/search/bulk")]
    assert "token" in searches[0].query and len(searches) == 3
    assert {p.paper_id for p in store.papers()} == expected_papers(world)


def test_a_token_the_service_refuses_restarts_the_search(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    world.search_page = 2
    server.inject(Reply(400, '{"error": "Invalid token"}'), when=lambda s: "token" in s.query)
    report = run(store, pipeline(tmp_path, world))
    assert report.failures == [] and report.counts["s2_searches_restarted"] == 1
    assert {p.paper_id for p in store.papers()} == expected_papers(world)


def test_the_api_key_goes_in_a_header_and_never_into_a_log(
    world: World,
    server: Loopback,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk-TEST-7f3a9c0e5b1d4e2f"
    monkeypatch.setenv("S2_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    server.inject(
        Reply(404, '{"error": "Paper not found"}'), when=lambda s: "/references" in s.path
    )
    server.inject(Reply(503), when=lambda s: "/citations" in s.path, times=99)
    report = run(store, pipeline(tmp_path, world))
    s2_requests = [s for s in server.requests if s.path.startswith("/graph/v1")]
    assert s2_requests and all(s.headers["x-api-key"] == key for s in s2_requests)
    assert not any("x-api-key" in s.headers for s in server.requests if is_arxiv(s))
    assert report.failures and len(caplog.records) > 50
    assert key not in caplog.text and all(key not in line for line in report.failures)


def test_request_spacing_holds_per_source(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    config = pipeline(
        tmp_path,
        world,
        arxiv={"request_interval": 0.25, "queries": ["chain-of-thought"]},
        semantic_scholar={"request_interval": 0.1, "queries": [], "citations_limit": 0},
    )
    run(store, config)
    for source, interval in (("/api/query", 0.25), ("/graph/v1", 0.1)):
        times = [s.at for s in server.requests if source in s.path]
        assert len(times) >= 2
        assert min(b - a for a, b in itertools.pairwise(times)) >= interval - 0.01


def test_the_default_spacing_is_polite_and_cannot_be_cut_against_the_real_services(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.config import load_pipeline

    default = load_pipeline()
    assert default.arxiv.request_interval == 3.0
    assert default.semantic_scholar.request_interval == 1.0
    monkeypatch.setenv("KG_ARXIV_URL", "https://export.arxiv.org/api/query")
    with pytest.raises(ConfigError, match=r"arxiv.request_interval = 0 s is below arXiv's limit"):
        run(store, pipeline(tmp_path, arxiv={"request_interval": 0.0}))


def test_enriching_n_papers_costs_ceil_n_over_500_batch_calls(
    server: Loopback, store: Store, tmp_path: Path
) -> None:
    base = snapshot_works()[0]
    papers = [
        Paper(f"2401.{i:05d}", f"{base.title} (copy {i})", base.abstract, arxiv_id=f"2401.{i:05d}")
        for i in range(1001)
    ]
    ingest(store, papers, [], None)
    config = pipeline(tmp_path, arxiv={"queries": []}, semantic_scholar={"queries": []})
    report = run(store, config)
    batches = [s for s in server.requests if s.path.endswith("/paper/batch")]
    assert report.counts["s2_batch_calls"] == len(batches) == math.ceil(1001 / 500)
    assert [len(s.body.split(b'","')) for s in batches] == [500, 500, 1]
    assert report.counts["skipped_not_in_s2"] == 1001  # the world knows none of the copies


def test_moving_the_window_past_the_per_query_limit(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    world.max_per_query = 4
    config = pipeline(tmp_path, world, arxiv={"page_size": 2, "max_per_query": 4})
    report = run(store, config)
    assert report.failures == [] and world.errors == []
    assert report.counts["arxiv_windows_moved"] >= 1
    assert all(store.get_paper(k) for k in arxiv_keys(world))


class Bars:
    """A progress callback with bars (`kg.harvest.ProgressBars`) that records what it is told."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.tasks: dict[int, list] = {}

    def __call__(self, message: str) -> None:
        self.messages.append(message)

    def start_task(self, description: str, total: int | None = None) -> int:
        self.tasks[len(self.tasks)] = [description, total, 0, False]
        return len(self.tasks) - 1

    def update_task(self, task: int, *, advance: int = 0, total: int | None = None) -> None:
        self.tasks[task][2] += advance
        self.tasks[task][1] = total if total is not None else self.tasks[task][1]

    def end_task(self, task: int) -> None:
        self.tasks[task][3] = True


def test_long_stages_report_progress_bars(
    world: World, server: Loopback, store: Store, tmp_path: Path
) -> None:
    bars = Bars()
    run(store, pipeline(tmp_path, world), progress=bars)
    shown: dict[str, list[tuple]] = {}
    for description, total, done, ended in bars.tasks.values():
        shown.setdefault(description, []).append((total, done, ended))
    assert shown["arXiv in-context learning"] == [(8, 8, True)]
    (total, done, ended), after_snowball = shown["S2 references"]
    assert total == done > 10 and ended and after_snowball == (1, 1, True)
    assert all(total == done for total, done, _ in shown["S2 enrich"])
    assert "Semantic Scholar search: emergent abilities" in bars.messages


def test_progress_bars_draw_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from kg.cli import _RefreshProgress

    screen = io.StringIO()
    with _RefreshProgress(Console(file=screen, force_terminal=True, width=100)) as progress:
        progress("harvesting arXiv and Semantic Scholar")
        task = progress.start_task("arXiv in-context learning", None)
        progress.update_task(task, advance=3, total=8)
        progress.end_task(task)
    assert "arXiv in-context learning" in screen.getvalue()


@pytest.mark.parametrize(
    ("depth", "joined"), [(0, set()), (1, {"JOINS"}), (2, {"JOINS", "TOO_FEW"})]
)
def test_snowball_depth_counts_only_citing_papers_above_the_limit(
    world: World, server: Loopback, store: Store, tmp_path: Path, depth: int, joined: set[str]
) -> None:
    """TOO_FEW is cited by two harvested papers and by JOINS, which itself joins at depth 1:
    only a second round (depth 2) may count JOINS's citation."""
    world.references[world.named["JOINS"]] = [world.named["TOO_FEW"]]
    report = run(store, pipeline(tmp_path, world, snowball={"depth": depth}))
    assert report.failures == []
    stored = {p.paper_id for p in store.papers()}
    assert {name for name in ("JOINS", "TOO_FEW") if world.named[name] in stored} == joined
    assert report.counts.get("snowball_joined", 0) == len(joined)
