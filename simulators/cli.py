"""``threadline simulators ...``: serve the simulators, backfill history into a collector.

The functions here do the work; ``threadline/cli.py`` declares the options and imports
this module only when a command runs, so ``threadline --help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8090,
    seed: int = 7,
    eco_rate: float = 0.0,
    faults_file: Path | None = None,
    confirmation_delay: float | None = None,
    log_level: str = "info",
) -> None:
    """Serve PLM, ERP, MES, procurement and the admin API until interrupted."""
    import uvicorn

    from simulators.app import SimulatorConfig, create_app
    from simulators.faults import Faults

    faults = Faults()
    if faults_file is not None:
        faults = Faults.model_validate_json(faults_file.read_text(encoding="utf-8"))
    config = SimulatorConfig(
        seed=seed, eco_rate=eco_rate, faults=faults, confirmation_delay=confirmation_delay
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=3,
    )
