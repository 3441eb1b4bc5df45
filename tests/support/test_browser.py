"""The browser fixture (tests/support/browser.py) against a tiny site served from this test.

The site has what the real pages will have: a strict Content-Security-Policy, its script in a file
of its own, a Chinese title. Each collector is also shown to fail, so that a broken fixture cannot
pass every page it is given.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from tests.support.browser import (
    ChromiumSession,
    Locale,
    PageFactory,
    Viewport,
    chromium_descendants,
    is_chromium_process,
    is_loopback_url,
    session_processes,
)

REPO = Path(__file__).resolve().parents[2]
STRICT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'"
# Lets the outside page *ask* for those addresses, so that it is the route, not the CSP, that stops it.
OUTSIDE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src http://198.51.100.7; "
    "connect-src http://169.254.169.254 ws://198.51.100.7"
)
# Addresses that must never be reached: TEST-NET-2 (documentation only) and the cloud metadata service.
OUTSIDE_IMAGE = "http://198.51.100.7/x.png"
OUTSIDE_FETCH = "http://169.254.169.254/latest/meta-data/"
OUTSIDE_SOCKET = "ws://198.51.100.7/socket"


def _html(body: str, title: str = "收银台") -> str:
    return (
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{title}</title>\n<link rel="stylesheet" href="/app.css">\n</head>\n<body>\n{body}\n</body>\n</html>\n'
    )


HEADING = '<h1 id="title">收银台</h1>\n<p id="status">waiting</p>'
# path: (content type, body, CSP)
PAGES: dict[str, tuple[str, str, str]] = {
    "/": ("text/html", _html(f'{HEADING}\n<div class="spacer"></div>\n<script src="/app.js"></script>'), STRICT_CSP),
    "/app.js": (
        "text/javascript",
        """const status = document.getElementById("status");
status.textContent = "ready";
status.dataset.width = String(window.innerWidth);
status.dataset.language = navigator.language;
""",
        STRICT_CSP,
    ),
    "/app.css": (
        "text/css",
        "body { font-family: sans-serif; margin: 24px }\nh1 { font-size: 40px }\n.spacer { height: 1200px }\n",
        STRICT_CSP,
    ),
    "/inline": (
        "text/html",
        _html(f'{HEADING}\n<script>document.getElementById("status").textContent = "inline ran";</script>'),
        STRICT_CSP,
    ),
    "/throws": ("text/html", _html(f'{HEADING}\n<script src="/throws.js"></script>'), STRICT_CSP),
    "/throws.js": ("text/javascript", 'console.error("oops");\nthrow new Error("boom");\n', STRICT_CSP),
    "/outside": (
        "text/html",
        _html(f'{HEADING}\n<img src="{OUTSIDE_IMAGE}" alt="">\n<script src="/outside.js"></script>'),
        OUTSIDE_CSP,
    ),
    "/outside.js": (
        "text/javascript",
        f"""const status = document.getElementById("status");
fetch("{OUTSIDE_FETCH}").then(
  () => {{ status.dataset.fetch = "answered"; }},
  () => {{ status.dataset.fetch = "failed"; }},
);
const socket = new WebSocket("{OUTSIDE_SOCKET}");
socket.onopen = () => {{ status.dataset.socket = "open"; }};
socket.onclose = () => {{ status.dataset.socket = "closed"; }};
""",
        OUTSIDE_CSP,
    ),
}


@dataclass
class Site:
    """The loopback server's address, and every request it answered (path, Accept-Language)."""

    base: str
    requests: list[tuple[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """The pages above on 127.0.0.1 (a free port), stopped at the end of the module."""
    requests: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append((self.path, self.headers.get("Accept-Language", "")))
            content_type, text, csp = PAGES.get(self.path, ("text/plain", "not found", STRICT_CSP))
            body = text.encode()
            self.send_response(200 if self.path in PAGES else 404)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/checkout", True),
        ("https://localhost/", True),
        ("http://LOCALHOST:3000/", True),
        ("http://[::1]:9000/x", True),
        ("ws://127.0.0.1:9000/socket", True),
        ("data:text/plain,hi", True),
        ("about:blank", True),
        ("http://127.0.0.1@evil.test/", False),  # the host is evil.test
        ("http://localhost.evil.test/", False),
        ("http://127.0.0.2/", False),  # loopback, but no test serves there
        ("http://2130706433/", False),  # 127.0.0.1 spelled as a number: refused rather than interpreted
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://10.0.0.1/", False),
        ("http://192.168.1.1/", False),
        ("https://example.com/", False),
        ("file:///etc/passwd", False),
        ("ftp://127.0.0.1/", False),
    ],
)
def test_the_loopback_rule(url: str, allowed: bool) -> None:
    assert is_loopback_url(url) is allowed


@pytest.mark.parametrize(("viewport", "locale"), [("desktop", "zh-CN"), ("phone", "en-US")])
def test_a_strict_csp_page_runs_its_script_cleanly(
    page: PageFactory, site: Site, viewport: Viewport, locale: Locale
) -> None:
    p = page(viewport, locale)
    response = p.goto(site.url("/"))

    assert response is not None
    assert response.status == 200
    status = p.page.locator("#status")
    assert status.text_content() == "ready"
    assert status.get_attribute("data-language") == locale
    assert status.get_attribute("data-width") == ("1280" if viewport == "desktop" else "390")
    assert p.page.locator("#title").text_content() == "收银台"
    if viewport == "phone":
        assert p.page.evaluate("window.devicePixelRatio") == 2
        assert p.page.evaluate("navigator.maxTouchPoints") > 0
        assert "Mobile" in p.page.evaluate("navigator.userAgent")
    assert "Headless" not in p.page.evaluate("navigator.userAgent")
    assert ("/app.js", locale) in site.requests  # the header follows the locale
    p.assert_clean()


def test_an_inline_script_is_reported_as_a_csp_violation(page: PageFactory, site: Site) -> None:
    p = page()
    p.goto(site.url("/inline"))

    assert p.page.locator("#status").text_content() == "waiting"  # the script did not run
    events = [v for v in p.csp_violations if v.source == "event"]
    assert [(v.directive, v.blocked) for v in events] == [("script-src-elem", "inline")]
    assert any(v.source == "console" for v in p.csp_violations)
    with pytest.raises(AssertionError, match="CSP"):
        p.assert_clean()


def test_uncaught_errors_and_console_errors_are_collected(page: PageFactory, site: Site) -> None:
    p = page("phone")
    p.goto(site.url("/throws"))

    assert p.page_errors == ["Error: boom"]
    assert [e.split(" (")[0] for e in p.console_errors] == ["oops"]
    assert not p.csp_violations
    with pytest.raises(AssertionError, match="page error: Error: boom"):
        p.assert_clean()


def test_requests_beyond_loopback_are_aborted_and_recorded(page: PageFactory, site: Site) -> None:
    p = page()
    failures: dict[str, str | None] = {}
    p.page.on("requestfailed", lambda request: failures.update({request.url: request.failure}))
    p.goto(site.url("/outside"))
    status = p.page.locator("#status")
    p.page.wait_for_function("() => document.getElementById('status').dataset.socket === 'closed'")
    p.page.wait_for_function("() => document.getElementById('status').dataset.fetch === 'failed'")

    assert sorted(p.blocked_requests) == sorted([OUTSIDE_IMAGE, OUTSIDE_FETCH, OUTSIDE_SOCKET])
    assert sorted(failures) == sorted([OUTSIDE_IMAGE, OUTSIDE_FETCH])
    assert all((failure or "").startswith("net::ERR_BLOCKED_BY_CLIENT") for failure in failures.values()), failures
    assert status.get_attribute("data-socket") == "closed"
    assert not p.csp_violations  # the CSP allowed them: the route stopped them
    with pytest.raises(AssertionError, match="blocked"):
        p.assert_clean()

    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        p.page.goto("http://10.0.0.1/")
    assert p.blocked_requests[-1] == "http://10.0.0.1/"


def test_chinese_text_is_drawn_with_a_cjk_font(page: PageFactory, site: Site) -> None:
    p = page()
    p.goto(site.url("/"))

    fonts = p.fonts_used("#title")

    assert fonts, "Chromium reports no font for the heading"
    cjk = [f for f in fonts if "CJK" in f.family]
    assert cjk, f"收银台 is not drawn with a CJK font but with {fonts} (apt-get install fonts-noto-cjk)"
    assert sum(f.glyphs for f in cjk) == len("收银台")


@pytest.mark.parametrize(("viewport", "width"), [("desktop", 1280), ("phone", 390 * 2)])
def test_a_screenshot_is_a_full_page_png(
    page: PageFactory, site: Site, screenshot_dir: Path, viewport: Viewport, width: int
) -> None:
    p = page(viewport)
    p.goto(site.url("/"))

    path = p.screenshot(screenshot_dir, f"browser-fixture-{viewport}")

    data = path.read_bytes()
    assert path == screenshot_dir / f"browser-fixture-{viewport}.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    png_width, png_height = struct.unpack(">II", data[16:24])
    assert png_width == width
    viewport_height = 800 if viewport == "desktop" else 844 * 2
    assert png_height > viewport_height  # the whole page (its spacer is 1200 px), not the viewport


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return 0
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def test_chromium_runs_headless_without_its_sandbox_only_as_root(browser: Browser) -> None:
    processes = chromium_descendants(os.getpid())
    # The browser process tops the tree (its parent is Playwright's driver); the others are its children.
    main = [pid for pid in processes if _parent(pid) not in processes]

    assert len(main) == 1, f"one browser process expected among {processes}"
    args = Path(f"/proc/{main[0]}/cmdline").read_text().split("\0")
    assert "--headless" in args
    assert ("--no-sandbox" in args) is (os.geteuid() == 0)


def test_asyncio_runs_beside_the_session_browser(chromium_session: ChromiumSession) -> None:
    """Playwright's sync API marks its loop as running; a parked session must not break asyncio.run."""

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert chromium_session.browser.is_connected()  # the session is up, parked
    assert asyncio.run(answer()) == 42


INNER_TEST = """
import json, os
from pathlib import Path

from tests.support.browser import chromium_descendants


def test_inner(page, chromium_session):
    p = page("phone")
    p.page.set_content("<p>收银台</p>")
    pids = sorted(chromium_descendants(os.getpid()))
    Path(os.environ["PAYGATE_INNER_OUT"]).write_text(json.dumps({"marker": chromium_session.marker, "pids": pids}))
    assert pids
"""


def test_a_session_leaves_no_chromium_behind(tmp_path: Path) -> None:
    """A whole pytest session with the fixture, in a child process; then none of its Chromium processes live on.

    Chromium's crash handler leaves the process tree at start, so it is found by the marker in its
    environment, and it exits about a second after the browser: the check waits that long.
    """
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(INNER_TEST)
    out = tmp_path / "out.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.browser"]
    command += ["-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), str(test_file)]
    env = {**os.environ, "PAYGATE_INNER_OUT": str(out)}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert run.returncode == 0, run.stdout + run.stderr

    seen = json.loads(out.read_text())
    assert seen["pids"], "the inner test saw no Chromium process"
    deadline = time.monotonic() + 10
    while True:
        left = {pid for pid in seen["pids"] if is_chromium_process(pid)} | session_processes(seen["marker"])
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, f"Chromium processes left after the session: {sorted(left)}"
