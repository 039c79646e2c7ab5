"""arXiv: the pipeline's queries as polite, resumable pages of the Atom API.

We keep the `arxiv` package's query vocabulary (`arxiv.Search`, `SortCriterion`, `SortOrder`)
and its record type (`arxiv.Result`), but send requests through `kg.sources.http.Fetcher` and
parse with a strict parser of our own, because `arxiv.Client` (4.0.x) cannot be made safe:

- it has no request timeout, so a slow server blocks a harvest for as long as it likes
  (the fetcher bounds every exchange);
- it retries every non-200, even a 400, after a flat delay, with no backoff and no
  `Retry-After` (the fetcher never retries 400, backs off with jitter, honours Retry-After);
- its 3 s spacing is per `Client` object (the fetcher's limiter is a file lock shared by every
  process of the machine; arXiv's terms of use ask for "no more than one request every three
  seconds", and `MIN_INTERVAL` is that);
- its parser drops entries without `<published>` and recovers from broken XML, so an error feed
  or a truncated body reads as "no results" (`parse_feed` raises `ApiError` for an error feed
  and `Malformed` for anything that is not a whole Atom feed);
- it silently ends the results on an empty first page (the harvest re-asks and never moves a
  watermark on an empty answer; see `kg.harvest`).

`parse_feed` and `paper_from_result` are pure functions of the response bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import arxiv

from kg.records import Paper, split_arxiv_id
from kg.sources.http import ApiError, Fetcher, Malformed

DEFAULT_URL = "https://export.arxiv.org/api/query"
MIN_INTERVAL = 3.0  # seconds between requests, from arXiv's API terms of use
MAX_PAGE = 2000  # results per call (the API's limit)
MAX_PER_QUERY = 30000  # results one query can page through (beyond: HTTP 400)
SOURCE = "arxiv"

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
_ERROR_ID = "arxiv.org/api/errors"


@dataclass(frozen=True)
class FeedPage:
    """One page of results: the feed's own totals and the entries it carried."""

    total: int
    start: int
    results: tuple[arxiv.Result, ...]
    skipped: int = 0  # entries without an id, a <published> or an <updated> date


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path, _NS)
    if found is None or found.text is None:
        return None
    return found.text


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _total(root: ET.Element, name: str) -> int:
    raw = _text(root, f"opensearch:{name}")
    try:
        return int((raw or "").strip())
    except ValueError:
        raise Malformed(f"feed without a numeric <opensearch:{name}>") from None


def error_message(body: bytes) -> str | None:
    """The message of arXiv's error feed (what an HTTP 400 carries), or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for entry in root.iterfind("atom:entry", _NS):
        if _ERROR_ID in (_text(entry, "atom:id") or ""):
            return _squash(_text(entry, "atom:summary")) or "error"
    return None


def parse_feed(body: bytes) -> FeedPage:
    """Parse one API response; `ApiError` for arXiv's error feed, `Malformed` for non-feeds.

    Unlike `arxiv`'s recovering parser this one is strict: a truncated or broken document is
    `Malformed` (so the fetcher retries it) rather than a shorter page.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Malformed(f"not XML: {exc}") from None
    if root.tag != f"{{{_NS['atom']}}}feed":
        raise Malformed(f"not an Atom feed (root <{root.tag}>)")
    message = error_message(body)
    if message is not None:
        raise ApiError(message)
    total, start = _total(root, "totalResults"), _total(root, "startIndex")
    results: list[arxiv.Result] = []
    skipped = 0
    for entry in root.iterfind("atom:entry", _NS):
        entry_id = _text(entry, "atom:id")
        published = _when(_text(entry, "atom:published"))
        updated = _when(_text(entry, "atom:updated"))
        if not entry_id or published is None or updated is None:
            skipped += 1
            continue
        primary = entry.find("arxiv:primary_category", _NS)
        results.append(
            arxiv.Result(
                entry_id=entry_id.strip(),
                updated=updated,
                published=published,
                title=_squash(_text(entry, "atom:title")),
                authors=[
                    arxiv.Result.Author(_squash(_text(a, "atom:name")))
                    for a in entry.iterfind("atom:author", _NS)
                ],
                summary=_squash(_text(entry, "atom:summary")),
                comment=_squash(_text(entry, "arxiv:comment")),
                journal_ref=_squash(_text(entry, "arxiv:journal_ref")),
                doi=_squash(_text(entry, "arxiv:doi")),
                primary_category=primary.get("term", "") if primary is not None else "",
                categories=[
                    term
                    for c in entry.iterfind("atom:category", _NS)
                    if (term := c.get("term")) is not None
                ],
                links=[
                    arxiv.Result.Link(href, title=link.get("title"), rel=link.get("rel") or "")
                    for link in entry.iterfind("atom:link", _NS)
                    if (href := link.get("href"))
                ],
            )
        )
    return FeedPage(total=total, start=start, results=tuple(results), skipped=skipped)


def paper_from_result(result: arxiv.Result) -> Paper | None:
    """The `Paper` an arXiv record is (None when its id is not an arXiv id or it has no title).

    The key is the id without version; `published` is v1's date, `updated` the returned
    version's; the journal reference stands in for a venue until Semantic Scholar names one.
    """
    try:
        base, version = split_arxiv_id(result.get_short_id())
    except ValueError:
        return None
    if not result.title:
        return None
    authors = tuple(a.name for a in result.authors if a.name)
    return Paper(
        paper_id=base,
        title=result.title,
        abstract=result.summary or None,
        authors=authors,
        published=result.published.date().isoformat(),
        updated=result.updated.date().isoformat(),
        year=result.published.year,
        categories=tuple(dict.fromkeys(result.categories)),
        venue=result.journal_ref or None,
        doi=result.doi or None,
        arxiv_id=base,
        arxiv_version=version,
        abstract_complete=True if result.summary else None,
        url=f"https://arxiv.org/abs/{base}",
        source=SOURCE,
    )


def search_query(query: str, categories: tuple[str, ...], start: str, end: str) -> str:
    """The `search_query` of one window: the pipeline's query, its categories, submitted dates.

    `start` and `end` are `YYYYMMDDHHMM` (GMT), both inclusive, as the API expects.
    """
    parts = [f"({query})"]
    if categories:
        parts.append("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
    parts.append(f"submittedDate:[{start} TO {end}]")
    return " AND ".join(parts)


def query_params(search_text: str, start: int, size: int) -> dict[str, str]:
    """Request parameters of one page, oldest submission first (stable while new ones arrive)."""
    search = arxiv.Search(
        query=search_text,
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )
    return {
        "search_query": search.query,
        "start": str(start),
        "max_results": str(size),
        "sortBy": search.sort_by.value,
        "sortOrder": search.sort_order.value,
    }


class ArxivSource:
    """The arXiv query endpoint (`KG_ARXIV_URL`), one page per call."""

    def __init__(self, fetcher: Fetcher, url: str = DEFAULT_URL) -> None:
        self.fetcher = fetcher
        self.url = url

    def page(
        self, search_text: str, start: int, size: int, *, end_possible: bool = False
    ) -> FeedPage:
        """Results `start` .. `start + size - 1` of a search (one request, with its retries).

        A page with no entries although the feed counts more results is `Malformed` (arXiv
        sometimes sends one; it is retried) unless `end_possible` says the previous page was
        already short, i.e. the feed's total overcounts and the results really ended.
        """
        if not 1 <= size <= MAX_PAGE:
            raise ValueError(f"page size must be 1..{MAX_PAGE}")

        def parse(body: bytes) -> FeedPage:
            page = parse_feed(body)
            if not page.results and not page.skipped and start < page.total and not end_possible:
                raise Malformed(f"no entries at result {start} of {page.total}")
            return page

        return self.fetcher.request(
            "GET",
            self.url,
            parse,
            params=query_params(search_text, start, size),
            describe_error=error_message,
        )
