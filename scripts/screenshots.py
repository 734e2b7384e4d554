"""Write a screenshot of every console page to docs/screenshots/.

    python scripts/screenshots.py [--days 90] [--ecos-per-day 25] [--out docs/screenshots]

Seeds a throwaway SQLite database with the simulators' history (through the collector's
store) and a few ECOs under way (through the engine's store and its outbox), starts
``threadline console`` on a free port, signs in as an admin in Debian's Chromium
(headless, via Playwright) and saves each page as a PNG 1400 pixels wide.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from collector.store import EventStore
from console.auth import Account, Role, hash_password, save_account
from console.routes import ROUTES
from contracts.plan import plan
from contracts.steps import StepKind
from simulators.generator import EcoGenerator
from simulators.history import history_events
from simulators.world import build_world
from sync_engine import store
from sync_engine.errors import BusinessError, TransientError
from sync_engine.relay import with_sequence
from threadline.db import create_engine
from threadline.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
WIDTH = 1400
MAX_HEIGHT = 2000


def seed(url: str, *, days: int, ecos_per_day: float) -> str:
    """Seed the history; return an ECO worth showing (one an operator acted on)."""
    upgrade(url)
    engine = create_engine(url)
    store = EventStore(engine)
    batch: list[dict[str, object]] = []
    stream = history_events(
        build_world(7), days=days, end=datetime.now(UTC), ecos_per_day=ecos_per_day, seed=7
    )
    for events in stream:
        batch.extend(events)
        if len(batch) > 5000:
            store.append(batch, "engine")
            batch = []
    if batch:
        store.append(batch, "engine")
    with engine.connect() as connection:
        eco = (
            connection.execute(
                sa.text(
                    "SELECT s.eco FROM eco_status s JOIN operator_actions a ON a.eco = s.eco "
                    "WHERE s.state = 'production_ready' ORDER BY a.at DESC LIMIT 1"
                )
            ).scalar_one_or_none()
            or connection.execute(
                sa.text("SELECT eco FROM eco_status ORDER BY approved_at DESC LIMIT 1")
            ).scalar_one()
        )
    engine.dispose()
    return str(eco)


def live(url: str, *, count: int = 14) -> None:
    """ECOs under way now, driven through the engine's own store: some plants await ERP
    confirmation (a few past their SLA), a routing is refused, supplier notices fail."""
    engine = create_engine(url)
    world = build_world(7)
    generator = EcoGenerator(world)
    now = datetime.now(UTC)
    clock = now - timedelta(hours=3)
    ecos: dict[str, int] = {}
    with engine.begin() as connection:
        for index in range(count):
            eco, _ = generator.generate(clock + timedelta(minutes=5 * index), fates=False)
            ecos[eco.number] = index
            store.record_eco(connection, eco, world.items, plan(eco, world.items), now=clock)
    while clock < now:
        with engine.begin() as connection:
            store.promote_ready(connection, now=clock, limit=10_000)
            claimed = store.claim_due(
                connection, holder="screenshots", now=clock, lease_seconds=600, limit=10_000
            )
            for step in claimed:
                _play(connection, step, ecos[step.eco], clock)
        clock += timedelta(minutes=20)
    with engine.begin() as connection:
        rows = store.undelivered(connection, after=0, limit=1_000_000)
        store.mark_delivered(connection, [row_id for row_id, _ in rows], now)
    EventStore(engine).append([with_sequence(row_id, event) for row_id, event in rows], "engine")
    engine.dispose()


def _play(connection: sa.Connection, step: store.StepRecord, index: int, now: datetime) -> None:
    if step.kind is StepKind.SUPPLIER_NOTICE and index % 4 in (0, 1):
        error = TransientError("HTTP_503", "procurement portal unavailable")
        retry_at = now + timedelta(minutes=30) if index % 4 == 1 else None
        store.fail(connection, step, error, now=now, next_attempt_at=retry_at)
    elif step.kind is StepKind.ERP_ROUTING and index % 5 == 2:
        error = BusinessError("WORK_CENTER_INACTIVE", f"work center at {step.plant} is inactive")
        store.fail(connection, step, error, now=now, next_attempt_at=None)
    elif step.kind is StepKind.ERP_CONFIRMATION:
        awaiting = store.await_confirmation(connection, step, now=now)
        if index % 3 != 0:
            store.confirm(connection, awaiting, now=now, confirmed_at=now)
    else:
        store.succeed(connection, step, now=now)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the console exited before it was ready")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the console did not become healthy")


def shoot(base: str, out: Path, password: str, eco: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(base)
        page.get_by_role("textbox", name="Username").wait_for()
        page.wait_for_timeout(500)
        written.append(out / "sign-in.png")
        page.screenshot(path=str(written[-1]))
        page.get_by_role("textbox", name="Username").fill("admin")
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("ECOs in flight").first.wait_for()
        for route in ROUTES:
            page.get_by_role("link", name=route.title, exact=True).first.click()
            page.get_by_role("heading", name=route.title).first.wait_for()
            if route.url_path == "eco":
                search = page.get_by_role("textbox", name="ECO number or correlation id")
                search.fill(eco)
                search.press("Enter")
                page.get_by_text("Timeline").wait_for()
            page.wait_for_timeout(3000)
            # Streamlit scrolls inside its main block, not the document: size the window
            # to the block so the whole page is in the picture.
            content = page.evaluate(
                "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
            )
            page.set_viewport_size({"width": WIDTH, "height": min(MAX_HEIGHT, content + 80)})
            page.wait_for_timeout(1500)
            written.append(out / f"{route.url_path}.png")
            page.screenshot(path=str(written[-1]))
            page.set_viewport_size({"width": WIDTH, "height": 1000})
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--ecos-per-day", type=float, default=25.0)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = f"sqlite+pysqlite:///{folder / 'screenshots.db'}"
        print("seeding the history ...", flush=True)
        eco = seed(url, days=args.days, ecos_per_day=args.ecos_per_day)
        live(url)
        password = secrets.token_urlsafe(12)
        users = folder / "users.toml"
        save_account(
            users,
            Account.model_validate(
                {
                    "username": "admin",
                    "display_name": "Ada Admin",
                    "role": Role.ADMIN,
                    "password_hash": hash_password(password),
                }
            ),
        )
        port = free_port()
        env = dict(os.environ)
        env.update(THREADLINE_DATABASE_URL=url, THREADLINE_CONSOLE_USERS_FILE=str(users))
        command = [sys.executable, "-m", "threadline", "console", "--host", "127.0.0.1"]
        process = subprocess.Popen([*command, "--port", str(port)], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, process)
            for path in shoot(base, args.out, password, eco):
                print(f"wrote {path}")
        finally:
            process.terminate()
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
