"""``threadline up``: the whole product on one machine.

Upgrades the database, then starts the simulators, the collector (with a producer token
generated for the engine), backfills history through the collector, and starts the engine
and the console, each as a child process that must pass its health check before the next
starts. While they run it prints a one-line status; Ctrl-C or SIGTERM stops them all,
newest first. Everything lives in the working directory (``threadline.db`` and
``.threadline/``), so a second ``threadline up`` continues where the first stopped.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx

from alerts.notify import AlertTargetError
from alerts.rules import AlertRulesError
from contracts.sla import SlaFileError
from sync_engine.ownership import DEFAULT_FILE as OWNERSHIP_DEFAULT
from threadline.migrate import upgrade
from threadline.settings import Settings
from threadline.sla import sla_file, sla_policy
from threadline.supervisor import Service, Supervisor, SupervisorError, check_port_free

STATE_DIR = ".threadline"
ENGINE_SOURCE_PREFIX = "/threadline/"
ENGINE = "engine"
"""The engine's producer name: the catalog names it the owner of every Threadline type."""
CATALOG_PREFIX = "io.threadline."
DEMO_OPERATOR = "operator"


@dataclass(frozen=True)
class UpOptions:
    """What ``threadline up`` was asked for."""

    database_url: str
    host: str = "127.0.0.1"
    simulators_port: int = 8090
    collector_port: int = 8088
    console_port: int = 8501
    metrics_port: int = 9464
    history_days: int = 365
    seed: int = 7
    eco_rate: float = 4.0
    status_interval: float = 2.0


def demo_faults() -> dict[str, Any]:
    """A realistic mix: slow ERP confirmations, a flaky supplier portal, some 503s."""
    return {
        "erp": {
            "latency_ms": {"dist": "lognormal", "median": 40, "sigma": 0.6},
            "error_rate": 0.03,
            "rate_limit_rate": 0.01,
            "retry_after_seconds": 1,
            "confirmation_delay_seconds": 8,
        },
        "mes": {"latency_ms": 20, "error_rate": 0.02},
        "procurement": {
            "latency_ms": 60,
            "error_rate": 0.1,
            "timeout_rate": 0.02,
            "timeout_seconds": 15,
            "unreliable_portal_rate": 0.8,
        },
        "plm": {"latency_ms": 10},
    }


DEMO_RETRY_POLICIES = {"procurement": {"max_attempts": 4, "base_delay": 2.0, "max_delay": 15.0}}
"""Supplier notices give up within seconds in the demo, so failures show while you watch."""


DEMO_INACTIVE_WORK_CENTER_SHARE = 0.2
"""One new ECO in five hits an inactive work center, so a blocked plant shows early."""


class Up:
    """One run of ``threadline up``."""

    def __init__(self, options: UpOptions, workdir: Path, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.workdir = workdir
        self.state_dir = workdir / STATE_DIR
        self.out = out
        self.stop_requested = threading.Event()
        self.token = secrets.token_urlsafe(32)
        # Procurement announces its qualification decisions under a producer of its own.
        self.procurement_token = secrets.token_urlsafe(32)
        # One end for the simulators' world and the backfill, so they agree on history.
        self.history_end = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self.supervisor = Supervisor(self.state_dir / "logs", self._child_env())

    def url(self, port: int, path: str = "") -> str:
        return f"http://{self.options.host}:{port}{path}"

    def _child_env(self) -> dict[str, str]:
        import os

        o = self.options
        simulators = self.url(o.simulators_port)
        env = dict(os.environ)
        env.update(
            {
                "THREADLINE_DATABASE_URL": o.database_url,
                "THREADLINE_PLM_URL": f"{simulators}/plm",
                "THREADLINE_ERP_URL": f"{simulators}/erp",
                "THREADLINE_MES_URL": f"{simulators}/mes",
                "THREADLINE_PROCUREMENT_URL": f"{simulators}/procurement",
                "THREADLINE_COLLECTOR_URL": self.url(o.collector_port),
                "THREADLINE_COLLECTOR_TOKEN": self.token,
                "THREADLINE_COLLECTOR_TOKENS": json.dumps(
                    {
                        self.token: {
                            "producer": ENGINE,
                            "sources": [ENGINE_SOURCE_PREFIX],
                            "types": [CATALOG_PREFIX],
                        },
                        self.procurement_token: {
                            "producer": "procurement",
                            "sources": ["/procurement/"],
                            "types": ["io.threadline.procurement."],
                        },
                    }
                ),
                "THREADLINE_SIMULATORS_COLLECTOR_TOKEN": self.procurement_token,
                "THREADLINE_ENGINE_METRICS_PORT": str(o.metrics_port),
                "THREADLINE_ENGINE_RETRY_POLICIES": json.dumps(DEMO_RETRY_POLICIES),
                "THREADLINE_CONSOLE_PORT": str(o.console_port),
                "THREADLINE_CONSOLE_USERS_FILE": str(self.state_dir / "users.toml"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        # Alert messages link to this console unless the site names its own address.
        env.setdefault("THREADLINE_CONSOLE_URL", self.url(o.console_port))
        # The inbox's owners: the shipped, commented rules unless a file is named.
        env.setdefault("THREADLINE_OWNERSHIP_FILE", str(OWNERSHIP_DEFAULT))
        if o.history_days > 0:
            # PLM lists the history's ECOs too; the backfill has recorded them already.
            env["THREADLINE_ENGINE_PLM_START"] = f"{self.history_end}+00:00"
        return env

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def check_ports(self) -> None:
        o = self.options
        for service, port, option in (
            ("simulators", o.simulators_port, "--simulators-port"),
            ("collector", o.collector_port, "--collector-port"),
            ("console", o.console_port, "--console-port"),
            ("engine metrics", o.metrics_port, "--metrics-port"),
        ):
            check_port_free(service, o.host, port, option)

    def services(self) -> dict[str, Service]:
        o = self.options
        me = [sys.executable, "-m", "threadline"]
        faults = self.state_dir / "faults.json"
        return {
            "simulators": Service(
                "simulators",
                [
                    *me,
                    "simulators",
                    "serve",
                    "--host",
                    o.host,
                    "--port",
                    str(o.simulators_port),
                    "--seed",
                    str(o.seed),
                    "--eco-rate",
                    str(o.eco_rate),
                    "--faults",
                    str(faults),
                    "--history-days",
                    str(max(o.history_days, 0)),
                    "--history-end",
                    self.history_end,
                    "--inactive-work-center-share",
                    str(DEMO_INACTIVE_WORK_CENTER_SHARE),
                    "--collector-url",
                    self.url(o.collector_port),
                ],
                self.url(o.simulators_port, "/_admin/faults"),
            ),
            "collector": Service(
                "collector",
                [*me, "collector", "serve", "--host", o.host, "--port", str(o.collector_port)],
                self.url(o.collector_port, "/readyz"),
            ),
            "engine": Service(
                "engine", [*me, "engine", "run"], self.url(o.metrics_port, "/metrics")
            ),
            "console": Service(
                "console",
                [*me, "console", "--host", o.host, "--port", str(o.console_port)],
                self.url(o.console_port, "/_stcore/health"),
                start_timeout=90.0,
            ),
        }

    def prepare(self) -> str:
        """Create the state folder, the demo users and the fault mix; return the demo password."""
        import subprocess

        self.state_dir.mkdir(exist_ok=True)
        faults = self.state_dir / "faults.json"
        if not faults.exists():
            faults.write_text(json.dumps(demo_faults(), indent=2) + "\n", encoding="utf-8")
        credentials = self.state_dir / "demo-login.json"
        if credentials.exists():
            return str(json.loads(credentials.read_text(encoding="utf-8"))["password"])
        password = secrets.token_urlsafe(9)
        users = self.state_dir / "users.toml"
        for username, role in (
            (DEMO_OPERATOR, "operator"),
            ("viewer", "viewer"),
            ("executive", "executive"),
            ("admin", "admin"),
        ):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "threadline",
                    "console",
                    "add-user",
                    username,
                    "--role",
                    role,
                    "--users-file",
                    str(users),
                    "--password-stdin",
                ],
                input=password,
                text=True,
                check=True,
                capture_output=True,
            )
        credentials.write_text(json.dumps({"user": DEMO_OPERATOR, "password": password}))
        credentials.chmod(0o600)
        return password

    def backfill(self) -> None:
        import subprocess

        o = self.options
        if o.history_days <= 0:
            return
        self.say(f"Backfilling {o.history_days} days of history through the collector ...")
        backfill = subprocess.run(
            [
                sys.executable,
                "-m",
                "threadline",
                "simulators",
                "history",
                "--days",
                str(o.history_days),
                "--seed",
                str(o.seed),
                "--collector-url",
                self.url(o.collector_port),
                "--end",
                self.history_end,
            ],
            env=self.supervisor.base_env,
            check=False,
        )
        if backfill.returncode != 0:
            raise SupervisorError(
                f"the history backfill exited with code {backfill.returncode} (see above); "
                "--history 0 starts without it"
            )

    def status_line(self, client: httpx.Client) -> str | None:
        try:
            response = client.get(self.url(self.options.collector_port, "/summary"))
            response.raise_for_status()
            s = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return (
            f"ECOs received {s['ecos_received']} | production-ready {s['production_ready']} | "
            f"awaiting ERP confirmation {s['awaiting_confirmation']} | "
            f"blocked plants {s['blocked_plants']} | failed notices {s['failed_notices']}"
        )

    def check_slas(self) -> None:
        """Read the SLA file every service will use, so a bad one stops ``up`` at once."""
        settings = Settings()
        sla_policy(settings)
        self.say(f"SLAs: {sla_file(settings)}")

    def check_alerts(self) -> str:
        """Read the alert rules and URLs the engine will use, so bad ones stop ``up`` at
        once; return where alerts go."""
        from alerts.setup import AlertSetup

        return AlertSetup.from_settings(Settings()).where()

    def run(self) -> int:
        """Run until asked to stop; return the exit code."""
        o = self.options
        try:
            self.check_ports()
            self.check_slas()
            alerts = self.check_alerts()
        except (SupervisorError, SlaFileError, AlertRulesError, AlertTargetError) as exc:
            self.say(f"error: {exc}")
            return 2
        self.say(f"Upgrading the database {_safe_url(o.database_url)} ...")
        upgrade(o.database_url)
        password = self.prepare()
        services = self.services()
        try:
            for name in ("simulators", "collector"):
                self.say(f"Starting the {name} ...")
                self.supervisor.start(services[name])
                if self.stop_requested.is_set():
                    return 0
            self.backfill()
            for name in ("engine", "console"):
                self.say(f"Starting the {name} ...")
                self.supervisor.start(services[name])
        except (SupervisorError, OSError) as exc:
            self.say(f"error: {exc}")
            self.supervisor.stop()
            return 1
        except KeyboardInterrupt:
            self.supervisor.stop()
            return 130
        self.say("")
        self.say(f"Threadline is up. Console: {self.url(o.console_port)}")
        self.say(
            f"Log in as '{DEMO_OPERATOR}' with password '{password}' "
            f"(also viewer, executive and admin; the same password)."
        )
        self.say(f"Alerts go to {alerts}.")
        self.say(f"Logs: {self.state_dir / 'logs'}. Stop with Ctrl-C.")
        return self._watch()

    def _watch(self) -> int:
        tty = self.out.isatty()
        last_print = 0.0
        code = 0
        with httpx.Client(timeout=2.0) as client:
            while not self.stop_requested.wait(self.options.status_interval):
                exited = self.supervisor.exited()
                if exited:
                    name, rc = exited[0]
                    self.say(f"\nerror: the {name} exited with code {rc}; stopping the others")
                    code = 1
                    break
                line = self.status_line(client)
                if line is None:
                    continue
                if tty:
                    self.out.write("\r" + line.ljust(110)[:150])
                    self.out.flush()
                elif time.monotonic() - last_print > 10:
                    self.say(line)
                    last_print = time.monotonic()
        self.say("\nStopping ...")
        self.supervisor.stop()
        self.say("Stopped.")
        return code

    def install_signal_handlers(self) -> Callable[[], None]:
        """Turn SIGTERM and SIGINT into a clean stop; return a function restoring the old ones."""

        def handler(_signum: int, _frame: FrameType | None) -> None:
            self.stop_requested.set()
            if not self.supervisor.running or len(self.supervisor.running) < 4:
                raise KeyboardInterrupt

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for s, h in previous.items():
                with contextlib.suppress(ValueError):
                    signal.signal(s, h)

        return restore


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
