"""The shared fetcher against a real loopback server: spacing, retries, timeouts, faults."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kg.errors import UsageError
from kg.sources.http import (
    Fetcher,
    FetchError,
    Malformed,
    RateLimiter,
    RetryPolicy,
    check_base_url,
    limiter_for,
    parse_retry_after,
)
from tests.conftest import REPO
from tests.loopback import Loopback, Reply, Seen

FAST = RetryPolicy(timeout=2.0, max_tries=3, backoff=0.01, backoff_cap=0.05, give_up_after=3)


def ok(seen: Seen) -> Reply:
    return Reply(200, json.dumps({"path": seen.path, "n": seen.index}))


def parse_json(body: bytes) -> dict:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Malformed(str(exc)) from None


@pytest.fixture
def server():
    with Loopback(ok) as running:
        yield running


def fetcher(tmp_path: Path, policy: RetryPolicy = FAST, interval: float = 0.0) -> Fetcher:
    return Fetcher("Test", RateLimiter(tmp_path / "test.lock", interval), policy)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff=1.0, backoff_cap=8.0)
    rng = random.Random(1)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = {policy.backoff_delay(attempt, rng) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 40  # jittered, not a flat delay


def test_a_503_is_retried_then_the_data_comes_back(server: Loopback, tmp_path: Path) -> None:
    server.inject(Reply(503, "busy"), times=2)
    with fetcher(tmp_path) as f:
        data = f.request("GET", server.url + "/x", parse_json)
    assert data["n"] == 2 and f.requests == 3 and f.retries == 2


def test_retry_after_is_honoured(server: Loopback, tmp_path: Path) -> None:
    server.inject(Reply(429, "slow down", {"Retry-After": "1"}))
    with fetcher(tmp_path) as f:
        f.request("GET", server.url + "/x", parse_json)
    first, second = server.requests
    assert second.at - first.at >= 1.0


def test_retry_after_beyond_the_cap_gives_up_at_once(server: Loopback, tmp_path: Path) -> None:
    server.inject(Reply(503, "", {"Retry-After": "3600"}), times=5)
    with fetcher(tmp_path) as f, pytest.raises(FetchError, match="retry after 3600 s"):
        f.request("GET", server.url + "/x", parse_json)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_never_retried(server: Loopback, tmp_path: Path, status: int) -> None:
    server.inject(Reply(status, json.dumps({"error": "Unrecognized fields: [x]"})), times=5)
    f = Fetcher(
        "Test",
        RateLimiter(tmp_path / "l", 0),
        FAST,
        describe_error=lambda body: json.loads(body)["error"],
    )
    with f, pytest.raises(FetchError) as caught:
        f.request("GET", server.url + "/x", parse_json, params={"fields": "x"})
    assert len(server.requests) == 1
    assert caught.value.status == status and not caught.value.retryable
    assert "Unrecognized fields: [x]" in str(caught.value)
    assert f"{server.url}/x?fields=x" in str(caught.value)


def test_a_slow_response_times_out_and_is_retried(server: Loopback, tmp_path: Path) -> None:
    server.inject(Reply(200, "{}", delay=1.5))
    policy = RetryPolicy(timeout=0.3, max_tries=2, backoff=0.01)
    started = time.monotonic()
    with fetcher(tmp_path, policy) as f:
        assert f.request("GET", server.url + "/x", parse_json)["n"] == 1
    assert time.monotonic() - started < 1.45  # did not wait out the 1.5 s response


def test_a_trickled_body_is_cut_at_the_deadline(server: Loopback, tmp_path: Path) -> None:
    server.inject(Reply(200, "x" * 4096, trickle=0.05), times=2)
    policy = RetryPolicy(timeout=0.4, max_tries=2, backoff=0.01)
    started = time.monotonic()
    with fetcher(tmp_path, policy) as f, pytest.raises(FetchError, match=r"within 0\.4 s"):
        f.request("GET", server.url + "/x", parse_json)
    assert time.monotonic() - started < 2.0 and len(server.requests) == 2


@pytest.mark.parametrize(
    "fault",
    [
        Reply(200, '{"path": "/x", "n": 99}', truncate=10),  # Content-Length promised more
        Reply(200, '{"path": "/x", "n"', close_delimited=True),  # malformed JSON
        Reply(200, drop=True),  # connection closed without a response
        Reply(502, "<html>Bad Gateway</html>"),
        Reply(500, "oops"),
        Reply(504, "gateway timeout"),
    ],
    ids=["truncated", "malformed", "dropped", "502", "500", "504"],
)
def test_transient_faults_are_retried(server: Loopback, tmp_path: Path, fault: Reply) -> None:
    server.inject(fault)
    with fetcher(tmp_path) as f:
        assert f.request("GET", server.url + "/x", parse_json)["n"] == 1
    assert len(server.requests) == 2


def test_a_dead_service_is_left_alone_after_a_few_failures(
    server: Loopback, tmp_path: Path
) -> None:
    server.inject(Reply(503), times=100)
    policy = RetryPolicy(timeout=1, max_tries=2, backoff=0.01, give_up_after=2)
    with fetcher(tmp_path, policy) as f:
        for _ in range(2):
            with pytest.raises(FetchError, match="HTTP 503 after 2 tries"):
                f.request("GET", server.url + "/x", parse_json)
        with pytest.raises(FetchError, match="not called for the rest of this run"):
            f.request("GET", server.url + "/x", parse_json)
    assert len(server.requests) == 4


def test_connection_refused_is_a_source_error(tmp_path: Path) -> None:
    with Loopback(ok) as gone:
        url = gone.url
    with fetcher(tmp_path) as f, pytest.raises(FetchError, match="connection failed"):
        f.request("GET", url + "/x", parse_json)


def test_base_urls_are_checked() -> None:
    assert check_base_url("http://127.0.0.1:8000/api/query/", "KG_ARXIV_URL").endswith("query")
    with pytest.raises(UsageError, match="KG_S2_URL='ftp://x' is not an http"):
        check_base_url("ftp://x", "KG_S2_URL")


def test_lock_files_are_per_source_and_host(tmp_path: Path) -> None:
    a = limiter_for(tmp_path, "arxiv", "https://export.arxiv.org/api/query", 3.0)
    b = limiter_for(tmp_path, "arxiv", "http://127.0.0.1:8000/api/query", 0.0)
    assert a.path == tmp_path / "locks" / "arxiv-export.arxiv.org-443.lock"
    assert a.path != b.path and a.interval == 3.0


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kg.sources.http import Fetcher, RateLimiter, RetryPolicy
    url, lock, interval, n = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    with Fetcher("Test", RateLimiter(lock, interval), RetryPolicy()) as f:
        for _ in range(n):
            f.request("GET", url, lambda body: body)
    """
)


def test_spacing_holds_across_two_processes(server: Loopback, tmp_path: Path) -> None:
    """Two processes sharing one lock file never send closer than the interval."""
    interval, per_process = 0.2, 4
    lock = tmp_path / "locks" / "shared.lock"
    args = [server.url + "/x", str(lock), str(interval), str(per_process)]
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, *args], cwd=REPO) for _ in range(2)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    times = sorted(seen.at for seen in server.requests)
    assert len(times) == 2 * per_process
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= interval - 0.01, gaps


def test_spacing_within_one_process(server: Loopback, tmp_path: Path) -> None:
    with fetcher(tmp_path, interval=0.15) as f:
        for _ in range(3):
            f.request("GET", server.url + "/x", parse_json)
    times = [seen.at for seen in server.requests]
    assert all(b - a >= 0.14 for a, b in itertools.pairwise(times))
