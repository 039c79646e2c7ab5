"""arXiv source: the strict parser on recorded feeds, query building, and the guarded flaws."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.sources.arxiv import (
    ArxivSource,
    error_message,
    paper_from_result,
    parse_feed,
    query_params,
    search_query,
)
from kg.sources.http import ApiError, Fetcher, FetchError, Malformed, RateLimiter, RetryPolicy
from tests.conftest import REPO
from tests.loopback import Loopback, Reply, Seen
from tests.worlds import atom_feed, snapshot_works

RECORDED = REPO / "tests" / "data" / "recorded" / "arxiv"
FAST = RetryPolicy(timeout=2.0, max_tries=3, backoff=0.01, backoff_cap=0.05)


def recorded(prefix: str) -> tuple[int, bytes]:
    (path,) = RECORDED.glob(f"{prefix}_*.json")
    data = json.loads(path.read_text())
    return data["status_code"], data["body"].encode("utf-8")


def test_a_recorded_search_page_parses_into_records() -> None:
    status, body = recorded("q_testing_s0_m10")
    page = parse_feed(body)
    assert status == 200 and page.total == 214881 and page.start == 0
    assert len(page.results) == 10 and page.skipped == 0
    first = page.results[0]
    assert first.get_short_id() == "2202.12139v1"
    assert first.title.startswith("Testing Deep Learning Models: A First Comparative")
    assert first.categories == ["cs.SE", "cs.LG"] and first.primary_category == "cs.SE"
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert "\n" not in first.summary and first.summary.startswith("Deep Learning (DL)")


def test_a_record_becomes_a_paper_keyed_without_version() -> None:
    _, body = recorded("q_testing_s0_m10")
    record = next(r for r in parse_feed(body).results if r.get_short_id() == "2005.14124v2")
    paper = paper_from_result(record)
    assert paper is not None
    assert (paper.paper_id, paper.arxiv_id, paper.arxiv_version) == ("2005.14124", "2005.14124", 2)
    assert (paper.published, paper.updated, paper.year) == ("2020-05-28", "2020-07-16", 2020)
    assert paper.doi == "10.1145/3395363.3397376" and paper.source == "arxiv"
    assert paper.url == "https://arxiv.org/abs/2005.14124"
    assert paper.venue and paper.venue.startswith("In Proc. ACM SIGSOFT")
    assert paper.authors[:2] == ("Yuqi Chen", "Bohan Xuan")


def test_recorded_id_list_and_empty_results() -> None:
    _, body = recorded("id_2104.12255v1")
    (record,) = parse_feed(body).results
    assert paper_from_result(record).paper_id == "2104.12255"  # type: ignore[union-attr]
    _, body = recorded("id_0000.0000")
    empty = parse_feed(body)
    assert (empty.total, empty.results) == (0, ())


def test_the_error_feed_is_an_error_not_an_empty_page() -> None:
    """`arxiv` drops the error entry (no <published>) and reads the feed as "no results"."""
    status, body = recorded("id_abc")
    assert status == 400
    with pytest.raises(ApiError, match="incorrect id format for abc"):
        parse_feed(body)
    assert error_message(body) == "incorrect id format for abc"


@pytest.mark.parametrize(
    "body",
    [
        recorded("q_testing_s0_m10")[1][:9000],  # truncated mid-entry
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b'<?xml version="1.0"?><rss/>',
    ],
    ids=["truncated", "html", "empty", "not-atom"],
)
def test_anything_but_a_whole_feed_is_malformed(body: bytes) -> None:
    """`arxiv`'s recovering parser would return the entries before the cut as a short page."""
    with pytest.raises(Malformed):
        parse_feed(body)


def test_an_entry_without_dates_is_counted_not_silently_dropped() -> None:
    _, body = recorded("id_2104.12255v1")
    broken = body.replace(b"<published>2021-04-20T16:07:14Z</published>", b"")
    page = parse_feed(broken)
    assert page.results == () and page.skipped == 1


def test_the_search_query_carries_categories_and_the_date_window() -> None:
    text = search_query('abs:"induction heads"', ("cs.CL", "cs.LG"), "202401010000", "202405011230")
    assert text == (
        '(abs:"induction heads") AND (cat:cs.CL OR cat:cs.LG) AND '
        "submittedDate:[202401010000 TO 202405011230]"
    )
    params = query_params(text, 400, 200)
    assert params == {
        "search_query": text,
        "start": "400",
        "max_results": "200",
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }


def feed_of(works, total: int, start: int = 0) -> Reply:
    body = atom_feed(works, total=total, start=start, size=2, query="q")
    return Reply(200, body, {"Content-Type": "application/atom+xml"})


@pytest.fixture
def source(tmp_path: Path):
    works = snapshot_works()[:4]

    def handler(seen: Seen) -> Reply:
        start = int(seen.query["start"])
        return feed_of(works[start : start + 2], total=len(works), start=start)

    with Loopback(handler) as server:
        fetcher = Fetcher("arXiv", RateLimiter(tmp_path / "a.lock", 0), FAST)
        yield server, ArxivSource(fetcher, server.url + "/api/query")
        fetcher.close()


def test_pages_come_back_with_their_entries(source) -> None:
    server, arxiv = source
    page = arxiv.page("x", 2, 2)
    assert page.total == 4 and len(page.results) == 2
    assert server.requests[0].query["start"] == "2"


def test_an_error_feed_with_http_400_is_not_retried(source) -> None:
    server, arxiv = source
    _, body = recorded("id_abc")
    server.inject(Reply(400, body, {"Content-Type": "application/atom+xml"}), times=5)
    with pytest.raises(FetchError, match="incorrect id format for abc") as caught:
        arxiv.page("x", 0, 2)
    assert caught.value.status == 400 and len(server.requests) == 1


def test_an_empty_page_in_the_middle_is_retried(source) -> None:
    server, arxiv = source
    server.inject(feed_of([], total=4, start=2))
    page = arxiv.page("x", 2, 2)
    assert len(page.results) == 2 and len(server.requests) == 2


def test_an_empty_page_after_a_short_one_ends_the_results(source) -> None:
    server, arxiv = source
    server.inject(feed_of([], total=5, start=4))
    page = arxiv.page("x", 4, 2, end_possible=True)
    assert page.results == () and len(server.requests) == 1


def test_query_text_reaches_the_server_intact(source) -> None:
    """Characters that URLs give a meaning (+, &, quotes, brackets) arrive as written."""
    server, arxiv = source
    text = 'abs:"C++ & C#" AND ti:a+b AND submittedDate:[202401010000 TO 202401020000]'
    arxiv.page(text, 0, 2)
    assert server.requests[0].query["search_query"] == text
