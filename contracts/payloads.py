"""The contract of each step kind's payload: what the engine stores and sends.

An operator's edited payload (edit and retry) is checked here before it is sent again:
every error named with its path, and the keys that say which target the step writes
must stay as they are (a payload for another item is a different step).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from contracts.api import (
    BomRequest,
    NoticeRequest,
    ProductionVersionRequest,
    Request,
    RoutingRequest,
)
from contracts.model import Code, Revision
from contracts.steps import StepKind


class ItemRevisionPayload(Request):
    """An item revision to release, with the description ERP shows."""

    item: Code
    revision: Revision
    description: str = ""


PAYLOAD_MODELS: Mapping[StepKind, type[Request]] = {
    StepKind.ERP_ITEM_REVISION: ItemRevisionPayload,
    StepKind.ERP_BOM: BomRequest,
    StepKind.ERP_ROUTING: RoutingRequest,
    StepKind.ERP_PRODUCTION_VERSION: ProductionVersionRequest,
    StepKind.ERP_CONFIRMATION: ProductionVersionRequest,
    StepKind.MES_ROUTING: RoutingRequest,
    StepKind.SUPPLIER_NOTICE: NoticeRequest,
}
"""The model of every editable kind's payload (compensations are not edited)."""

IDENTITY_KEYS = ("item", "assembly", "revision", "supplier", "eco")
"""Payload keys naming the step's target: an edit must keep them."""


def payload_errors(kind: StepKind, payload: Any, original: Mapping[str, Any]) -> list[str]:
    """Every problem of ``payload`` as the new payload of a ``kind`` step that had
    ``original``, each ``path: problem``; empty when it may be sent."""
    model = PAYLOAD_MODELS.get(kind)
    if model is None:
        return [f"(payload): a {kind.value} step's payload cannot be edited"]
    if not isinstance(payload, Mapping):
        return ["(payload): must be a JSON object"]
    errors = []
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "(payload)"
            errors.append(f"{path}: {error['msg']}")
    errors.extend(
        f"{key}: must stay {original[key]!r} (it names the step's target)"
        for key in IDENTITY_KEYS
        if key in original and payload.get(key) != original[key]
    )
    return errors
