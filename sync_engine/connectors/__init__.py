"""Connectors to the four systems, one module each, over a passed-in ``httpx.AsyncClient``.

Requests and answers are the shared models of :mod:`contracts.api`.

Every call's failure is classified here, at the boundary (see :mod:`sync_engine.errors`).
"""

from __future__ import annotations

from sync_engine.connectors.base import Connector, classify, new_client
from sync_engine.connectors.erp import ErpConnector
from sync_engine.connectors.mes import MesConnector
from sync_engine.connectors.plm import PlmConnector
from sync_engine.connectors.procurement import ProcurementConnector

__all__ = [
    "Connector",
    "ErpConnector",
    "MesConnector",
    "PlmConnector",
    "ProcurementConnector",
    "classify",
    "new_client",
]
