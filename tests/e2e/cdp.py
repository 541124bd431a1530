"""A headless Chromium driven over the Chrome DevTools Protocol, for browser tests.

Debian's `chromium` (or `chromium-headless-shell`), started with a debugging port of
its own choosing; the test talks to one page over aiohttp's websocket client: navigate,
evaluate JavaScript, click through the page's own DOM, wait for a condition by polling
it against a deadline, take a screenshot. No Selenium, no Playwright, no downloads.
JavaScript errors and console errors of the page are collected in `page_errors`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["Chromium", "CdpError", "find_chromium"]

_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


class CdpError(AssertionError):
    pass


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


class Chromium:
    """One browser process and one page. Use `async with Chromium(profile_dir) as browser`."""

    def __init__(self, profile_dir: Path, executable: str | None = None, width: int = 1280, height: int = 1000):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise CdpError("no chromium on PATH (Debian: apt-get install chromium)")
        self.profile_dir, self.width, self.height = Path(profile_dir), width, height
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_lines: list[str] = []
        self.page_errors: list[str] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> "Chromium":
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            self.executable, "--headless", "--remote-debugging-port=0", f"--user-data-dir={self.profile_dir}",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--mute-audio", f"--window-size={self.width},{self.height}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            browser_ws = await asyncio.wait_for(self._devtools_url(), 30)
            self._tasks.append(asyncio.ensure_future(self._drain_stderr()))
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
            base = "http://" + browser_ws.split("://", 1)[1].split("/", 1)[0]
            async with self._http.get(f"{base}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t.get("type") == "page")
            self._ws = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024)
            self._tasks.append(asyncio.ensure_future(self._read()))
            await self.send("Runtime.enable")
            await self.send("Page.enable")
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def _devtools_url(self) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise CdpError("chromium exited before it listened:\n" + "\n".join(self.stderr_lines[-30:]))
            self.stderr_lines.append(line.decode(errors="replace").rstrip())
            found = _LISTENING.search(line)
            if found:
                return found.group(1).decode()

    async def _drain_stderr(self) -> None:
        # Keep reading, or a chatty browser blocks on a full pipe.
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr_lines = [*self.stderr_lines[-200:], line.decode(errors="replace").rstrip()]

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                details = data["params"]["exceptionDetails"]
                self.page_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif data.get("method") == "Runtime.consoleAPICalled" and data["params"].get("type") == "error":
                self.page_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                 for a in data["params"].get("args", [])))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CdpError("the DevTools connection closed"))

    # --- the protocol --------------------------------------------------------------------

    async def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        if self._ws is None:
            raise CdpError("not connected")
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"{expression[:80]!r} threw: {details.get('exception', {}).get('description') or details}")
        return result.get("result", {}).get("value")

    async def navigate(self, url: str, timeout: float = 30) -> None:
        answer = await self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise CdpError(f"navigating to {url}: {answer['errorText']}")
        await self.wait_for("document.readyState === 'complete'", timeout=timeout, what="the page to load")

    async def wait_for(self, expression: str, *, timeout: float = 30, what: str = "", poll_s: float = 0.1) -> Any:
        """Poll `expression` until it is truthy (its value is returned; an element counts as
        true) or the deadline passes."""
        deadline = time.monotonic() + timeout
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"
        value: Any = None
        while time.monotonic() < deadline:
            value = await self.evaluate(probe)
            if value:
                return value
            await asyncio.sleep(poll_s)
        text = await self.evaluate("document.body ? document.body.innerText.slice(0, 3000) : ''")
        raise CdpError(f"timed out after {timeout}s waiting for {what or expression}; page errors: "
                       f"{self.page_errors[-5:]}; the page said:\n{text}")

    async def click(self, selector: str) -> None:
        """Click the first element matching `selector`, as the page's own handlers see a click."""
        found = await self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " if (!el) return false; el.scrollIntoView({block: 'center'}); el.click(); return true; })()")
        if not found:
            raise CdpError(f"nothing matches {selector!r} to click")

    async def screenshot(self, path: Path, max_height: int = 6000) -> Path:
        """A PNG of the whole page (up to `max_height` CSS pixels tall)."""
        metrics = await self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": max(self.width, int(size["width"])),
                "height": min(max_height, max(self.height, int(size["height"]))), "scale": 1}
        shot = await self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
