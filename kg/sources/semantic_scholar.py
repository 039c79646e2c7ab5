"""Semantic Scholar Graph API: batch enrichment, references, citations and bulk search.

All four calls go over HTTP through `kg.sources.http.Fetcher`; the parsed data keeps the
`semanticscholar` package's record types (`Paper`, `Reference`, `Citation`). Its client is not
used for any call, because each of its flaws (0.12.0) would bite every one of them:

- `ApiRequester` returns an EMPTY result for 502, 503 and any unlisted status, and for a 200
  whose body is `{"error": ...}`: a failing service reads as "no data". Here 502/503/504/429
  are retried and then reported; an error body is an `ApiError`; `{}` is `Malformed`.
- It logs request headers (and a cURL command) at DEBUG, API key included. The fetcher never
  logs headers; the key lives only in the request's `x-api-key` header.
- It re-parses query strings, so `+` becomes a space and `&` cuts the query; here httpx
  percent-encodes every parameter value (`search_bulk`).
- Bulk search keeps its continuation token private, so an interrupted search cannot resume;
  `search_bulk` takes and returns the token, which the harvest stores after every page.
- `get_papers` drops the null entries of `/paper/batch`, so outputs stop lining up with the ids
  asked for; `parse_batch` keeps one entry (a record or None) per id, in order.
- It retries only 429, ignores `Retry-After`, does not retry timeouts: see the fetcher.

Semantic Scholar data is ODC-BY: attribute Semantic Scholar when showing it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from semanticscholar.Citation import Citation as S2Citation
from semanticscholar.Paper import Paper as S2Paper
from semanticscholar.Reference import Reference as S2Reference

from kg.records import Paper, paper_key, split_arxiv_id
from kg.sources.http import ApiError, Fetcher, Malformed

DEFAULT_URL = "https://api.semanticscholar.org"
API_PATH = "/graph/v1"
MIN_INTERVAL = 1.0  # seconds between requests: the rate granted to a key
MAX_BATCH = 500  # ids per /paper/batch call
MAX_EDGE_PAGE = 1000  # limit per /references or /citations call
EDGE_CAP = 10000  # offset + limit the edge endpoints serve at most
SOURCE = "s2"

PAPER_FIELDS = (
    "paperId",
    "corpusId",
    "externalIds",
    "url",
    "title",
    "abstract",
    "venue",
    "journal",
    "year",
    "publicationDate",
    "authors",
    "referenceCount",
    "citationCount",
    "influentialCitationCount",
)
# Edge endpoints: fields of the edge, then of the paper at its other end (given unprefixed).
EDGE_FIELDS = ("contexts", "intents", "isInfluential", "paperId", "externalIds", "title")
REFERENCE_FIELDS = (*EDGE_FIELDS, "abstract", "year")


@dataclass(frozen=True)
class EdgePage:
    """One page of `/references` or `/citations`: the edges and the next offset (None: end)."""

    offset: int
    next: int | None
    edges: tuple[S2Reference | S2Citation, ...]


@dataclass(frozen=True)
class SearchPage:
    """One page of `/paper/search/bulk`: papers and the token of the next page (None: end)."""

    total: int
    token: str | None
    papers: tuple[S2Paper, ...]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(f"not JSON: {exc}") from None


def _check_error(data: Any) -> None:
    if isinstance(data, dict) and set(data) <= {"error", "message", "code"} and data:
        raise ApiError(str(data.get("error") or data.get("message")))


def error_message(body: bytes) -> str | None:
    """The `error` (or `message`) of an error response body, or None."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict):
        text = data.get("error") or data.get("message")
        return str(text) if text else None
    return None


def _record(cls: Any, item: Any) -> Any:
    if not isinstance(item, dict):
        raise Malformed(f"expected an object, got {type(item).__name__}")
    try:
        return cls(item)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise Malformed(f"unexpected record ({exc})") from None


def parse_batch(body: bytes, expected: int) -> list[S2Paper | None]:
    """`POST /paper/batch` response: one record or None per id asked for, in the same order."""
    data = _json(body)
    _check_error(data)
    if not isinstance(data, list):
        raise Malformed(f"expected a list, got {type(data).__name__}")
    if len(data) != expected:
        raise Malformed(f"{len(data)} entries for {expected} ids")
    return [None if item is None else _record(S2Paper, item) for item in data]


def parse_edges(body: bytes, kind: str) -> EdgePage:
    """`/paper/{id}/references` (`kind="references"`) or `/citations` response."""
    data = _json(body)
    _check_error(data)
    if not isinstance(data, dict) or "data" not in data:
        raise Malformed("expected an object with 'data'")
    items = data["data"] or []
    if not isinstance(items, list):
        raise Malformed("'data' is not a list")
    cls = S2Reference if kind == "references" else S2Citation
    offset, following = data.get("offset", 0), data.get("next")
    if not isinstance(offset, int) or not (following is None or isinstance(following, int)):
        raise Malformed("'offset'/'next' are not integers")
    return EdgePage(offset, following, tuple(_record(cls, item) for item in items))


def parse_search(body: bytes) -> SearchPage:
    """`/paper/search/bulk` response: `{total, token?, data}`."""
    data = _json(body)
    _check_error(data)
    if not isinstance(data, dict) or "total" not in data:
        raise Malformed("expected an object with 'total'")
    try:
        total = int(data["total"])
    except (TypeError, ValueError):
        raise Malformed("'total' is not a number") from None
    items = data.get("data")
    if items is None:
        if total:
            raise Malformed("no 'data' although 'total' > 0")
        items = []
    if not isinstance(items, list):
        raise Malformed("'data' is not a list")
    token = data.get("token") or None
    if token is not None and not isinstance(token, str):
        raise Malformed("'token' is not a string")
    return SearchPage(total, token, tuple(_record(S2Paper, item) for item in items))


def external_ids(record: S2Paper) -> tuple[str | None, str | None]:
    """(arXiv id without version, DOI) of a record, each None when absent or unusable."""
    ext = record.externalIds or {}
    arxiv_id = ext.get("ArXiv")
    if arxiv_id:
        try:
            arxiv_id = split_arxiv_id(str(arxiv_id))[0]
        except ValueError:
            arxiv_id = None
    doi = ext.get("DOI")
    return arxiv_id or None, (str(doi) if doi else None)


def paper_from_s2(record: S2Paper) -> Paper | None:
    """The `Paper` a Semantic Scholar record is (None without a paperId or a title)."""
    raw = record.raw_data
    if not record.paperId or not record.title:
        return None
    arxiv_id, doi = external_ids(record)
    journal = raw.get("journal") if isinstance(raw.get("journal"), dict) else None
    venue = record.venue or (journal or {}).get("name") or None
    published = record.publicationDate.date().isoformat() if record.publicationDate else None
    authors = tuple(a.name for a in record.authors or () if a.name)
    return Paper(
        paper_id=paper_key(arxiv_id, record.paperId, doi),
        title=" ".join(record.title.split()),
        abstract=record.abstract or None,
        authors=authors,
        published=published,
        year=record.year,
        venue=venue,
        doi=doi,
        arxiv_id=arxiv_id,
        s2_paper_id=record.paperId,
        s2_corpus_id=raw.get("corpusId"),
        citation_count=record.citationCount,
        influential_citation_count=record.influentialCitationCount,
        reference_count=record.referenceCount,
        url=raw.get("url") or None,
        source=SOURCE,
    )


class SemanticScholarSource:
    """The Graph API under `KG_S2_URL` (`/graph/v1` appended), one request per call."""

    def __init__(self, fetcher: Fetcher, root_url: str = DEFAULT_URL) -> None:
        self.fetcher = fetcher
        self.base = root_url.rstrip("/") + API_PATH

    def batch(self, ids: Sequence[str], fields: Sequence[str] = PAPER_FIELDS) -> list[Any]:
        """Records for up to 500 ids (`arXiv:2202.12837`, `DOI:...`, paperIds): None if unknown."""
        if not 1 <= len(ids) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} ids")
        expected = len(ids)
        return self.fetcher.request(
            "POST",
            f"{self.base}/paper/batch",
            lambda body: parse_batch(body, expected),
            params={"fields": ",".join(fields)},
            json={"ids": list(ids)},
            describe_error=error_message,
        )

    def edges(self, kind: str, paper_id: str, offset: int, limit: int) -> EdgePage:
        """One page of a paper's `references` or `citations`, with contexts and intents."""
        if kind not in ("references", "citations"):
            raise ValueError(kind)
        fields = REFERENCE_FIELDS if kind == "references" else EDGE_FIELDS
        return self.fetcher.request(
            "GET",
            f"{self.base}/paper/{quote(paper_id, safe=':/')}/{kind}",
            lambda body: parse_edges(body, kind),
            params={"fields": ",".join(fields), "offset": str(offset), "limit": str(limit)},
            describe_error=error_message,
        )

    def search_bulk(
        self,
        query: str,
        *,
        token: str | None = None,
        fields_of_study: Sequence[str] = (),
        dates: str | None = None,
        fields: Sequence[str] = PAPER_FIELDS,
    ) -> SearchPage:
        """One page (up to 1,000 papers) of a bulk search; pass the last page's token to go on.

        `dates` is a `publicationDateOrYear` range such as `2019:` or `2024-05-01:`.
        """
        params = {"query": query, "fields": ",".join(fields)}
        if fields_of_study:
            params["fieldsOfStudy"] = ",".join(fields_of_study)
        if dates:
            params["publicationDateOrYear"] = dates
        if token:
            params["token"] = token
        return self.fetcher.request(
            "GET",
            f"{self.base}/paper/search/bulk",
            parse_search,
            params=params,
            describe_error=error_message,
        )
