"""Reference PLM, ERP, MES and procurement services over one seeded plant world.

``create_app(SimulatorConfig(...))`` is the ASGI application; ``running_simulators()``
(in ``simulators.testing``) serves it on loopback for tests; ``history_events`` (in
``simulators.history``) generates past propagations as CloudEvents.
"""

from __future__ import annotations

import importlib
from typing import Any

# Re-exported lazily: ``threadline --help`` imports ``simulators.cli`` and must not pay
# for FastAPI and the world generator.
_EXPORTS = {
    "SimulatorConfig": "simulators.app",
    "Simulators": "simulators.app",
    "build_simulators": "simulators.app",
    "create_app": "simulators.app",
    "SimulatorError": "simulators.errors",
    "ErpFaults": "simulators.faults",
    "Faults": "simulators.faults",
    "LatencyDistribution": "simulators.faults",
    "SystemFaults": "simulators.faults",
    "EcoGenerator": "simulators.generator",
    "EcoShape": "simulators.generator",
    "GeneratorConfig": "simulators.generator",
    "final_revisions": "simulators.history",
    "history_events": "simulators.history",
    "LEDGER_CAP": "simulators.ledger",
    "Ledger": "simulators.ledger",
    "LedgerEntry": "simulators.ledger",
    "World": "simulators.world",
    "advance_world": "simulators.world",
    "build_world": "simulators.world",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulators' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
