from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from threadline.supervisor import PortInUse, Service, ServiceFailed, Supervisor, check_port_free


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_services_start_healthy_and_stop_without_leftovers(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs", dict(os.environ))
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        supervisor.start(
            Service(
                f"web{n}",
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                f"http://127.0.0.1:{port}/",
            )
        )
    pids = supervisor.pids()
    assert all(alive(pid) for pid in pids)
    assert supervisor.exited() == []
    supervisor.stop()
    assert not any(alive(pid) for pid in pids)
    assert (tmp_path / "logs" / "web0.log").exists()


def test_a_service_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs", dict(os.environ))
    with pytest.raises(ServiceFailed, match=r"exited with code 3; see .*broken\.log"):
        supervisor.start(
            Service("broken", [sys.executable, "-c", "raise SystemExit(3)"], "http://127.0.0.1:9/")
        )
    supervisor.stop()


def test_a_taken_port_names_the_service_and_the_option() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse) as caught:
            check_port_free("collector", "127.0.0.1", port, "--collector-port")
    assert f"port {port} for the collector is already in use" in str(caught.value)
    assert "--collector-port" in str(caught.value)
