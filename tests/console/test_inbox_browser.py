"""The exception inbox once in a real browser, against the real simulators and engine.

An operator opens the inbox on the group of supplier notices the portal's outage
dead-lettered, previews a retry of the group, confirms it, the outage ends (the
simulators' admin API), and the operation shown at the top of the page goes from
queued to "done: 2 succeeded"; a reload keeps the sign-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from contracts.steps import StepKind, StepState, System
from simulators.testing import running_simulators
from sync_engine.retry import RetryPolicy
from sync_engine.testing import FAST_RETRY, running_engine
from tests.console.conftest import PASSWORD
from tests.console.test_browser import CHROMIUM, console_url  # noqa: F401
from tests.console.test_browser import pytestmark as browser_marks
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    burst,
    set_faults,
    wait_until,
    world,
)

DOWN = "procurement.supplier_notice:SERVICE_UNAVAILABLE"
pytestmark = [*browser_marks, pytest.mark.e2e]


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=0.3) as url:
        yield url


def test_operator_previews_a_group_retry_and_watches_it_succeed(
    database_url: str,
    console_url: str,  # noqa: F811
    sims: str,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    suppliers = [
        s["code"]
        for s in world(sims)["suppliers"]
        if not s["unreliable_portal"] and not s["invalid_contact"]
    ][:2]
    set_faults(sims, {"procurement": {"outage_seconds": 3600}})
    numbers = burst(sims, 1, suppliers=suppliers)
    activate_inactive_work_centers(sims, numbers)
    # Long enough retrying that the outage ends while the retried notices still try.
    notice = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=1.0, max_retry_after=1.0)
    retry = {**{s: FAST_RETRY for s in System}, System.PROCUREMENT: notice}
    db = Db(database_url)
    with running_engine(database_url, sims, retry=retry):
        wait_until(
            lambda: (
                [s.state for s in db.steps(kind=StepKind.SUPPLIER_NOTICE)] == [StepState.FAILED] * 2
            ),
            60,
            "both notices to be dead-lettered",
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-background-networking",
                    "--disable-component-update",
                ],
            )
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1200})
                context.set_default_timeout(30_000)
                expect.set_options(timeout=30_000)
                page = context.new_page()
                page.goto(f"{console_url}/exceptions?fingerprint={DOWN}")
                page.get_by_role("textbox", name="Username").fill("operator")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
                # The sign-in is handed to a cookie (a reload later keeps it); act after that.
                wait_until(
                    lambda: any(c["name"] == "threadline_session" for c in context.cookies()),
                    20,
                    "the session cookie",
                )
                page.wait_for_load_state("networkidle")

                page.get_by_role(
                    "button", name="Preview a retry of this group (2 problems)"
                ).click()
                expect(
                    page.get_by_text(re.compile(r"Would retry 2 steps of 1 ECO"))
                ).to_be_visible()
                confirm = page.get_by_role("button", name="Retry these 2 steps")
                expect(confirm).to_be_disabled()  # until a reason is given
                page.get_by_role("textbox", name="Reason for retrying (required)").fill(
                    "portal back after the outage"
                )
                page.keyboard.press("Enter")
                expect(confirm).to_be_enabled()
                confirm.click()
                expect(page.get_by_text("Queued 2 steps for retry.")).to_be_visible()
                followed = page.get_by_text(
                    re.compile(r"Operation op-\w+ \(retry_bulk, operator\)")
                )
                expect(followed).to_be_visible()

                set_faults(sims, {"procurement": {"outage_seconds": 0}})
                expect(followed).to_contain_text("done: 2 succeeded", timeout=60_000)

                page.reload()
                expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
                expect(page.get_by_role("textbox", name="Username")).to_have_count(0)
            finally:
                browser.close()
    states = {s.state for s in db.steps(kind=StepKind.SUPPLIER_NOTICE)}
    db.close()
    assert states == {StepState.SUCCEEDED}
