"""An ECO the governance rules refuse is shown with its violations; once PLM publishes a
corrected version the engine plans it and it leaves the Rejected ECOs list.

Real simulators (the ECO published through PLM's admin API), a real engine and collector
over loopback, on both databases.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from collector.tables import eco_status
from collector.testing import running_collector
from dashboards.rejected import RejectedFilter, fix_for, rejected_ecos
from simulators.testing import running_simulators
from sync_engine.states import EcoProgress
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import Db, admin, burst, wait_until

TOKEN = "engine-token-for-rejections"
GRANT = {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]}

pytestmark = pytest.mark.e2e


def _publish(sims: str, document: dict[str, Any]) -> None:
    with admin(sims) as client:
        client.put(f"/_admin/ecos/{document['number']}", json=document).raise_for_status()


def _state(db: Db, number: str) -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(
            sa.select(eco_status.c.state).where(eco_status.c.eco == number)
        ).scalar_one_or_none()


def test_a_rejected_eco_corrected_in_plm_is_planned(database_url: str) -> None:
    db = Db(database_url)
    with running_simulators(seed=5) as sims:
        (number,) = burst(sims, 1)
        with admin(sims) as client:
            good = client.get(f"/plm/ecos/{number}").json()["eco"]
        approved_on = good["approved_at"][:10]
        broken = good | {"effectivity": "2001-01-01", "plants": [good["plants"][0]] * 2}
        _publish(sims, broken)
        with (
            running_collector(database_url, {TOKEN: GRANT}) as collector,
            running_engine(
                database_url, sims, collector_url=collector, collector_token=SecretStr(TOKEN)
            ),
        ):
            wait_until(lambda: _state(db, number) == "rejected", 30, "the ECO to be rejected")
            page, violations = rejected_ecos(db.engine)
            assert list(page.rows["eco"]) == [number]
            shown = {(v.path, v.fix) for v in violations.itertuples()}
            assert ("effectivity", fix_for("effectivity")) in shown
            assert ("plants", fix_for("plants")) in shown
            problems = dict(zip(violations["path"], violations["problem"], strict=True))
            assert approved_on in problems["effectivity"]
            assert rejected_ecos(db.engine, RejectedFilter(field="plants"))[0].total == 1
            assert rejected_ecos(db.engine, RejectedFilter(field="title"))[0].total == 0
            assert db.steps(eco=number) == []

            # Still broken, differently: refused again, with the violations left.
            _publish(sims, good | {"plants": [good["plants"][0]] * 2})

            def refused_again() -> bool:
                rows = rejected_ecos(db.engine)[1]
                return set(rows["path"]) == {"plants"}

            wait_until(refused_again, 30, "the second version's violations")
            assert db.steps(eco=number) == []

            _publish(sims, good)
            wait_until(lambda: db.steps(eco=number), 30, "the corrected ECO to be planned")
            wait_until(
                lambda: _state(db, number) not in (None, "rejected"), 30, "the ECO to move on"
            )
            assert db.eco_states()[number] in {
                EcoProgress.IN_PROGRESS,
                EcoProgress.PRODUCTION_READY,
            }
            assert rejected_ecos(db.engine)[0].total == 0
    db.close()
