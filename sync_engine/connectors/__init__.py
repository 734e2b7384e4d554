"""Connectors to the four systems, one module each, over a passed-in ``httpx.AsyncClient``.

Every call's failure is classified here, at the boundary (see :mod:`sync_engine.errors`).
"""

from __future__ import annotations

from sync_engine.connectors.base import Connector, classify, new_client
from sync_engine.connectors.erp import ErpConnector, ProductionVersionStatus
from sync_engine.connectors.mes import MesConnector
from sync_engine.connectors.plm import PlmConnector, PlmEntry
from sync_engine.connectors.procurement import ProcurementConnector

__all__ = [
    "Connector",
    "ErpConnector",
    "MesConnector",
    "PlmConnector",
    "PlmEntry",
    "ProcurementConnector",
    "ProductionVersionStatus",
    "classify",
    "new_client",
]
