"""The shipped Grafana dashboard queries only metrics the engine and the collector expose,
in PromQL that Prometheus parses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from collector.testing import running_collector
from simulators.testing import running_simulators
from sync_engine.testing import running_engine
from tests.conftest import IN_CI

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "threadline.json"
METRIC = re.compile(r"\b(?:threadline|collector)_[a-zA-Z0-9_]+")
TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
# The text format names a counter by its ``_total`` sample (its ``_created`` has a TYPE
# line of its own).
SAMPLES = {
    "counter": ("",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in panels(dashboard)
        for target in panel["targets"]
    ]


def exposed(text: str) -> set[str]:
    """Every sample name a Prometheus text page can hold, from its ``# TYPE`` lines."""
    return {
        name + suffix
        for name, kind in TYPE_LINE.findall(text)
        for suffix in SAMPLES.get(kind, ("",))
    }


@pytest.fixture(scope="module")
def service_metrics(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What a running engine's and a running collector's ``/metrics`` hold."""
    path = tmp_path_factory.mktemp("grafana") / "threadline.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+pysqlite:///{path}"
    with running_collector(url, {}) as collector:
        collector_text = httpx.get(f"{collector}/metrics", timeout=10).text
    with running_simulators() as sims, running_engine(url, sims) as engine:
        engine_text = engine.metrics.text()
    return exposed(collector_text) | exposed(engine_text)


def test_every_panel_queries_metrics_the_services_expose(service_metrics: set[str]) -> None:
    queried = expressions()
    assert len(queried) >= 20
    unknown = {
        (title, name)
        for title, expr in queried
        for name in METRIC.findall(expr)
        if name not in service_metrics
    }
    assert unknown == set()
    for title, expr in queried:
        assert METRIC.search(expr), f"{title}: {expr} queries no Threadline metric"


def test_every_exposed_family_has_a_panel(service_metrics: set[str]) -> None:
    queried = {name for _, expr in expressions() for name in METRIC.findall(expr)}
    families = {re.sub(r"_(total|created|bucket|sum|count)$", "", n) for n in service_metrics}
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in queried}
    missing = families - shown
    assert not missing, f"exposed but charted by no panel of {DASHBOARD.name}: {sorted(missing)}"


def test_every_query_is_promql_that_prometheus_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is missing (Debian's prometheus package)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    rules = [
        # Grafana fills $__rate_interval in; Prometheus needs a duration there.
        {"record": f"panel:query_{n}", "expr": expr.replace("$__rate_interval", "5m")}
        for n, (_, expr) in enumerate(expressions())
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_panels_use_the_chosen_prometheus_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels(dashboard):
        assert panel["datasource"] == chosen, panel["title"]
        assert all(target["datasource"] == chosen for target in panel["targets"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
