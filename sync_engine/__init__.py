"""The sync engine: plans approved ECOs into steps and propagates them to ERP, MES and
procurement, recording every state transition as a CloudEvent in its outbox.

Modules (the plan itself is ``contracts.plan``): ``states`` (the step and ECO transition
tables), ``store`` (a package holding every query: the outbox, steps and their one
transition function, the ECO lifecycle, claims and leases, outcomes, operations and
inbox problems), ``commands`` (operator retry, skip, cancel, edit and retry; with
``bulk``, ``preview`` and ``acting``: previewed bulk retries, each action's audit event
and operation), ``triage`` (acknowledge, assign, note an inbox problem), ``ownership``
(who owns a problem), ``operator_cli`` (the same commands from a shell), ``retry``
(policies as data), ``errors``,
``connectors`` (one per system), ``runner`` (the jobs), ``calls`` (a claimed step's call,
by kind), ``results`` (recording what came of calls), ``scheduler`` (APScheduler wiring
and :func:`run_engine`), ``relay``, ``reconcile``, ``metrics``, ``config``, ``testing``.

Public names are re-exported here lazily, so importing the package (as ``threadline
--help`` does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "plan": "contracts.plan",
    "PlannedStep": "contracts.plan",
    "CommandResult": "sync_engine.commands",
    "retry_step": "sync_engine.commands",
    "retry_matching": "sync_engine.commands",
    "preview_retry": "sync_engine.commands",
    "retry_previewed": "sync_engine.commands",
    "edit_and_retry": "sync_engine.commands",
    "skip_step": "sync_engine.commands",
    "cancel_eco": "sync_engine.commands",
    "EngineConfig": "sync_engine.config",
    "SyncEngine": "sync_engine.runner",
    "run_engine": "sync_engine.scheduler",
    "RetryPolicy": "sync_engine.retry",
    "SyncError": "sync_engine.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sync_engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
