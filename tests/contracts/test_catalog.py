from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import events as ev
from contracts import sourcing_events as se
from contracts.events import CATALOG, STEP_EVENT_TYPES, lookup, new_event, parse_data
from contracts.operator_events import (
    OperationCompleted,
    OperatorActionTaken,
    WorkOverdue,
    WorkResolved,
)
from contracts.readmodel import DriftCause
from contracts.schemas import catalog_schemas, export
from contracts.sla import Stage
from contracts.steps import ErrorCategory, OperatorAction, StepKind, StepState, System, step_id

AT = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
ERROR = ev.StepError(
    category=ErrorCategory.BUSINESS,
    code="WORK_CENTER_INACTIVE",
    message="work center WC-P100-03 is inactive",
    http_status=422,
    fingerprint="erp.routing:WORK_CENTER_INACTIVE",
)
STEP = {
    "eco": "ECO-2026-00042",
    "step_id": "ECO-2026-00042/erp.routing/P100/ASM-1001",
    "kind": StepKind.ERP_ROUTING,
    "system": System.ERP,
    "plant": "P100",
    "item": "ASM-1001",
    "revision": "C",
    "idempotency_key": "b3f1c0de",
    "attempt": 1,
}

EXAMPLES: dict[str, ev.EventData] = {
    "io.threadline.eco.received.v1": ev.EcoReceived(
        eco="ECO-2026-00042",
        title="Bracket",
        approved_at=AT,
        effectivity=date(2026, 4, 10),
        items=["ASM-1001"],
        revisions={"ASM-1001": "C"},
        product_families=["Pumps"],
        plants=["P100", "P200"],
        suppliers=["S010"],
        steps=11,
    ),
    "io.threadline.eco.rejected.v1": ev.EcoRejected(
        eco="ECO-2026-00043",
        violations=[ev.Violation(path="effectivity", message="before approval")],
    ),
    "io.threadline.eco.cancelled.v1": ev.EcoCancelled(
        eco="ECO-2026-00042",
        cause="plm_superseded",
        reason="superseded",
        superseded_by="ECO-2026-00050",
        cancelled_steps=4,
        withdrawals=2,
    ),
    "io.threadline.eco.production_ready.v1": ev.EcoProductionReady(
        eco="ECO-2026-00042",
        approved_at=AT,
        erp_confirmed_at=AT,
        production_ready_at=AT,
        cycle_time_seconds=3600.0,
        plants=["P100"],
    ),
    "io.threadline.step.scheduled.v1": ev.StepScheduled(**{**STEP, "to_state": StepState.WAITING}),
    "io.threadline.step.started.v1": ev.StepStarted(
        **{**STEP, "from_state": StepState.PENDING, "to_state": StepState.RUNNING}
    ),
    "io.threadline.step.succeeded.v1": ev.StepSucceeded(
        **{**STEP, "to_state": StepState.SUCCEEDED}
    ),
    "io.threadline.step.retrying.v1": ev.StepRetrying(
        **{**STEP, "to_state": StepState.RETRYING}, error=ERROR, next_attempt_at=AT
    ),
    "io.threadline.step.failed.v1": ev.StepFailed(
        **{**STEP, "to_state": StepState.FAILED}, error=ERROR, payload={"unexpected": [1, 2]}
    ),
    "io.threadline.step.blocked.v1": ev.StepBlocked(
        **{**STEP, "to_state": StepState.BLOCKED}, error=ERROR
    ),
    "io.threadline.step.skipped.v1": ev.StepSkipped(
        **{**STEP, "to_state": StepState.SKIPPED, "reason": "done by hand", "actor": "ana"}
    ),
    "io.threadline.step.cancelled.v1": ev.StepCancelled(
        **{**STEP, "to_state": StepState.CANCELLED}
    ),
    "io.threadline.step.awaiting_confirmation.v1": ev.StepAwaitingConfirmation(
        **{**STEP, "to_state": StepState.AWAITING_CONFIRMATION}, production_version="PV-7"
    ),
    "io.threadline.erp.production_version_confirmed.v1": ev.ProductionVersionConfirmed(
        eco="ECO-2026-00042",
        plant="P100",
        item="ASM-1001",
        revision="C",
        production_version="PV-7",
        requested_at=AT,
        confirmed_at=AT,
    ),
    "io.threadline.erp.confirmation_overdue.v1": ev.ConfirmationOverdue(
        eco="ECO-2026-00042",
        plant="P100",
        item="ASM-1001",
        revision="C",
        requested_at=AT,
        sla_seconds=900,
    ),
    "io.threadline.plant.revision_changed.v1": ev.PlantRevisionChanged(
        plant="P100",
        item="ASM-1001",
        old_revision="B",
        new_revision="C",
        eco="ECO-2026-00042",
        effective_from=date(2026, 4, 10),
    ),
    "io.threadline.plant.revision_observed.v1": ev.PlantRevisionObserved(
        plant="P100",
        item="ASM-1001",
        system=System.MES,
        observed_revision="B",
        expected_revision="C",
    ),
    "io.threadline.plant.reconciliation_exception.v1": ev.ReconciliationException(
        plant="P100",
        item="ASM-1001",
        kind="erp_mes_disagree",
        detail="ERP C, MES B",
        erp_revision="C",
        mes_revision="B",
    ),
    "io.threadline.plant.drift_detected.v1": ev.DriftDetected(
        plant="P100",
        item="ASM-1001",
        plm_revision="C",
        erp_revision="C",
        mes_revision="B",
        expected_revision="C",
        responsible_eco="ECO-2026-00042",
        eco_state="in_progress",
        cause=DriftCause.IN_FLIGHT,
        detail="MES runs B; ERP and PLM C",
        since=AT,
    ),
    "io.threadline.plant.drift_resolved.v1": ev.DriftResolved(
        plant="P100", item="ASM-1001", revision="C", since=AT
    ),
    "io.threadline.plant.reconciled.v1": ev.ReconciliationCompleted(
        plants=["P100", "P200"], skipped=["P300"], drift=1, started_at=AT, finished_at=AT
    ),
    "io.threadline.supplier.notice_sent.v1": ev.SupplierNoticeSent(
        eco="ECO-2026-00042", supplier="S010", notice_id="N-1", items=["CMP-2001"], attempt=1
    ),
    "io.threadline.supplier.notice_failed.v1": ev.SupplierNoticeFailed(
        eco="ECO-2026-00042", supplier="S010", attempt=3, error=ERROR, final=True
    ),
    "io.threadline.operator.action.v1": OperatorActionTaken(
        actor="ana",
        role="operator",
        action=OperatorAction.RETRY_BULK,
        filter={"kind": "procurement.supplier_notice", "fingerprint": "x"},
        reason="portal back",
        outcome="queued",
        affected=7,
        operation_id="op-3f2a9c1d7e4b",
    ),
    "io.threadline.operator.operation_completed.v1": OperationCompleted(
        operation_id="op-3f2a9c1d7e4b",
        action=OperatorAction.RETRY_BULK,
        actor="ana",
        role="operator",
        reason="portal back",
        steps=7,
        succeeded=5,
        failed_again=2,
        codes={"INVALID_SUPPLIER_CONTACT": 2},
        summary="done: 5 succeeded, 2 failed again (INVALID_SUPPLIER_CONTACT)",
        started_at=AT,
    ),
    "io.threadline.sla.work_overdue.v1": WorkOverdue(
        stage=Stage.RETRYING,
        eco="ECO-2026-00042",
        step_id="ECO-2026-00042/erp.routing/P100/ASM-1001",
        kind=StepKind.ERP_ROUTING,
        plant="P100",
        item="ASM-1001",
        since=AT,
        due_at=AT + timedelta(minutes=30),
        sla_seconds=1800,
    ),
    "io.threadline.sla.work_resolved.v1": WorkResolved(
        stage=Stage.ECO,
        eco="ECO-2026-00042",
        since=AT,
        due_at=AT + timedelta(days=1),
        sla_seconds=86400,
        overdue_seconds=120,
    ),
    "io.threadline.step.awaiting_qualification.v1": se.StepAwaitingQualification(
        **{
            **STEP,
            "kind": StepKind.ERP_INFO_RECORD,
            "step_id": "ECO-2026-00042/erp.purchasing_info_record/P100/CMP-2001:S010",
            "supplier": "S010",
            "to_state": StepState.AWAITING_QUALIFICATION,
        },
        qualification_id="Q-000012",
    ),
    "io.threadline.procurement.qualification_requested.v1": se.QualificationRequested(
        eco="ECO-2026-00042",
        supplier="S010",
        component="CMP-2001",
        revision="C",
        qualification_id="Q-000012",
        plants=["P100", "P200"],
        requested_at=AT,
    ),
    "io.threadline.procurement.qualification_approved.v1": se.QualificationApproved(
        supplier="S010", component="CMP-2001", revision="C", qualification_id="Q-1", approved_at=AT
    ),
    "io.threadline.procurement.qualification_rejected.v1": se.QualificationRejected(
        supplier="S010",
        component="CMP-2001",
        revision="C",
        qualification_id="Q-2",
        reason="first article failed",
        rejected_at=AT,
    ),
    "io.threadline.erp.info_record_activated.v1": se.InfoRecordActivated(
        eco="ECO-2026-00042",
        supplier="S010",
        component="CMP-2001",
        revision="C",
        plants=["P100"],
        plant="P100",
        info_record="PIR-0001",
        activated_at=AT,
    ),
    "io.threadline.supplier.records_duplicated.v1": se.SupplierRecordsDuplicated(
        kind="tax_id",
        key="DE811234567",
        codes=["S010", "V-4410"],
        names=["Acme GmbH"],
        systems=["procurement", "erp"],
        detail="tax id DE811234567 under S010 (procurement) and V-4410 (ERP)",
    ),
    "io.threadline.eco.impact_assessed.v1": se.ImpactAssessed(
        eco="ECO-2026-00042",
        plant="P100",
        item="CMP-2001",
        superseded_revision="B",
        purchase_orders=3,
        purchase_value=12500.0,
        earliest_due=date(2026, 4, 9),
        production_orders=2,
        production_quantity=400.0,
        earliest_start=date(2026, 4, 12),
        read_at=AT,
    ),
}


def test_every_catalog_type_has_an_example_and_a_versioned_name() -> None:
    assert set(EXAMPLES) == set(CATALOG)
    for event_type in CATALOG:
        assert ev.TYPE_PATTERN.match(event_type), event_type


def test_every_step_state_has_an_event_type() -> None:
    assert set(STEP_EVENT_TYPES) == set(StepState)
    assert all(t in CATALOG for t in STEP_EVENT_TYPES.values())


@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_round_trip_through_json_and_the_exported_schema(event_type: str) -> None:
    data = EXAMPLES[event_type]
    as_json = json.loads(data.model_dump_json())
    jsonschema.validate(as_json, catalog_schemas()[event_type])
    assert parse_data(event_type, as_json) == data
    event = new_event(data, source="/threadline/engine", time=AT, subject="S")
    assert event["type"] == event_type
    assert event["dataschema"] == lookup(event_type).dataschema
    assert parse_data(event["type"], json.loads(json.dumps(event["data"]))) == data


def test_every_model_names_one_type_and_the_event_takes_its_keys_from_the_data() -> None:
    assert len(ev.TYPE_OF_MODEL) == len(CATALOG)
    assert all(ev.type_of(entry.model) == t for t, entry in CATALOG.items())
    with pytest.raises(ev.UnknownEventType):
        ev.type_of(ev.StepTransition)
    ready = EXAMPLES["io.threadline.eco.production_ready.v1"]
    event = new_event(ready, source="/threadline/engine", time=AT)
    assert (event["subject"], event["correlationid"]) == (ready.eco, ready.eco)  # type: ignore[attr-defined]
    changed = EXAMPLES["io.threadline.plant.revision_changed.v1"]
    event = new_event(changed, source="/threadline/engine", time=AT)
    assert event["subject"] == f"{changed.plant}/{changed.item}"  # type: ignore[attr-defined]
    assert event["correlationid"] == changed.eco  # type: ignore[attr-defined]


def test_export_writes_a_valid_schema_per_type_and_an_index(tmp_path: Path) -> None:
    written = export(tmp_path / "schemas")
    index = json.loads((tmp_path / "schemas" / "index.json").read_text())
    assert len(written) == len(CATALOG) + 1
    assert {entry["type"] for entry in index["types"]} == set(CATALOG)
    for entry in index["types"]:
        schema = json.loads((tmp_path / "schemas" / entry["file"]).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(json.loads(EXAMPLES[entry["type"]].model_dump_json()), schema)


def test_data_of_the_wrong_shape_is_refused_with_paths() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_data("io.threadline.step.retrying.v1", {**STEP, "to_state": "retrying"})
    assert {e["loc"] for e in caught.value.errors()} == {("error",), ("next_attempt_at",)}
    with pytest.raises(ev.UnknownEventType):
        parse_data("io.threadline.nope.v1", {})


@given(
    state=st.sampled_from(list(StepState)),
    attempt=st.integers(min_value=0, max_value=50),
    kind=st.sampled_from(list(StepKind)),
)
def test_step_transitions_round_trip_through_their_schema(
    state: StepState, attempt: int, kind: StepKind
) -> None:
    event_type = STEP_EVENT_TYPES[state]
    fields: dict[str, Any] = {
        **STEP,
        "kind": kind,
        "system": kind.system,
        "to_state": state,
        "attempt": attempt,
        "error": ERROR,
        "next_attempt_at": AT,
        "reason": "r",
        "actor": "ana",
    }
    data = lookup(event_type).model.model_validate(fields)
    as_json = json.loads(data.model_dump_json())
    jsonschema.validate(as_json, catalog_schemas()[event_type])
    assert parse_data(event_type, as_json) == data


def test_step_transition_picks_the_model_of_the_state_and_names_the_step() -> None:
    data = ev.step_transition(StepState.RETRYING, **STEP, error=ERROR, next_attempt_at=AT)
    assert isinstance(data, ev.StepRetrying)
    with pytest.raises(ValidationError):
        ev.step_transition(StepState.BLOCKED, **STEP)
    assert ev.step_transition(StepState.WAITING, **STEP).step_id == step_id(
        "ECO-2026-00042", StepKind.ERP_ROUTING, "P100", "ASM-1001"
    )
