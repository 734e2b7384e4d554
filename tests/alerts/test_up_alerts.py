"""``threadline up`` with a JSON webhook: an alert naming a plant and its ECOs, linking to
the console, arrives while the demo runs; once an operator clears the plant the resolve
arrives."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync_engine import commands
from tests.alerts.conftest import Receiver
from tests.e2e.test_up import Up, wait_for
from threadline.db import create_engine

pytestmark = pytest.mark.e2e

RULES = """
[alerts]
evaluate_every = "2s"

[[rule]]
name = "plant-blocked"
kind = "plant_blocked"
longer_than = "5s"
"""


def test_up_sends_an_alert_naming_a_plant_and_its_resolve(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    up = Up(
        tmp_path,
        {"THREADLINE_ALERT_URLS": receiver.url, "THREADLINE_ALERT_RULES_FILE": str(rules)},
    )
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'threadline.db'}")
    try:
        up.wait_until_up(timeout=240)
        said = "".join(up.output)
        assert f"Alerts go to JSON (json://127.0.0.1:{receiver.port}) and the Alerts page." in said

        def fired() -> list[dict[str, str]]:
            return [b for b in receiver.bodies if b["title"].startswith("[FIRING] Plant ")]

        first = wait_for("an alert about a blocked plant", fired, timeout=240)[0]
        plant = re.match(r"\[FIRING\] Plant (\S+) blocked", first["title"])
        assert plant is not None
        where = plant.group(1)
        console = f"http://127.0.0.1:{up.console}/exceptions?plant_state=blocked&plant={where}"
        assert console in first["message"]
        assert re.search(rf"ECO-\d{{4}}-\d{{5}} at {where}: ", first["message"])

        def cleared() -> bool:
            # Skip what blocks the plant (new ECOs may block it again meanwhile).
            with engine.connect() as connection:
                blocked = (
                    connection.execute(
                        sa.text(
                            "SELECT step_id FROM sync_steps WHERE state = 'blocked' AND plant = :p"
                        ),
                        {"p": where},
                    )
                    .scalars()
                    .all()
                )
            for step_id in blocked:
                commands.skip_step(
                    engine, step_id, actor="ada", role="operator", reason="work center replaced"
                )
            return any(b["title"].startswith(f"[RESOLVED] Plant {where} ") for b in receiver.bodies)

        wait_for(f"the resolve of plant {where}", cleared, timeout=120)
        titles = [b["title"] for b in receiver.bodies if f"Plant {where} " in b["title"]]
        assert titles[0].startswith("[FIRING]") and titles[-1].startswith("[RESOLVED]")
        assert sum(t.startswith("[RESOLVED]") for t in titles) == 1
    finally:
        engine.dispose()
        if up.process.poll() is None:
            up.process.send_signal(signal.SIGINT)
            up.process.wait(timeout=60)
        up.reader.join(timeout=10)
        if up.process.stdout is not None:
            up.process.stdout.close()
