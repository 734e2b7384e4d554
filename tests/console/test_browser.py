"""The whole console once in a real browser: Debian's Chromium, headless, over HTTP.

An operator signs in, opens Failed supplier notices, clicks Retry on a row and sees its
status change: first to what the command did, then, once the engine's outbox reached
the collector's store, to the step's new state. Then a click on a heatmap cell drills in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import PASSWORD
from tests.console.world import EngineWorld
from threadline.db import create_engine

CHROMIUM = Path("/usr/bin/chromium")
WAIT = 30_000
"""Milliseconds a page may take to show what a step expects (the machine may be busy)."""
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("dialect", ["sqlite"], indirect=True),
    # CI installs it (.ci/run), so there a missing browser fails the test instead.
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"),
        reason="Debian's chromium is not installed: apt-get install -y chromium",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def console_url(database_url: str, users_file: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        THREADLINE_DATABASE_URL=database_url,
        THREADLINE_CONSOLE_USERS_FILE=str(users_file),
        HOME=str(tmp_path),
    )
    log = (tmp_path / "console.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "console", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the console did not start: {(tmp_path / 'console.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_operator_retries_a_failed_notice_in_the_browser(
    database_url: str, console_url: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    engine = create_engine(database_url)
    world = EngineWorld(engine)
    world.failed_notices("ECO-2026-00500", ["S010", "S020"])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(console_url)
            page.get_by_role("textbox", name="Username").fill("operator")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            # The figure links to its list: its label is a link.
            expect(page.get_by_role("link", name="ECOs in flight")).to_be_visible()

            page.get_by_role("link", name="Failed supplier notices").click()
            row = page.locator('[data-testid="stHorizontalBlock"]').filter(has_text="S010")
            expect(row.get_by_text("failed", exact=True)).to_be_visible()

            # Retry stays disabled until a reason is given.
            expect(row.get_by_role("button", name="Retry", exact=True)).to_be_disabled()
            reason = page.get_by_role("textbox", name="Reason for retrying (required)").first
            reason.fill("S010 fixed its contact address")
            reason.press("Enter")
            row.get_by_role("button", name="Retry", exact=True).click()

            expect(page.get_by_text("Queued 1 step for retry.")).to_be_visible()
            expect(row.get_by_text("retry queued", exact=True)).to_be_visible()
            other = page.locator('[data-testid="stHorizontalBlock"]').filter(has_text="S020")
            expect(other.get_by_text("failed", exact=True)).to_be_visible()

            # The engine's relay delivers the retry; the list refreshes itself and the
            # notice, pending again, leaves the failed list.
            world.relay()
            expect(page.get_by_text("S010", exact=True)).to_have_count(0, timeout=30_000)
            expect(other).to_be_visible()

            # Both plants still build the old ASM-1001 and CMP-2001: a click on a heatmap
            # cell narrows the list to that plant and item.
            page.get_by_role("link", name="Plants on a prior revision").click()
            expect(page.get_by_text("Rows 1 to 4 of 4")).to_be_visible()
            cells = page.locator(".js-plotly-plot .nsewdrag").first
            box = cells.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25
            page.mouse.move(x, y)
            page.mouse.click(x, y)
            expect(page.get_by_text("Rows 1 to 1 of 1")).to_be_visible()
        finally:
            browser.close()
            engine.dispose()


def test_a_password_sign_in_survives_reloads_until_signed_out(
    database_url: str, console_url: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    engine = create_engine(database_url)
    EngineWorld(engine).failed_notices("ECO-2026-00500", ["S010"])
    shared_link = f"{console_url}/eco?eco=ECO-2026-00500"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(shared_link)
            page.get_by_role("textbox", name="Username").fill("operator")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            heading = page.get_by_role("heading", name="ECO-2026-00500")
            expect(heading).to_be_visible(timeout=WAIT)

            def session_cookie() -> Any:
                found = [c for c in context.cookies() if c["name"] == "threadline_session"]
                return found[0] if found else None

            deadline = time.monotonic() + 20
            while (cookie := session_cookie()) is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert cookie is not None, "the server set no session cookie"
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            assert page.evaluate("document.cookie").find("threadline_session") == -1

            def fresh_reload() -> None:
                # Streamlit resumes a tab's own session on reload for a while; without
                # it, as after that while or a console restart, only the cookie counts.
                page.evaluate("window.sessionStorage.clear()")
                page.reload()

            # A reload, and a shared link in another tab, open signed in.
            page.reload()
            expect(heading).to_be_visible(timeout=WAIT)
            fresh_reload()
            expect(heading).to_be_visible(timeout=WAIT)
            expect(page.get_by_role("textbox", name="Username")).to_have_count(0, timeout=WAIT)
            other = context.new_page()
            other.goto(shared_link)
            expect(other.get_by_role("heading", name="ECO-2026-00500")).to_be_visible(timeout=WAIT)
            other.close()

            # A tampered cookie opens the sign-in form; the real one still works.
            forged = ("J" if cookie["value"][0] != "J" else "K") + cookie["value"][1:]
            context.add_cookies([cookie | {"value": forged}])
            fresh_reload()
            expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=WAIT)
            context.add_cookies([cookie])
            fresh_reload()
            expect(heading).to_be_visible(timeout=WAIT)

            # Signing out clears the cookie, and the server no longer accepts it.
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=WAIT)
            deadline = time.monotonic() + 20
            while session_cookie() is not None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert session_cookie() is None, "signing out left the cookie in the browser"
            context.add_cookies([cookie])
            fresh_reload()
            expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=WAIT)
            expect(heading).to_have_count(0, timeout=WAIT)
        finally:
            browser.close()
            engine.dispose()


def test_the_session_routes_refuse_what_they_should(console_url: str) -> None:
    with httpx.Client(base_url=console_url, timeout=10) as client:
        bogus = client.post("/_threadline/session", data={"handoff": "not-a-token"})
        assert bogus.status_code == 403 and "set-cookie" not in bogus.headers
        foreign = client.post(
            "/_threadline/session",
            data={"handoff": "x"},
            headers={"Origin": "https://elsewhere.example"},
        )
        assert foreign.status_code == 403
        # A cookie that no longer verifies is cleared on the next response.
        page = client.get("/", headers={"Cookie": "threadline_session=forged.value.sig"})
        cleared = page.headers.get_list("set-cookie")
        assert any(c.startswith("threadline_session=;") and "Max-Age=0" in c for c in cleared)
        assert "set-cookie" not in client.get("/").headers
        out = client.post("/_threadline/sign-out")
        assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
