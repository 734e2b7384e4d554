"""Child processes with health checks, stopped in order: the engine of ``threadline up``.

Each service runs as its own process in its own session, so a Ctrl-C in the terminal
reaches only the supervisor, which then stops the services newest first. On Linux every
child also asks the kernel to kill it if the supervisor dies, so nothing is orphaned even
when the supervisor is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

PR_SET_PDEATHSIG = 1


class SupervisorError(Exception):
    """A service could not be started or stopped as asked.

    ``PortInUse`` - a port a service needs is taken.
    ``ServiceFailed`` - a service exited or never became healthy.
    """


class PortInUse(SupervisorError):
    """A port a service needs is taken by another program."""

    def __init__(self, service: str, port: int, option: str) -> None:
        super().__init__(
            f"port {port} for the {service} is already in use; "
            f"stop what holds it or choose another with {option}"
        )
        self.service, self.port, self.option = service, port, option


class ServiceFailed(SupervisorError):
    """A service exited or did not become healthy in time."""


@dataclass(frozen=True)
class Service:
    """How to run one service and how to tell it is up."""

    name: str
    argv: Sequence[str]
    health_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0


def check_port_free(service: str, host: str, port: int, option: str) -> None:
    """Raise :class:`PortInUse` if something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(service, port, option) from None


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the supervisor goes away."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Running:
    service: Service
    process: subprocess.Popen[bytes]
    log: IO[bytes]


class Supervisor:
    """Starts services one after another, each healthy before the next, and stops them."""

    def __init__(self, log_dir: Path, base_env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.base_env = dict(base_env)
        self.running: list[_Running] = []

    def start(self, service: Service, on_wait: Callable[[], None] | None = None) -> None:
        """Start ``service`` and wait until its health URL answers 2xx."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{service.name}.log").open("ab")
        process = subprocess.Popen(
            list(service.argv),
            env={**self.base_env, **service.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.running.append(_Running(service, process, log))
        deadline = time.monotonic() + service.start_timeout
        log_path = self.log_dir / f"{service.name}.log"
        with httpx.Client(timeout=2.0) as client:
            while True:
                if process.poll() is not None:
                    raise ServiceFailed(
                        f"the {service.name} exited with code {process.returncode}; see {log_path}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(service.health_url).is_success:
                        return
                if time.monotonic() > deadline:
                    raise ServiceFailed(
                        f"the {service.name} did not answer {service.health_url} within "
                        f"{service.start_timeout:.0f} s; see {log_path}"
                    )
                if on_wait is not None:
                    on_wait()
                time.sleep(0.2)

    def exited(self) -> list[tuple[str, int]]:
        """Services that have exited on their own: (name, exit code)."""
        return [
            (r.service.name, r.process.returncode)
            for r in self.running
            if r.process.poll() is not None
        ]

    def pids(self) -> list[int]:
        """Process ids of the services started so far."""
        return [r.process.pid for r in self.running]

    def stop(self, grace: float = 15.0) -> None:
        """Stop every service, newest first: SIGTERM, then SIGKILL after ``grace`` seconds."""
        while self.running:
            running = self.running.pop()
            process = running.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            running.log.close()
