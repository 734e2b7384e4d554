"""The purchasing part of the plan: suppliers from the approved lists, qualification
requests where there is a gap, info records per plant or once centrally."""

from __future__ import annotations

from contracts.governance import compliance_violations
from contracts.model import Compliance
from contracts.plan import plan
from contracts.purchasing import (
    ApprovedSource,
    QualificationStatus,
    Sourcing,
    Standing,
    suppliers_to_notify,
)
from contracts.steps import StepKind
from tests.factories import ITEMS, eco_data, make_eco

ECO = "ECO-2026-00042"


def _sourcing(**overrides: object) -> Sourcing:
    data: dict[str, object] = {
        # PLM's ECO lists S010; the approved lists name S020 at both plants, S030 at P200.
        "approved": (
            ApprovedSource(component="CMP-2001", plant="P100", supplier="S020"),
            ApprovedSource(component="CMP-2001", plant="P200", supplier="S020"),
            ApprovedSource(component="CMP-2001", plant="P200", supplier="S030"),
            # Not an affected plant: never planned.
            ApprovedSource(component="CMP-2001", plant="P900", supplier="S040"),
        ),
        "standings": (
            Standing(
                supplier="S020",
                component="CMP-2001",
                revision="B",
                qualification=QualificationStatus.QUALIFIED,
                contract=True,
            ),
            Standing(supplier="S030", component="CMP-2001", revision="B", contract=True),
        ),
        "modes": {"P100": "local", "P200": "local"},
    }
    return Sourcing.model_validate(data | overrides)


def _kind(steps: tuple, kind: StepKind) -> list:  # type: ignore[type-arg]
    return [s for s in steps if s.kind is kind]


def test_notices_and_info_records_go_to_the_approved_list_suppliers() -> None:
    steps = plan(make_eco(), ITEMS, _sourcing())
    notices = [s.supplier for s in _kind(steps, StepKind.SUPPLIER_NOTICE)]
    # The approved suppliers first, then PLM's own (merged, not copied).
    assert notices == ["S020", "S030", "S010"]
    records = {(s.plant, s.supplier) for s in _kind(steps, StepKind.ERP_INFO_RECORD)}
    assert records == {("P100", "S020"), ("P200", "S020"), ("P200", "S030")}
    assert all(
        (s.item, s.revision) == ("CMP-2001", "B") for s in _kind(steps, StepKind.ERP_INFO_RECORD)
    )
    _, differences = suppliers_to_notify(make_eco(), ITEMS, _sourcing())
    assert differences.not_approved == ("S010",)
    assert differences.not_listed == ("S020", "S030")


def test_a_qualification_gap_requests_qualification_and_the_info_record_waits_for_it() -> None:
    steps = plan(make_eco(), ITEMS, _sourcing())
    requests = _kind(steps, StepKind.QUALIFICATION_REQUEST)
    assert [(s.supplier, s.item, s.revision) for s in requests] == [("S030", "CMP-2001", "B")]
    (gap,) = [s for s in _kind(steps, StepKind.ERP_INFO_RECORD) if s.supplier == "S030"]
    release = f"{ECO}/erp.item_revision/-/CMP-2001"
    assert set(gap.depends_on) == {release, requests[0].step_id}
    qualified = [s for s in _kind(steps, StepKind.ERP_INFO_RECORD) if s.supplier == "S020"]
    assert all(s.depends_on == (release,) for s in qualified)
    assert gap.step_id == f"{ECO}/erp.purchasing_info_record/P200/CMP-2001:S030"


def test_central_sourcing_writes_one_info_record_for_every_central_plant() -> None:
    steps = plan(make_eco(), ITEMS, _sourcing(modes={"P100": "central", "P200": "central"}))
    s020 = [s for s in _kind(steps, StepKind.ERP_INFO_RECORD) if s.supplier == "S020"]
    assert [(s.plant, s.payload["plants"]) for s in s020] == [(None, ["P100", "P200"])]
    mixed = plan(make_eco(), ITEMS, _sourcing(modes={"P100": "local", "P200": "central"}))
    s020 = [s for s in _kind(mixed, StepKind.ERP_INFO_RECORD) if s.supplier == "S020"]
    assert [(s.plant, s.payload["sourcing"]) for s in s020] == [
        ("P100", "local"),
        (None, "central"),
    ]


def test_rejected_or_uncontracted_suppliers_get_no_request_but_keep_their_info_record() -> None:
    sourcing = _sourcing(
        standings=(
            Standing(
                supplier="S020",
                component="CMP-2001",
                revision="B",
                qualification=QualificationStatus.REJECTED,
            ),
            Standing(
                supplier="S030",
                component="CMP-2001",
                revision="B",
                qualification=QualificationStatus.QUALIFIED,
                contract=False,
            ),
        )
    )
    steps = plan(make_eco(), ITEMS, sourcing)
    assert _kind(steps, StepKind.QUALIFICATION_REQUEST) == []
    # The info record step itself finds the rejection or the missing contract and blocks.
    planned = {
        (s.supplier, s.payload["planned_qualification"], s.payload["planned_contract"])
        for s in _kind(steps, StepKind.ERP_INFO_RECORD)
    }
    assert planned == {("S020", "rejected", False), ("S030", "qualified", False)}


def test_without_sourcing_the_plan_is_unchanged() -> None:
    eco = make_eco()
    assert plan(eco, ITEMS) == plan(eco, ITEMS, None)
    assert [s.supplier for s in _kind(plan(eco, ITEMS), StepKind.SUPPLIER_NOTICE)] == ["S010"]
    assert not _kind(plan(eco, ITEMS), StepKind.ERP_INFO_RECORD)


def test_a_regulated_revision_lacking_attributes_is_a_violation_with_its_path() -> None:
    data = eco_data()
    data["affected_items"][1]["compliance"] = Compliance(
        regulated=True, rohs="compliant", reach="compliant"
    ).model_dump()
    eco = make_eco(affected_items=data["affected_items"])
    violations = compliance_violations(eco)
    assert [v.path for v in violations] == [
        "affected_items.1.compliance.conflict_minerals",
        "affected_items.1.compliance.country_of_origin",
    ]
    assert "CMP-2001 revision B is regulated" in violations[0].message
    complete = Compliance(
        regulated=True,
        rohs="compliant",
        reach="compliant",
        conflict_minerals="conflict_free",
        country_of_origin="DE",
    )
    data["affected_items"][1]["compliance"] = complete.model_dump()
    eco = make_eco(affected_items=data["affected_items"])
    assert compliance_violations(eco) == []
    (release,) = [s for s in plan(eco, ITEMS) if s.step_id.endswith("item_revision/-/CMP-2001")]
    assert release.payload["compliance"]["country_of_origin"] == "DE"
