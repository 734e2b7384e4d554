"""Console users: the users file, password checks, roles and their permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.auth import (
    PERMISSIONS,
    Account,
    Permission,
    Role,
    UsersFileError,
    authenticate,
    can,
    hash_password,
    load_accounts,
    role_from_claims,
    save_account,
)


def account(username: str, role: Role, password: str) -> Account:
    return Account.model_validate(
        {
            "username": username,
            "display_name": username.title(),
            "role": role,
            "password_hash": hash_password(password),
        }
    )


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_saved_accounts_load_back_and_authenticate(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"users{suffix}"
    save_account(path, account("ada", Role.OPERATOR, "correct horse"))
    save_account(path, account("grace", Role.EXECUTIVE, "battery staple"))
    save_account(path, account("ada", Role.ADMIN, "new password"))

    accounts = load_accounts(path)

    assert sorted(accounts) == ["ada", "grace"]
    assert accounts["ada"].role is Role.ADMIN
    user = authenticate(accounts, "ada", "new password")
    assert user is not None and user.role is Role.ADMIN and user.display_name == "Ada"
    assert authenticate(accounts, "ada", "correct horse") is None
    assert authenticate(accounts, "grace", "battery staple") is not None
    assert authenticate(accounts, "nobody", "battery staple") is None
    assert path.stat().st_mode & 0o077 == 0


def test_the_password_hash_is_not_shown_in_repr(tmp_path: Path) -> None:
    entry = account("ada", Role.VIEWER, "s3cret")
    assert "argon2" not in repr(entry)
    assert entry.password_hash.get_secret_value().startswith("$argon2id$")


def test_hand_written_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(
        "# console users\n[[users]]\n"
        'username = "lin"\ndisplay_name = "Lin Wu"\nrole = "viewer"\n'
        f'password_hash = "{hash_password("pw")}"\n'
    )
    user = authenticate(load_accounts(path), " lin ", "pw")
    assert user is not None and user.role is Role.VIEWER and user.display_name == "Lin Wu"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users = 3", "list named 'users'"),
        ("[[users]]\nusername = 'x'\nrole = 'boss'\npassword_hash = 'h'", r"users\[0\].*role"),
        ("[[users", "not valid TOML"),
    ],
)
def test_invalid_users_files_are_refused_with_a_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "users.toml"
    path.write_text(content)
    with pytest.raises(UsersFileError, match=message):
        load_accounts(path)


def test_duplicate_usernames_are_refused(tmp_path: Path) -> None:
    row = {"username": "a", "role": "viewer", "password_hash": hash_password("x")}
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [row, row]}))
    with pytest.raises(UsersFileError, match="appears twice"):
        load_accounts(path)


def test_missing_file_is_a_users_file_error(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="cannot read"):
        load_accounts(tmp_path / "absent.toml")


def test_permission_table() -> None:
    assert all(can(role, Permission.OPERATIONS) for role in Role)
    assert {role for role in Role if can(role, Permission.ACT)} == {Role.OPERATOR, Role.ADMIN}
    assert {role for role in Role if can(role, Permission.REPORTS)} == {
        Role.EXECUTIVE,
        Role.ADMIN,
    }
    assert {role for role in Role if can(role, Permission.AUDIT)} == {
        Role.OPERATOR,
        Role.EXECUTIVE,
        Role.ADMIN,
    }
    assert PERMISSIONS[Role.ADMIN] == frozenset(Permission)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"threadline_role": "operator"}, Role.OPERATOR),
        ({"threadline_role": ["viewer", "admin", "bogus"]}, Role.ADMIN),
        ({"threadline_role": "bogus", "email": "Exec@Example.com"}, Role.EXECUTIVE),
        ({"email": "someone@example.com"}, None),
    ],
)
def test_role_from_identity_provider_claims(claims: dict[str, object], expected: Role) -> None:
    role = role_from_claims(
        claims,
        claim="threadline_role",
        by_email={"exec@example.com": "executive"},
        default=None,
    )
    assert role is expected


def test_default_role_for_unmapped_identities() -> None:
    role = role_from_claims({"email": "x@example.com"}, claim="r", by_email={}, default="viewer")
    assert role is Role.VIEWER
