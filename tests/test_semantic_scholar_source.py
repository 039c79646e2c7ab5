"""Semantic Scholar source: parsers on recorded responses, and each guarded client flaw."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kg.sources.http import ApiError, Fetcher, FetchError, Malformed, RateLimiter, RetryPolicy
from kg.sources.semantic_scholar import (
    SemanticScholarSource,
    error_message,
    paper_from_s2,
    parse_batch,
    parse_edges,
    parse_search,
)
from tests.conftest import REPO
from tests.loopback import Loopback, Reply, Seen

RECORDED = REPO / "tests" / "data" / "recorded" / "semantic-scholar"
FAST = RetryPolicy(timeout=2.0, max_tries=3, backoff=0.01, backoff_cap=0.05)
KEY = "s2-test-key-0123456789abcdef"


def cassette(name: str) -> list[dict]:
    return json.loads((RECORDED / f"{name}.json").read_text())


def body(name: str, n: int = 0) -> bytes:
    return cassette(name)[n]["body"].encode()


def test_batch_keeps_null_entries_aligned_with_the_ids() -> None:
    """`get_papers` drops the nulls, so outputs no longer line up with the ids asked for."""
    (recorded,) = cassette("get_papers_return_not_found")
    ids = json.loads(recorded["request_body"])["ids"]
    records = parse_batch(recorded["body"].encode(), len(ids))
    assert len(records) == len(ids) == 4
    assert records[0] is None  # CorpusId:211530585 is unknown
    assert records[1].paperId == "c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce"
    assert records[3].paperId == ids[3]
    with pytest.raises(Malformed, match="4 entries for 5 ids"):
        parse_batch(recorded["body"].encode(), 5)


def test_a_recorded_record_becomes_a_paper() -> None:
    (recorded,) = cassette("get_papers_return_not_found")
    paper = paper_from_s2(parse_batch(recorded["body"].encode(), 4)[1])
    assert paper is not None
    assert paper.paper_id == "s2:c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce"
    assert paper.title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert paper.doi == "10.2139/ssrn.288970" and paper.arxiv_id is None
    assert (paper.year, paper.published) == (2001, "2001-10-01")
    assert paper.authors[0] == "Marianne Bertrand" and paper.citation_count == 10670
    assert paper.venue == "Experimental & Empirical Studies eJournal"  # journal stands in
    assert paper.s2_corpus_id == 470667 and paper.source == "s2"


def test_recorded_reference_pages_page_on_and_end() -> None:
    first = parse_edges(body("get_paper_references", 0), "references")
    last = parse_edges(body("get_paper_references", 1), "references")
    assert (first.offset, first.next, len(first.edges)) == (0, 50, 50)
    assert (last.offset, last.next, len(last.edges)) == (50, None, 17)
    assert first.edges[0].paper.title.startswith("Group lending or individual lending?")
    assert any(edge.paper.paperId is None for edge in last.edges)  # unresolved reference


def test_recorded_citation_pages_page_on_and_end() -> None:
    pages = [parse_edges(body("get_paper_citations", n), "citations") for n in range(3)]
    assert [(p.offset, p.next) for p in pages] == [(0, 100), (100, 200), (1800, None)]
    assert pages[2].edges[0].paper.paperId == "57ca0060418e8a4d972905f3cfbae330b111f21e"


def test_recorded_bulk_search_pages_carry_a_continuation_token() -> None:
    first, second = cassette("search_paper_bulk_retrieval_next_page")
    page = parse_search(first["body"].encode())
    assert page.total == 2674 and len(page.papers) == 1000
    assert page.token and f"token={page.token}" in second["url"]
    assert parse_search(second["body"].encode()).token != page.token
    empty = parse_search(body("empty_paginated_results"))  # {"total": 0, "offset": 0}
    assert (empty.total, empty.token, empty.papers) == (0, None, ())


def test_error_bodies_are_errors_not_empty_results() -> None:
    """The client returns {} for a 200 whose body is {"error": ...}: here it is an error."""
    with pytest.raises(ApiError, match="Paper with id 0 not found"):
        parse_edges(body("not_found"), "references")
    assert error_message(body("bad_query_parameters")).startswith("Unrecognized or unsupported")
    for parse in (lambda b: parse_batch(b, 1), lambda b: parse_edges(b, "citations"), parse_search):
        with pytest.raises(Malformed):
            parse(b"{}")
        with pytest.raises(Malformed):
            parse(b'[{"paperId": "x"')  # truncated


def recorded_service(seen: Seen) -> Reply:
    """Answers from the recorded cassettes, chosen by path and token."""
    if seen.path.endswith("/paper/batch"):
        (recorded,) = cassette("get_papers_return_not_found")
    elif seen.path.endswith("/search/bulk"):
        first, second = cassette("search_paper_bulk_retrieval_next_page")
        recorded = second if "token" in seen.query else first
    elif seen.path.endswith("/references"):
        recorded = cassette("get_paper_references")[int(seen.query["offset"]) // 50]
    else:
        recorded = cassette("bad_query_parameters")[0]
    return Reply(recorded["status"], recorded["body"], recorded["headers"])


@pytest.fixture
def service(tmp_path: Path):
    with Loopback(recorded_service) as server:
        fetcher = Fetcher(
            "Semantic Scholar",
            RateLimiter(tmp_path / "s2.lock", 0),
            FAST,
            headers={"x-api-key": KEY},
        )
        yield server, SemanticScholarSource(fetcher, server.url)
        fetcher.close()


IDS = ["CorpusId:211530585", "CorpusId:470667", "10.2139/ssrn.2250500", "0f40b1f0"]


@pytest.mark.parametrize("status", [502, 503, 504, 429, 500])
def test_server_errors_are_retried_not_read_as_empty(service, status: int) -> None:
    """The client turns 502/503 into an empty result; here they are retried."""
    server, s2 = service
    server.inject(Reply(status, '{"message": "Internal Server Error"}'), times=2)
    records = s2.batch(IDS)
    assert len(records) == 4 and records[1].title.startswith("How Much Should We Trust")
    assert len(server.requests) == 3


def test_a_service_that_stays_down_is_reported(service) -> None:
    server, s2 = service
    server.inject(Reply(503, "", {"Retry-After": "0"}), times=10)
    with pytest.raises(FetchError, match=r"HTTP 503 after 3 tries .*/graph/v1/paper/batch"):
        s2.batch(IDS)


def test_bad_parameters_are_not_retried(service) -> None:
    server, s2 = service
    with pytest.raises(FetchError, match="Unrecognized or unsupported fields") as caught:
        s2.edges("citations", "abc", 0, 10)
    assert caught.value.status == 400 and len(server.requests) == 1


def test_batch_posts_ids_and_fields_as_the_api_wants(service) -> None:
    server, s2 = service
    s2.batch(IDS, fields=("title", "externalIds"))
    (seen,) = server.requests
    assert seen.method == "POST" and seen.path == "/graph/v1/paper/batch"
    assert seen.query == {"fields": "title,externalIds"}
    assert json.loads(seen.body) == {"ids": IDS}
    with pytest.raises(ValueError, match=r"1\.\.500"):
        s2.batch(["x"] * 501)


def test_references_page_with_contexts_intents_and_influence(service) -> None:
    server, s2 = service
    page = s2.edges("references", "10.2139/ssrn.2250500", 50, 50)
    assert page.next is None and len(page.edges) == 17
    fields = server.requests[0].query["fields"].split(",")
    assert {"contexts", "intents", "isInfluential", "paperId", "externalIds"} <= set(fields)
    assert server.requests[0].path == "/graph/v1/paper/10.2139/ssrn.2250500/references"


def test_bulk_search_resumes_from_a_stored_token(service) -> None:
    """The client keeps the token private: here a page returns it and a later call takes it."""
    server, s2 = service
    first = s2.search_bulk("kubernetes", fields_of_study=["Computer Science"], dates="2019:")
    second = s2.search_bulk("kubernetes", token=first.token)
    assert len(first.papers) == len(second.papers) == 1000
    assert server.requests[0].query["publicationDateOrYear"] == "2019:"
    assert server.requests[0].query["fieldsOfStudy"] == "Computer Science"
    assert server.requests[1].query["token"] == first.token


def test_query_characters_are_encoded_not_reparsed(service) -> None:
    """The client lets `+` become a space and `&` cut the query."""
    server, s2 = service
    s2.search_bulk('"in-context learning" + C++ & chain-of-thought | ICL')
    seen = server.requests[0]
    assert seen.query["query"] == '"in-context learning" + C++ & chain-of-thought | ICL'
    assert "%2B" in seen.raw_query and "%26" in seen.raw_query


def test_the_key_is_sent_as_a_header_and_never_logged(
    service, caplog: pytest.LogCaptureFixture
) -> None:
    """The client logs request headers (and a cURL command) at DEBUG, key included."""
    server, s2 = service
    caplog.set_level(logging.DEBUG)
    server.inject(Reply(503), times=1)
    s2.batch(IDS)
    server.inject(Reply(503), times=10)
    with pytest.raises(FetchError) as caught:
        s2.search_bulk("kubernetes")
    assert all(seen.headers.get("x-api-key") == KEY for seen in server.requests)
    assert KEY not in caught.value.args[0] and KEY not in repr(s2.fetcher)
    assert caplog.records and all(KEY not in r.getMessage() for r in caplog.records)
    assert KEY not in caplog.text
