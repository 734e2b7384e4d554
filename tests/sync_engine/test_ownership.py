"""Ownership rules: first match wins, the shipped default loads, a bad file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_engine.ownership import DEFAULT_FILE, OwnershipError, Severity, load


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ownership.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_first_matching_rule_wins_and_fills_in_its_fix_hint(tmp_path: Path) -> None:
    rules = load(
        _write(
            tmp_path,
            """
[[rule]]
code = "INVALID_SUPPLIER_CONTACT"
supplier = "S090"
team = "vip-suppliers"
retry_fixes = false
fix_hint = "needs a fix in procurement: {supplier}'s contact address bounces"

[[rule]]
system = "procurement"
team = "procurement"
severity = "low"

[[rule]]
team = "everyone"
""",
        )
    )
    s090 = rules.owner(system="procurement", code="INVALID_SUPPLIER_CONTACT", supplier="S090")
    assert (s090.team, s090.retry_fixes) == ("vip-suppliers", False)
    assert s090.fix_hint == "needs a fix in procurement: S090's contact address bounces"
    other = rules.owner(system="procurement", code="INVALID_SUPPLIER_CONTACT", supplier="S010")
    assert (other.team, other.severity, other.retry_fixes) == ("procurement", Severity.LOW, True)
    assert rules.owner(system="erp", code="LOCKED").team == "everyone"
    assert rules.teams == ["vip-suppliers", "procurement", "everyone", "unassigned"]


def test_the_shipped_default_loads_and_says_a_bouncing_contact_needs_procurement() -> None:
    rules = load(DEFAULT_FILE)
    owner = rules.owner(
        system="procurement",
        kind="procurement.supplier_notice",
        code="INVALID_SUPPLIER_CONTACT",
        supplier="S090",
    )
    assert not owner.retry_fixes and owner.runbook
    assert owner.fix_hint == "needs a fix in procurement: S090's contact address bounces"
    assert rules.owner(system="erp", code="HTTP_503").retry_fixes


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[[rule]]\nteam = "a"\nseverity = "urgent"\n',
            "line 3: rule 1: severity: Input should be",
        ),
        (
            '[[rule]]\nteam = "a"\n\n[[rule]]\nkind = "erp.nope"\nteam = "b"\n',
            "line 5: rule 2: kind",
        ),
        ('[[rule]]\nsystem = "erp"\n', "line 1: rule 1: team: Field required"),
        ('[[rule]]\nteam = "a"\ncolour = "red"\n', "line 3: rule 1: colour: Extra inputs"),
        (
            '[[rule]]\nteam = "a"\nfix_hint = "{nobody}"\n',
            "line 3: rule 1: fix_hint names {nobody}",
        ),
        ('[[rule]]\nteam = "a\n', "line 2"),
        ('[rules]\nteam = "a"\n', "line 1: unknown key 'rules'"),
    ],
)
def test_a_bad_file_is_refused_naming_file_line_and_problem(
    tmp_path: Path, text: str, said: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(OwnershipError) as refused:
        load(path)
    assert str(path) in str(refused.value) and said in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(OwnershipError, match="cannot be read"):
        load(tmp_path / "nowhere.toml")
