"""Reference PLM, ERP, MES and procurement services over one seeded plant world.

``create_app(SimulatorConfig(...))`` is the ASGI application; ``running_simulators()``
(in ``simulators.testing``) serves it on loopback for tests; ``history_events`` (in
``simulators.history``) generates past propagations as CloudEvents.
"""

from __future__ import annotations

from simulators.app import SimulatorConfig, Simulators, build_simulators, create_app
from simulators.errors import SimulatorError
from simulators.faults import ErpFaults, Faults, LatencyDistribution, SystemFaults
from simulators.generator import EcoGenerator, EcoShape, GeneratorConfig
from simulators.history import final_revisions, history_events
from simulators.ledger import LEDGER_CAP, Ledger, LedgerEntry
from simulators.world import World, advance_world, build_world

__all__ = [
    "LEDGER_CAP",
    "EcoGenerator",
    "EcoShape",
    "ErpFaults",
    "Faults",
    "GeneratorConfig",
    "LatencyDistribution",
    "Ledger",
    "LedgerEntry",
    "SimulatorConfig",
    "SimulatorError",
    "Simulators",
    "SystemFaults",
    "World",
    "advance_world",
    "build_simulators",
    "build_world",
    "create_app",
    "final_revisions",
    "history_events",
]
