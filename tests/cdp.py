"""A small driver for headless Chromium over the DevTools protocol (no browser download).

Chromium is started with `--remote-debugging-pipe`: it reads protocol messages on fd 3 and
writes them on fd 4, each a JSON object followed by a NUL byte. No port, no websocket library,
nothing another process could connect to. Every request the page makes is recorded from
`Network.requestWillBeSent`; exceptions, console errors and CSP reports are recorded too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """Debian's `chromium` on PATH (or /usr/bin/chromium), else None."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


def require_chromium() -> str:
    """Chromium's path for browser tests: skip when it is absent, but fail when `CI` is set
    (CI installs it; a browser test that silently skipped there would prove nothing)."""
    import pytest

    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed but CI is set: the browser tests must run")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


class Chromium:
    """One headless Chromium process; `page()` opens a tab. Use as a context manager."""

    def __init__(self, binary: str, width: int = 1400, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="kg-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        # posix_spawn puts the pipe ends on fds 3 and 4 in the child (dup2 file actions):
        # no preexec_fn, so it is safe while the reader threads of other browsers run.
        null = os.devnull
        self.pid = os.posix_spawn(
            binary,
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, to_browser_r, 3),
                (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
            ],
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._replies.get(message["id"])
                    if box is not None:
                        box.put(message)
                else:
                    self.events.append(message)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[message_id] = box
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply within {timeout} s") from None
        finally:
            with self._lock:
                self._replies.pop(message_id, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session, target)
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        return page

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        deadline = time.monotonic() + 10
        while True:
            done, _status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)  # our own browser process, by its id
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab: navigate, evaluate JavaScript, read what it requested and what went wrong."""

    def __init__(self, browser: Chromium, session: str, target: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target
        self._start = len(browser.events)

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in self.browser.events[self._start :]
            if e.get("sessionId") == self.session and e.get("method") == method
        ]

    def navigate(self, url: str | Path, timeout: float = 60.0) -> None:
        target = url.resolve().as_uri() if isinstance(url, Path) else url
        self._start = len(self.browser.events)
        self.browser.send("Page.navigate", {"url": target}, self.session)
        self.wait_for("document.readyState === 'complete'", timeout)

    def eval(self, expression: str, timeout: float = 60.0) -> Any:
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]!r} raised {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, poll: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(
                    f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
                )
            except BrowserError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout} s waiting for {expression}")
            time.sleep(poll)

    @property
    def requests(self) -> list[str]:
        """Every URL the page asked for (documents, scripts, images, fetches, ...)."""
        return [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    @property
    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and browser log errors (CSP reports among them)."""
        found = [
            e["exceptionDetails"].get("exception", {}).get("description")
            or e["exceptionDetails"].get("text", "")
            for e in self._events("Runtime.exceptionThrown")
        ]
        found += [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e.get("args", []))
            for e in self._events("Runtime.consoleAPICalled")
            if e.get("type") in ("error", "assert")
        ]
        found += [
            e["entry"].get("text", "")
            for e in self._events("Log.entryAdded")
            if e["entry"].get("level") == "error"
        ]
        return found

    def mouse(self, kind: str, x: float, y: float) -> None:
        """A mouse event at (x, y): mouseMoved, mousePressed or mouseReleased (left button)."""
        moved = kind == "mouseMoved"
        self.browser.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": x,
                "y": y,
                "button": "none" if moved else "left",
                "buttons": 1 if kind == "mousePressed" else 0,
                "clickCount": 0 if moved else 1,
            },
            self.session,
        )

    def click(self, x: float, y: float) -> None:
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def screenshot(self, path: Path) -> Path:
        data = self.browser.send("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
