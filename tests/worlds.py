"""A small arXiv and Semantic Scholar, built from the snapshot's real papers, served on loopback.

`World` holds works (real titles, abstracts, authors from `papers.jsonl`), which arXiv queries
find which works, who cites whom, and which Semantic Scholar searches find what. `World.handler`
answers the requests kg sends in the services' wire formats: Atom 1.0 feeds with opensearch
totals exactly like the recorded ones (error feed with HTTP 400 included), and Graph API JSON
shaped like the recorded cassettes (`/paper/batch` with nulls, `/references` and `/citations`
with `offset`/`next`, `/paper/search/bulk` with a continuation `token`, `{"error": ...}` bodies).
Where a detail is not pinned by the recordings (dates of the snapshot papers the snapshot leaves
out, citing sentences, ids) it is derived deterministically from the paper.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from tests.conftest import SNAPSHOT
from tests.loopback import Reply, Seen

ATOM_HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class Work:
    """One paper of the world; `arxiv_id` None for a work only Semantic Scholar knows."""

    key: str
    title: str
    abstract: str | None
    authors: tuple[str, ...]
    year: int
    published: datetime
    categories: tuple[str, ...] = ("cs.CL",)
    version: int = 1
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None

    @property
    def s2_id(self) -> str:
        return _digest(f"s2:{self.key}")

    @property
    def corpus_id(self) -> int:
        return int(_digest(f"corpus:{self.key}")[:7], 16)

    @property
    def updated(self) -> datetime:
        return self.published + timedelta(days=400 * (self.version > 1))


def snapshot_works() -> list[Work]:
    """Every snapshot paper as a `Work`: v1 date from its arXiv id's YYMM (day and time derived)."""
    works = []
    for line in (SNAPSHOT / "papers.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        arxiv_id = data["arxiv_id"]
        h = int(_digest(arxiv_id), 16)
        year, month = 2000 + int(arxiv_id[:2]), int(arxiv_id[2:4])
        published = datetime(year, month, 1 + h % 28, h % 24, (h >> 8) % 60, (h >> 16) % 60)
        works.append(
            Work(
                key=arxiv_id,
                title=data["title"],
                abstract=data["abstract"],
                authors=tuple(data["authors"] or ("Anonymous",)),
                year=published.year,
                published=published.replace(tzinfo=UTC),
                categories=tuple(data["categories"] or ("cs.CL",)),
                version=1 + h % 3,
                venue=data.get("venue") or None,
                arxiv_id=arxiv_id,
            )
        )
    return sorted(works, key=lambda w: w.published)


# A real work outside the topic (Semantic Scholar's recorded batch, ODC-BY): cited often,
# named by no vocabulary concept.
OFF_TOPIC = Work(
    key="doi:10.2139/ssrn.288970",
    title="How Much Should We Trust Differences-in-Differences Estimates?",
    abstract=(  # its first sentence (the next one says "bias", an alias of risk:bias)
        "Most Difference-in-Difference (DD) papers rely on many years of data and focus on "
        "serially correlated outcomes."
    ),
    authors=("Marianne Bertrand", "E. Duflo", "S. Mullainathan"),
    year=2001,
    published=datetime(2001, 10, 1, tzinfo=UTC),
    doi="10.2139/ssrn.288970",
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_entry(work: Work) -> str:
    """One `<entry>` in the shape of the recorded feeds."""
    assert work.arxiv_id is not None
    vid = f"{work.arxiv_id}v{work.version}"
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <title>{escape(work.title)}</title>",
        f"    <updated>{_iso(work.updated)}</updated>",
        f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" '
        'title="pdf"/>',
        f"    <summary>{escape(work.abstract or '')}</summary>",
    ]
    lines += [
        f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
        for c in work.categories
    ]
    lines.append(f"    <published>{_iso(work.published)}</published>")
    lines.append(f'    <arxiv:primary_category term="{work.categories[0]}"/>')
    if work.venue:
        lines.append(f"    <arxiv:journal_ref>{escape(work.venue)}</arxiv:journal_ref>")
    for name in work.authors:
        lines += ["    <author>", f"      <name>{escape(name)}</name>", "    </author>"]
    if work.doi:
        lines.append(f"    <arxiv:doi>{escape(work.doi)}</arxiv:doi>")
        lines.append(
            f'    <link rel="related" href={quoteattr("https://doi.org/" + work.doi)} title="doi"/>'
        )
    lines.append("  </entry>")
    return "\n".join(lines) + "\n"


def atom_feed(entries: Iterable[Work], *, total: int, start: int, size: int, query: str) -> str:
    """A whole response feed: header with opensearch totals, then the entries."""
    q = escape(query)
    head = (
        f"  <id>https://arxiv.org/api/{_digest(query + str(start))[:27]}</id>\n"
        f"  <title>arXiv Query: search_query={q}&amp;id_list=&amp;start={start}"
        f"&amp;max_results={size}</title>\n"
        "  <updated>2026-04-12T22:09:27Z</updated>\n"
        f'  <link href="https://arxiv.org/api/query?search_query={q}&amp;start={start}'
        f'&amp;max_results={size}&amp;id_list=" type="application/atom+xml"/>\n'
        f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
    )
    return ATOM_HEAD + head + "".join(atom_entry(w) for w in entries) + "</feed>\n"


def error_feed(message: str) -> str:
    """arXiv's error feed (what it sends with HTTP 400), as recorded."""
    anchor = re.sub(r"\W+", "_", message)
    return (
        ATOM_HEAD + "  <id>https://arxiv.org/</id>\n"
        "  <title>arXiv Search Results</title>\n"
        "  <updated>2026-04-12T22:59:06Z</updated>\n"
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
        "  <opensearch:totalResults>1</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        "  <entry>\n"
        f"    <id>https://arxiv.org/api/errors#{anchor}</id>\n"
        "    <title>Error</title>\n"
        "    <updated>2026-04-12T22:59:06Z</updated>\n"
        f'    <link href="https://arxiv.org/api/errors#{anchor}" rel="alternate" '
        'type="text/html"/>\n'
        f"    <summary>{escape(message)}</summary>\n"
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n</feed>\n"
    )


def s2_record(work: Work, fields: Iterable[str], counts: tuple[int, int, int]) -> dict:
    """A Graph API paper with only the requested fields (paperId always), as recorded."""
    external: dict[str, object] = {}
    if work.arxiv_id:
        external["ArXiv"] = work.arxiv_id
    if work.doi:
        external["DOI"] = work.doi
    external["CorpusId"] = work.corpus_id
    full = {
        "paperId": work.s2_id,
        "corpusId": work.corpus_id,
        "externalIds": external,
        "url": f"https://www.semanticscholar.org/paper/{work.s2_id}",
        "title": work.title,
        "abstract": work.abstract,
        "venue": work.venue or "",
        "journal": {"name": work.venue} if work.venue else None,
        "year": work.year,
        "publicationDate": work.published.date().isoformat(),
        "authors": [
            {"authorId": str(int(_digest(name)[:8], 16)), "name": name} for name in work.authors
        ],
        "referenceCount": counts[0],
        "citationCount": counts[1],
        "influentialCitationCount": counts[2],
    }
    wanted = {"paperId", *fields}
    return {k: v for k, v in full.items() if k in wanted}


def _error(status: int, message: str) -> Reply:
    return Reply(
        status, json.dumps({"error": message}) + "\n", {"Content-Type": "application/json"}
    )


def _json(data: object) -> Reply:
    return Reply(200, json.dumps(data) + "\n", {"Content-Type": "application/json"})


_SEARCH = re.compile(
    r"^\((?P<q>.*?)\)(?: AND \((?P<cats>cat:[^)]*)\))? AND "
    r"submittedDate:\[(?P<a>\d{12}) TO (?P<b>\d{12})\]$"
)


@dataclass
class World:
    """Works, who finds and cites them, and the two services answering about them."""

    works: list[Work]
    arxiv_queries: dict[str, list[str]] = field(default_factory=dict)  # query -> keys
    s2_queries: dict[str, list[str]] = field(default_factory=dict)  # query -> keys
    references: dict[str, list[str]] = field(default_factory=dict)  # citing -> cited keys
    not_in_s2: set[str] = field(default_factory=set)  # keys batch answers null for
    unnamed_references: dict[str, list[str]] = field(default_factory=dict)  # titles, no id
    search_page: int = 1000  # papers per /paper/search/bulk page
    edge_page: int = 1000  # at most this many references/citations a page, whatever the limit
    errors: list[str] = field(default_factory=list)  # requests the real API would refuse
    named: dict[str, str] = field(default_factory=dict)  # roles of works in a test world

    max_per_query: int = 30000  # results one arXiv query pages through

    def __post_init__(self) -> None:
        self.by_key = {w.key: w for w in self.works}
        self._ids: dict[str, Work] = {}
        for w in self.works:
            self._ids[w.s2_id] = w
            self._ids[f"corpusid:{w.corpus_id}"] = w
            if w.arxiv_id:
                self._ids[f"arxiv:{w.arxiv_id}"] = w
            if w.doi:
                self._ids[f"doi:{w.doi.lower()}"] = w

    # -- lookups ----------------------------------------------------------------------------

    def cited_by(self, key: str) -> list[str]:
        return [citing for citing, cited in self.references.items() if key in cited]

    def counts(self, work: Work) -> tuple[int, int, int]:
        citing = self.cited_by(work.key)
        return len(self.references.get(work.key, [])), len(citing), len(citing) // 2

    def find(self, s2_id: str) -> Work | None:
        """The work a Graph API id names (paperId, `arXiv:`, `DOI:`, `CorpusId:`), if known."""
        raw = s2_id.strip()
        kind, _, value = raw.partition(":")
        work = self._ids.get(f"{kind.lower()}:{value.lower() if kind.lower() == 'doi' else value}")
        work = work or self._ids.get(raw)
        return None if work is None or work.key in self.not_in_s2 else work

    def context(self, citing: Work, cited: Work) -> str:
        """A citing sentence: the first sentence of the citing abstract naming the cited work."""
        first = (citing.abstract or citing.title).split(". ")[0]
        return f"{first} ({cited.authors[0].split()[-1]} et al., {cited.year})."

    # -- the two services -------------------------------------------------------------------

    def handler(self, seen: Seen) -> Reply:
        if seen.path.endswith("/api/query"):
            return self.arxiv(seen)
        if seen.path.startswith("/graph/v1/"):
            return self.s2(seen)
        return Reply(404, "not found")

    def arxiv(self, seen: Seen) -> Reply:
        q = seen.query
        start, size = int(q.get("start", 0)), int(q.get("max_results", 10))
        if size > 2000 or start + size > self.max_per_query:
            self.errors.append(seen.raw_query)
            return Reply(400, error_feed("max_results too large"), _ATOM)
        if q.get("sortBy") != "submittedDate" or q.get("sortOrder") != "ascending":
            self.errors.append(seen.raw_query)
        match = _SEARCH.match(q.get("search_query", ""))
        if not match:
            return Reply(400, error_feed("malformed search_query"), _ATOM)
        keys = self.arxiv_queries.get(match["q"], [])
        cats = set(re.findall(r"cat:(\S+?)(?:\s|$)", match["cats"] or ""))
        low = datetime.strptime(match["a"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        high = datetime.strptime(match["b"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        hits = sorted(
            (
                self.by_key[k]
                for k in keys
                if low <= self.by_key[k].published.replace(second=0) <= high
                and (not cats or cats & set(self.by_key[k].categories))
            ),
            key=lambda w: (w.published, w.key),
        )
        text = q.get("search_query", "")
        body = atom_feed(
            hits[start : start + size], total=len(hits), start=start, size=size, query=text
        )
        return Reply(200, body, _ATOM)

    def s2(self, seen: Seen) -> Reply:
        path = seen.path.removeprefix("/graph/v1")
        fields = [f for f in seen.query.get("fields", "").split(",") if f]
        if path == "/paper/batch" and seen.method == "POST":
            ids = json.loads(seen.body)["ids"]
            if len(ids) > 500:
                self.errors.append("batch > 500")
                return _error(400, "Too many ids. Max allowed is 500")
            found = [self.find(i) for i in ids]
            return _json(
                [None if w is None else s2_record(w, fields, self.counts(w)) for w in found]
            )
        if path == "/paper/search/bulk":
            return self.search(seen, fields)
        match = re.fullmatch(r"/paper/(?P<id>.+)/(?P<kind>references|citations)", path)
        if match:
            return self.edges(match["id"], match["kind"], seen, fields)
        return _error(404, "Not found")

    def edges(self, paper_id: str, kind: str, seen: Seen, fields: list[str]) -> Reply:
        work = self.find(paper_id)
        if work is None:
            return _error(404, f"Paper with id {paper_id} not found")
        offset, limit = int(seen.query.get("offset", 0)), int(seen.query.get("limit", 100))
        if limit > 1000 or offset + limit > 10000:
            self.errors.append(seen.raw_query)
            return _error(400, "Unacceptable query params")
        limit = min(limit, self.edge_page)
        other = "citedPaper" if kind == "references" else "citingPaper"
        keys = (
            self.references.get(work.key, []) if kind == "references" else self.cited_by(work.key)
        )
        items: list[dict] = []
        for key in keys:
            end = self.by_key[key]
            citing, cited = (work, end) if kind == "references" else (end, work)
            paper_fields = [f for f in fields if f not in ("contexts", "intents", "isInfluential")]
            item: dict[str, object] = {}
            if "contexts" in fields:
                item["contexts"] = [self.context(citing, cited)]
            if "intents" in fields:
                item["intents"] = ["background"] if len(citing.title) % 2 else ["methodology"]
            if "isInfluential" in fields:
                item["isInfluential"] = len(cited.title) % 3 == 0
            if end.key in self.not_in_s2:
                item[other] = {"paperId": None, "title": end.title}
            else:
                item[other] = s2_record(end, paper_fields, self.counts(end))
            items.append(item)
        if kind == "references":
            for title in self.unnamed_references.get(work.key, []):
                items.append(
                    {
                        "contexts": [],
                        "intents": [],
                        "isInfluential": False,
                        other: {"paperId": None, "title": title},
                    }
                )
        page: dict[str, object] = {"offset": offset}
        if offset + limit < len(items):
            page["next"] = offset + limit
        page["data"] = items[offset : offset + limit]
        return _json(page)

    def search(self, seen: Seen, fields: list[str]) -> Reply:
        query = seen.query.get("query", "")
        keys = [k for k in self.s2_queries.get(query, []) if k not in self.not_in_s2]
        since = seen.query.get("publicationDateOrYear", "").split(":")[0]
        if since:
            floor = date(int(since), 1, 1) if len(since) == 4 else date.fromisoformat(since)
            keys = [k for k in keys if self.by_key[k].published.date() >= floor]
        offset = 0
        if "token" in seen.query:
            try:
                token_query, offset_text = base64.b32decode(seen.query["token"]).decode().split("|")
                offset = int(offset_text)
            except ValueError:
                return _error(400, "Invalid token")
            if token_query != query:
                return _error(400, "Invalid token")
        chunk = keys[offset : offset + self.search_page]
        page: dict[str, object] = {"total": len(keys)}
        if offset + self.search_page < len(keys):
            page["token"] = base64.b32encode(
                f"{query}|{offset + self.search_page}".encode()
            ).decode()
        page["data"] = [
            s2_record(self.by_key[k], fields, self.counts(self.by_key[k])) for k in chunk
        ]
        return _json(page)


_ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


def topic_world() -> World:
    """The default world of the harvest tests (see the test module for what it exercises).

    - arXiv: query "in-context learning" finds 8 papers, "chain-of-thought" finds 6 (two of
      them also found by the first), within cs.CL/cs.LG/cs.AI;
    - Semantic Scholar: knows every work except one arXiv paper (`MISSING`); its search
      "emergent abilities" finds 4 papers: one also on arXiv, one on arXiv but outside the
      queries (`SEARCH_EXTRA`), one known to S2 only by DOI (`S2_ONLY`), and a copy of an arXiv
      paper without its arXiv id (`TWIN`, same title: merged by title);
    - seeds: `SEED`, a paper no query finds;
    - references: each arXiv paper cites the two papers found before it; three works outside
      the corpus are cited by 3, 3 and 2 corpus papers: `JOINS` (on topic, cited by 3),
      `OFF_TOPIC` (cited by 3, no concept) and `TOO_FEW` (cited by 2).
    """
    works = snapshot_works()
    icl = [w for w in works if "in-context" in w.title.lower()][:8]
    cot = [w for w in works if "chain-of-thought" in w.title.lower() and w not in icl][:4]
    cot = icl[-2:] + cot
    corpus = sorted({w.key: w for w in icl + cot}.values(), key=lambda w: w.published)
    rest = [w for w in works if w.key not in {c.key for c in corpus}]
    joins, too_few, s2_only, search_extra, seed = rest[:5]
    s2_only = replace(
        s2_only, arxiv_id=None, key=f"doi:10.5555/{s2_only.key}", doi=f"10.5555/{s2_only.key}"
    )
    twin = Work(  # Semantic Scholar's copy of an arXiv paper without its arXiv id
        key="doi:10.5555/twin",
        title=corpus[0].title,
        abstract=None,
        authors=corpus[0].authors,
        year=corpus[0].year,
        published=corpus[0].published,
        doi="10.5555/twin",
    )
    world = World(
        works=[*corpus, joins, too_few, s2_only, search_extra, seed, twin, OFF_TOPIC],
        arxiv_queries={
            "in-context learning": [w.key for w in icl],
            "chain-of-thought": [w.key for w in cot],
        },
        s2_queries={"emergent abilities": [corpus[0].key, s2_only.key, search_extra.key, twin.key]},
    )
    for i, work in enumerate(corpus):
        world.references[work.key] = [c.key for c in corpus[max(0, i - 2) : i]]
    for work in corpus[-3:]:
        world.references[work.key] += [joins.key, OFF_TOPIC.key]
    for work in corpus[-2:]:
        world.references[work.key].append(too_few.key)
    world.unnamed_references[corpus[-1].key] = ["A reference Semantic Scholar could not resolve"]
    world.not_in_s2.add(corpus[3].key)
    world.named = {
        "JOINS": joins.key,
        "TOO_FEW": too_few.key,
        "S2_ONLY": s2_only.key,
        "SEARCH_EXTRA": search_extra.key,
        "MISSING": corpus[3].key,
        "SEED": seed.key,
        "TWIN": twin.key,
    }
    return world


def small_world() -> World:
    """A world small enough to interrupt at every request: one arXiv query of 5 papers, a
    two-page search, a seed, references two a page, and one work that snowballs in."""
    works = snapshot_works()
    corpus = [w for w in works if "in-context" in w.title.lower()][:5]
    rest = [w for w in works if w not in corpus]
    joins, s2_only, seed = rest[0], rest[2], rest[4]
    s2_only = replace(
        s2_only, arxiv_id=None, key=f"doi:10.5555/{s2_only.key}", doi=f"10.5555/{s2_only.key}"
    )
    world = World(
        works=[*corpus, joins, s2_only, seed],
        arxiv_queries={"in-context learning": [w.key for w in corpus]},
        s2_queries={"emergent abilities": [corpus[0].key, s2_only.key]},
        search_page=1,
        edge_page=2,
    )
    for i, work in enumerate(corpus):
        world.references[work.key] = [c.key for c in corpus[max(0, i - 2) : i]]
    for work in corpus[-3:]:
        world.references[work.key].append(joins.key)
    world.references[s2_only.key] = [corpus[0].key, corpus[1].key, joins.key]
    world.named = {"JOINS": joins.key, "S2_ONLY": s2_only.key, "SEED": seed.key}
    return world
