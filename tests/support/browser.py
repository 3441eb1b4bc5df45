"""Headless Chromium for the web pages' tests (the hosted checkout page, the operator console).

A pytest plugin (registered in tests/conftest.py). It drives Debian's ``chromium`` through Playwright
with ``executable_path``: no browser download works on the project's machines, and the Debian build
(with ``fonts-noto-cjk``) is what renders the Chinese pages. ``scripts/bootstrap.sh`` installs both
when ``WITH_BROWSER=1`` (``make test`` sets it). docs/testing-in-a-browser.md tells how to use it.

Fixtures:

- ``browser``: the worker's one Chromium (session-scoped, so each xdist worker launches one);
- ``page``: a factory, ``page(viewport="phone", locale="en-US")``, of :class:`BrowserPage`, each in a
  fresh browser context that is closed at the end of the test;
- ``screenshot_dir``: where screenshots go (``.local/screenshots`` or ``$PAYGATE_SCREENSHOTS``).

Every page may reach loopback addresses only, and records what it tried beyond them, its console
errors, its uncaught exceptions and its Content-Security-Policy violations, so that a test can say
"nothing blocked, no JS error, no CSP violation" with :meth:`BrowserPage.assert_clean`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Error,
        Page,
        Playwright,
        Response,
        Route,
        WebSocketRoute,
    )

Viewport = Literal["desktop", "phone"]
Locale = Literal["zh-CN", "en-US"]

#: Both sizes every page should be looked at in (``@pytest.mark.parametrize("viewport", VIEWPORTS)``).
VIEWPORTS: tuple[Viewport, ...] = ("desktop", "phone")
#: The languages the pages speak: Chinese first, English second.
LOCALES: tuple[Locale, ...] = ("zh-CN", "en-US")

DESKTOP_SIZE = {"width": 1280, "height": 800}
PHONE_SIZE = {"width": 390, "height": 844}  # an iPhone 12-15 sized screen, CSS pixels
PHONE_SCALE = 2

#: Hosts a page may reach: the tests' own servers on this machine, nothing else.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Schemes that never touch the network (Chromium does not route them, but a test may ask).
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})

#: Milliseconds a Playwright action or wait may take before it fails: a page served from this machine
#: answers in milliseconds, so a long default only delays the report of a broken page.
DEFAULT_TIMEOUT_MS = 10_000

# The name under which the init script reports a `securitypolicyviolation` event to Python.
_CSP_BINDING = "__paygateCspViolation"
# Runs in every frame before the page's own scripts. Playwright injects it through the DevTools
# protocol, so the page's CSP (no inline script) does not apply to it. The binding is looked up
# when an event fires, not captured here: Playwright installs it by an init script of its own.
_CSP_LISTENER = """
addEventListener("securitypolicyviolation", (event) => {
  const report = globalThis.BINDING;
  if (typeof report !== "function") return;
  report({
    directive: event.effectiveDirective || event.violatedDirective || "",
    blocked: event.blockedURI || "",
    disposition: event.disposition || "",
    source: event.sourceFile ? event.sourceFile + ":" + event.lineNumber : "",
    sample: event.sample || "",
  });
}, true);
""".replace("BINDING", _CSP_BINDING)

# Chromium's console line for a violation, e.g. "Executing inline script violates the following
# Content Security Policy directive 'script-src 'self''" or "Refused to load the image ...".
_CSP_CONSOLE = re.compile(r"Content[ -]Security[ -]Policy", re.IGNORECASE)


def is_loopback_url(url: str) -> bool:
    """True when loading ``url`` cannot leave this machine: a loopback host, or no network at all.

    The host is compared exactly (``http://127.0.0.1@evil.test/`` is evil.test, ``localhost.evil.test``
    is not localhost), so that no page can reach the internet, a cloud metadata address or a private
    network, whatever it links to.
    """
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return False
    try:
        host = parts.hostname or ""
    except ValueError:
        return False
    return host.lower() in LOOPBACK_HOSTS


def chromium_executable() -> str:
    """Debian's chromium (or ``$PAYGATE_CHROMIUM``); Playwright's own browser builds cannot be downloaded here."""
    path = os.environ.get("PAYGATE_CHROMIUM") or shutil.which("chromium")
    if not path and os.access("/usr/bin/chromium", os.X_OK):
        path = "/usr/bin/chromium"
    if not path:
        pytest.fail(
            "no chromium: run `WITH_BROWSER=1 bash scripts/bootstrap.sh` (apt-get install chromium fonts-noto-cjk)"
            " or set PAYGATE_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class CspViolation:
    """One Content-Security-Policy violation, seen as an event in the page or as Chromium's console line."""

    source: Literal["event", "console"]
    directive: str = ""
    blocked: str = ""  # "inline", "eval" or the URL that was refused
    text: str = ""  # the console line, or where in the page it happened

    def __str__(self) -> str:
        if self.source == "console":
            return f"CSP (console): {self.text}"
        return f"CSP: {self.directive} refused {self.blocked or '?'} {self.text}".rstrip()


@dataclass(frozen=True)
class PlatformFont:
    """A font Chromium actually used to draw a node's text, with the number of glyphs taken from it."""

    family: str
    postscript_name: str
    glyphs: int


@dataclass
class BrowserPage:
    """A page in its own browser context, with everything that went wrong on it.

    ``page`` and ``context`` are Playwright's objects, for anything this class does not wrap.
    """

    page: Page
    context: BrowserContext
    viewport: Viewport
    locale: Locale
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[CspViolation] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def goto(self, url: str) -> Response | None:
        """Opens ``url``, waits for its load event, then lets late reports arrive (see :meth:`settle`)."""
        response = self.page.goto(url, wait_until="load")
        self.settle()
        return response

    def settle(self) -> None:
        """Waits two animation frames and a task in the page, then for Playwright to deliver its events.

        A violation event is queued as a task and its report crosses two processes before it reaches
        Python; without this, an assertion right after an action could run before the report lands.
        """
        self.page.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done))))"
        )
        self.page.evaluate("() => 0")

    def problems(self) -> list[str]:
        """Everything that should not happen on a healthy page, one line each."""
        return [
            *(f"blocked (not loopback): {url}" for url in self.blocked_requests),
            *(f"page error: {error}" for error in self.page_errors),
            *(f"console error: {text}" for text in self.console_errors),
            *(str(violation) for violation in self.csp_violations),
        ]

    def assert_clean(self) -> None:
        """Fails when the page reached beyond loopback, threw, logged an error or broke its CSP."""
        self.settle()
        problems = self.problems()
        assert not problems, f"{self.viewport}/{self.locale} page {self.page.url}:\n  " + "\n  ".join(problems)

    def screenshot(self, directory: Path, name: str) -> Path:
        """Writes ``<directory>/<name>.png``, the full page (not only the viewport), and returns its path.

        Animations are stopped and the caret hidden, so that two runs of the same page give the same
        picture; the docs embed these files.
        """
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('-')}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path

    def fonts_used(self, selector: str) -> list[PlatformFont]:
        """The fonts Chromium drew the text of the first element matching ``selector`` with.

        Asked of the renderer over the DevTools protocol (CSS.getPlatformFontsForNode): a font
        stack in CSS or ``document.fonts.check`` only says what was asked for, not what the
        glyphs came from, and a missing CJK font shows as boxes that still have a width.
        """
        cdp = self.context.new_cdp_session(self.page)
        try:
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
            assert node, f"no element matches {selector!r}"
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        finally:
            cdp.detach()
        return [PlatformFont(f["familyName"], f.get("postScriptName", ""), int(f["glyphCount"])) for f in fonts]

    def close(self) -> None:
        """Closes the context (and so its pages): nothing of one test's cookies or storage reaches the next."""
        self.context.close()

    # Event handlers, wired by open_page.

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        text = f"{message.text} ({where})" if where else message.text
        self.console_errors.append(text)
        if _CSP_CONSOLE.search(message.text):
            self.csp_violations.append(CspViolation("console", text=message.text))

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def _on_crash(self, _: Page) -> None:
        self.page_errors.append("the page's renderer crashed")

    def _on_csp_report(self, _source: dict[str, Any], report: dict[str, str]) -> None:
        self.csp_violations.append(
            CspViolation(
                "event",
                directive=str(report.get("directive", "")),
                blocked=str(report.get("blocked", "")),
                text=" ".join(str(report.get(k, "")) for k in ("disposition", "source", "sample")).strip(),
            )
        )

    def _guard(self, route: Route) -> None:
        """Lets loopback requests through; aborts and records any other (it is never sent)."""
        url = route.request.url
        if is_loopback_url(url):
            route.continue_()
        else:
            self.blocked_requests.append(url)
            route.abort("blockedbyclient")

    def _guard_websocket(self, ws: WebSocketRoute) -> None:
        if is_loopback_url(ws.url):
            ws.connect_to_server()
        else:
            self.blocked_requests.append(ws.url)
            ws.close(code=1008, reason="paygate tests: loopback only")


class PageFactory(Protocol):
    """The ``page`` fixture: opens a page in a fresh context, at a size and in a language."""

    def __call__(
        self, viewport: Viewport = "desktop", locale: Locale = "zh-CN", user_agent: str | None = None
    ) -> BrowserPage: ...


def user_agent_for(viewport: Viewport, chrome_version: str) -> str:
    """A plain desktop or Android Chrome user agent (not "HeadlessChrome"), for servers that pick a layout by it."""
    major = chrome_version.split(".")[0]
    if viewport == "phone":
        return (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Mobile Safari/537.36"
        )
    return f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"


def open_page(
    browser: Browser, viewport: Viewport = "desktop", locale: Locale = "zh-CN", user_agent: str | None = None
) -> BrowserPage:
    """A new context and page with the loopback guard and the collectors in place before anything loads."""
    size = DESKTOP_SIZE if viewport == "desktop" else PHONE_SIZE
    context = browser.new_context(
        viewport=cast(Any, size),
        screen=cast(Any, size),
        device_scale_factor=PHONE_SCALE if viewport == "phone" else 1,
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
        user_agent=user_agent or user_agent_for(viewport, browser.version),
        locale=locale,  # also Accept-Language
        service_workers="block",  # a worker's fetches would otherwise bypass the route below
        color_scheme="light",
        reduced_motion="reduce",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    result = BrowserPage(page=page, context=context, viewport=viewport, locale=locale)
    context.route("**/*", result._guard)
    context.route_web_socket(re.compile(r".*"), result._guard_websocket)
    context.expose_binding(_CSP_BINDING, result._on_csp_report)
    context.add_init_script(_CSP_LISTENER)
    page.on("console", result._on_console)
    page.on("pageerror", result._on_page_error)
    page.on("crash", result._on_crash)
    return result


class ChromiumSession:
    """One Playwright driver and one Chromium for a test process: each xdist worker has its own.

    Playwright's sync API leaves its event loop marked as the thread's running loop between calls,
    and ``asyncio.run`` refuses to start under a running loop. A browser kept for the whole session
    would so break every later asyncio test of the worker; :meth:`park` unmarks the loop while no
    browser test runs, :meth:`unpark` marks it again before one does (the ``browser`` fixture).
    """

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright  # imported here: only browser tests pay for it

        self.marker = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # A port bound but never listening refuses every connection. Chromium sends anything that is
        # not loopback to it as its proxy, so a connection the route cannot see (a <link rel=preconnect>,
        # WebRTC) fails too, instead of leaving the machine.
        self._dead_proxy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead_proxy.bind(("127.0.0.1", 0))
        proxy_port = self._dead_proxy.getsockname()[1]
        self.playwright: Playwright = sync_playwright().start()
        self._loop = asyncio.events._get_running_loop()
        try:
            self.browser: Browser = self.playwright.chromium.launch(
                executable_path=chromium_executable(),
                headless=True,
                # Chromium's sandbox needs a user namespace, which root in a container lacks; as any
                # other user it stays on (Playwright adds --no-sandbox when this is False).
                chromium_sandbox=os.geteuid() != 0,
                proxy={
                    "server": f"http://127.0.0.1:{proxy_port}",
                    # <-loopback>: no implicit bypass (it covers all of 127/8 and link-local 169.254/16)
                    "bypass": "<-loopback>,127.0.0.1,localhost,[::1]",
                },
                args=[
                    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MiB
                    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                ],
                # Every Chromium process, also the crash handler that detaches from the tree, carries
                # the marker: the tests find them by it (session_processes).
                env={**os.environ, "PAYGATE_BROWSER_SESSION": self.marker},
            )
        except BaseException:
            self.playwright.stop()
            raise

    def park(self) -> None:
        """Unmarks Playwright's loop as running, so that other tests of this worker may use asyncio."""
        if asyncio.events._get_running_loop() is self._loop:
            asyncio.events._set_running_loop(None)

    def unpark(self) -> None:
        """Marks Playwright's loop as running again, as its sync API expects when it resumes the loop."""
        running = asyncio.events._get_running_loop()
        if running is None:
            asyncio.events._set_running_loop(self._loop)
        elif running is not self._loop:
            raise RuntimeError("a browser test cannot run inside another asyncio event loop")

    def close(self) -> None:
        """Closes Chromium, then stops the driver; Playwright removes the temporary profile."""
        self.unpark()
        try:
            self.browser.close()
        finally:
            self.playwright.stop()
            self.park()
            self._dead_proxy.close()


def session_processes(marker: str) -> set[int]:
    """Live (not zombie) processes that carry a session's marker, read from /proc."""
    needle = f"PAYGATE_BROWSER_SESSION={marker}".encode()
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and not _is_zombie(int(entry.name)):
                found.add(int(entry.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def chromium_descendants(pid: int) -> set[int]:
    """Live Chromium processes below ``pid`` (its Playwright driver's children and theirs), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                children.setdefault(stat[1], []).append(int(entry.name))
    found: set[int] = set()
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        todo.extend(children.get(child, []))
        if is_chromium_process(child):
            found.add(child)
    return found


def is_chromium_process(pid: int) -> bool:
    """True for a live process of Chromium (browser, zygote, renderer, utility, crash handler)."""
    stat = _stat(pid)
    if stat is None or stat[0] == "Z":
        return False
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return "chrom" in Path(exe).name or "chrom" in comm


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name, in parentheses, may hold spaces
    return fields[0], int(fields[1])


def _is_zombie(pid: int) -> bool:
    stat = _stat(pid)
    return stat is None or stat[0] == "Z"


# Fixtures


@pytest.fixture(scope="session")
def chromium_session() -> Iterator[ChromiumSession]:
    """The worker's Chromium, launched at the first browser test and closed at the end of the session."""
    session = ChromiumSession()
    session.park()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def browser(chromium_session: ChromiumSession) -> Iterator[Browser]:
    """The worker's Chromium, for the length of one test (see ChromiumSession for why not longer)."""
    chromium_session.unpark()
    try:
        yield chromium_session.browser
    finally:
        chromium_session.park()


@pytest.fixture
def page(browser: Browser) -> Iterator[PageFactory]:
    """Opens pages (``page()``, ``page("phone", "en-US")``); closes them all at the end of the test."""
    opened: list[BrowserPage] = []

    def factory(viewport: Viewport = "desktop", locale: Locale = "zh-CN", user_agent: str | None = None) -> BrowserPage:
        result = open_page(browser, viewport, locale, user_agent)
        opened.append(result)
        return result

    yield factory
    for result in opened:
        result.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``$PAYGATE_SCREENSHOTS`` or ``.local/screenshots`` in the repository (ignored by git)."""
    configured = os.environ.get("PAYGATE_SCREENSHOTS")
    directory = Path(configured) if configured else Path(__file__).resolve().parents[2] / ".local" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


__all__ = [
    "LOCALES",
    "VIEWPORTS",
    "BrowserPage",
    "ChromiumSession",
    "CspViolation",
    "Locale",
    "PageFactory",
    "PlatformFont",
    "Viewport",
    "browser",
    "chromium_descendants",
    "chromium_session",
    "is_loopback_url",
    "page",
    "screenshot_dir",
    "session_processes",
]
