"""The one way kg talks to a web API: polite, bounded in time, retried with backoff.

`Fetcher.request` sends one logical request and returns what the caller's parser made of the
response body. Around each attempt it:

- waits for its turn on a `RateLimiter`, a file lock plus a timestamp under `KG_HOME`, so the
  spacing holds across every kg process of the machine (not just one client object);
- bounds the whole exchange by `timeout` seconds, headers *and* body (httpx's own timeouts are
  per read, so a server trickling bytes could otherwise hold us forever);
- retries what retrying can fix -- HTTP 429, 500, 502, 503, 504, timeouts, dropped or
  truncated connections, and bodies the parser calls `Malformed` -- with exponential backoff
  and jitter, honouring `Retry-After` (seconds or an HTTP date) up to `retry_after_cap`;
- never retries what it cannot: any other 4xx, or a body the parser recognises as the API's own
  error document (`ApiError`), e.g. arXiv's error feed;
- stops calling a source for the rest of the run after `give_up_after` requests in a row have
  failed all their tries, so a dead service costs a bounded number of calls.

Header values (the Semantic Scholar key) are never logged and never appear in an error; URLs
in messages carry only the query string, which holds no secret.
"""

from __future__ import annotations

import email.utils
import fcntl
import functools
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from kg import __version__
from kg.errors import SourceError, UsageError

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = f"kg/{__version__} (emergent-abilities knowledge graph; python-httpx)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Malformed(Exception):
    """Raised by a parser: the body is not the document the API sends (retried, like a 503)."""


class ApiError(Exception):
    """Raised by a parser: the body is the API's own error report (never retried)."""


class FetchError(SourceError):
    """A request that failed after its tries, or at once for a status retrying cannot fix."""

    def __init__(
        self, message: str, *, url: str, status: int | None = None, retryable: bool = True
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a response and how to retry (see `kg.config.HarvestSection`)."""

    timeout: float = 30.0
    max_tries: int = 5
    backoff: float = 2.0
    backoff_cap: float = 120.0
    retry_after_cap: float = 600.0
    give_up_after: int = 3

    def backoff_delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry `attempt` (1-based): exponential, capped, "equal jitter".

        Half the exponential step is kept and the other half drawn uniformly, so retries of
        several clients spread out but never collapse to zero.
        """
        step = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
        return step / 2 + rng.uniform(0, step / 2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for: delta-seconds or an HTTP date; None if absent/bad.

    >>> parse_retry_after("120")
    120.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_loopback(url: str) -> bool:
    """True when `url` points at this machine (a test server), where any spacing is allowed."""
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def check_base_url(url: str, variable: str) -> str:
    """A base URL from the environment, validated; a `UsageError` names the variable."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{variable}={url!r} is not an http(s) URL; unset it or fix it")
    return url.rstrip("/")


class RateLimiter:
    """At most one request every `interval` seconds among all processes that share `path`.

    The lock is held for the whole exchange (one request at a time, as arXiv asks), and the
    time the exchange *ended* is written to the file, so the next request starts at least
    `interval` seconds after the previous one finished, whichever process sent it.
    """

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Block until this process may send, then hold the turn until the block exits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                try:
                    last = float(raw) if raw else 0.0
                except ValueError:
                    last = 0.0
                # A timestamp in the future (clock step) never blocks longer than one interval.
                wait = min(self.interval, last + self.interval - time.time())
                if wait > 0:
                    time.sleep(wait)
                try:
                    yield
                finally:
                    # Fixed width, so a plain overwrite replaces the previous stamp whole.
                    os.pwrite(fd, f"{time.time():24.6f}".encode("ascii"), 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def limiter_for(home: Path, source: str, base_url: str, interval: float) -> RateLimiter:
    """The machine-wide limiter of `source` at `base_url` (one lock file per host and port)."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    name = f"{source}-{parts.hostname}-{port}.lock".replace(":", "_")
    return RateLimiter(home / "locks" / name, interval)


class _Deadline(Exception):
    pass


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verification context, built once (loading CA files takes ~70 ms)."""
    return httpx.create_ssl_context()


def display_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """The URL as messages show it (parameters encoded as sent; headers never shown)."""
    return f"{url}?{urlencode(params)}" if params else url


class Fetcher:
    """Sends requests for one source (`name`, e.g. "arXiv") through its limiter and policy."""

    def __init__(
        self,
        name: str,
        limiter: RateLimiter,
        policy: RetryPolicy,
        *,
        headers: Mapping[str, str] | None = None,
        describe_error: Callable[[bytes], str | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.limiter = limiter
        self.policy = policy
        self._headers = dict(headers or {})  # may hold a key: never log or repr these
        self._describe_error = describe_error or (lambda _body: None)
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT}, follow_redirects=True, verify=_ssl_context()
        )
        self.requests = 0  # attempts sent, retries included
        self.retries = 0
        self._failed_in_row = 0

    def __repr__(self) -> str:
        return f"Fetcher({self.name!r}, requests={self.requests})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def gave_up(self) -> bool:
        """True once `give_up_after` requests in a row failed: no more calls this run."""
        return self._failed_in_row >= self.policy.give_up_after

    def request(
        self,
        method: str,
        url: str,
        parse: Callable[[bytes], T],
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        describe_error: Callable[[bytes], str | None] | None = None,
    ) -> T:
        """Send until `parse(body)` of a 200 succeeds; raise `FetchError` when it cannot.

        `describe_error` reads the API's message out of an error response's body.
        """
        describe = describe_error or self._describe_error
        shown = display_url(url, params)
        if self.gave_up:
            raise FetchError(
                f"{self.name}: not called for the rest of this run after "
                f"{self._failed_in_row} requests in a row failed; try again later ({shown})",
                url=shown,
            )
        problem, status = "no attempt made", None
        for attempt in range(1, self.policy.max_tries + 1):
            retry_after: float | None = None
            try:
                status, headers, body = self._send(method, url, params, json)
            except (httpx.TimeoutException, _Deadline):
                problem, status = f"no complete response within {self.policy.timeout:g} s", None
            except httpx.TransportError as exc:
                problem, status = f"connection failed ({type(exc).__name__})", None
            else:
                if status == 200:
                    try:
                        result = parse(body)
                    except ApiError as exc:
                        raise FetchError(
                            f"{self.name} answered with an error: {exc}, not retried ({shown})",
                            url=shown,
                            status=status,
                            retryable=False,
                        ) from None
                    except Malformed as exc:
                        problem = f"malformed response ({exc})"
                    else:
                        self._failed_in_row = 0
                        return result
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status}"
                    retry_after = parse_retry_after(headers.get("retry-after"))
                else:
                    detail = describe(body)
                    raise FetchError(
                        f"{self.name}: HTTP {status}"
                        + (f" ({detail})" if detail else "")
                        + f", not retried ({shown})",
                        url=shown,
                        status=status,
                        retryable=False,
                    )
            if attempt == self.policy.max_tries:
                break
            if retry_after is not None and retry_after > self.policy.retry_after_cap:
                self._failed_in_row += 1
                raise FetchError(
                    f"{self.name}: {problem}, asked to retry after {retry_after:.0f} s, more "
                    f"than harvest.retry_after_cap; try again later ({shown})",
                    url=shown,
                    status=status,
                )
            delay = (
                retry_after
                if retry_after is not None
                else self.policy.backoff_delay(attempt, self._rng)
            )
            self.retries += 1
            log.info(
                "%s: %s; retry %d of %d in %.2f s (%s)",
                self.name,
                problem,
                attempt,
                self.policy.max_tries - 1,
                delay,
                shown,
            )
            time.sleep(delay)
        self._failed_in_row += 1
        raise FetchError(
            f"{self.name}: {problem} after {self.policy.max_tries} tries ({shown}); "
            "try again later",
            url=shown,
            status=status,
        )

    def _send(
        self, method: str, url: str, params: Mapping[str, str] | None, json: Any
    ) -> tuple[int, httpx.Headers, bytes]:
        with self.limiter.slot():
            self.requests += 1
            log.debug("%s: %s %s", self.name, method, display_url(url, params))
            deadline = time.monotonic() + self.policy.timeout
            with self._client.stream(
                method,
                url,
                params=params,
                json=json,
                headers=self._headers,
                timeout=self.policy.timeout,
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if time.monotonic() > deadline:
                        raise _Deadline
                    if size > MAX_BODY_BYTES:
                        raise httpx.RemoteProtocolError("response larger than 64 MiB")
                if time.monotonic() > deadline:
                    raise _Deadline
                return response.status_code, response.headers, b"".join(chunks)
