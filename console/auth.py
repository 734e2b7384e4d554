"""Who may use the console and what each role may do.

Users come from a file (TOML or JSON) of accounts with argon2-hashed passwords, or from an
OpenID Connect provider through ``st.login`` (see :mod:`console.login`); either way a person
ends up as a :class:`User` with exactly one :class:`Role`. What a role may do is the table
:data:`PERMISSIONS`, not ``if`` statements spread over the pages.

Exceptions::

    ConsoleError
     └── UsersFileError   the users file is missing, unreadable or invalid

Nothing here imports Streamlit, so it is tested and used by the command line on its own.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class ConsoleError(Exception):
    """Base of every error the console raises."""


class UsersFileError(ConsoleError):
    """The users file is missing, unreadable or invalid."""


class Role(StrEnum):
    """A console role; each person has one."""

    VIEWER = "viewer"  # reads the operations pages
    OPERATOR = "operator"  # also retries, skips and cancels
    EXECUTIVE = "executive"  # operations pages and the reports
    ADMIN = "admin"  # everything


class Permission(StrEnum):
    """Something the console lets a role do."""

    OPERATIONS = "operations"  # the Operations pages
    INVESTIGATE = "investigate"  # the ECO page (read-only)
    ACT = "act"  # retry, skip, cancel through sync_engine.commands
    REPORTS = "reports"  # the Reports pages
    AUDIT = "audit"  # the audit log of every operator action (read-only)


PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.OPERATIONS, Permission.INVESTIGATE}),
    Role.OPERATOR: frozenset(
        {Permission.OPERATIONS, Permission.INVESTIGATE, Permission.ACT, Permission.AUDIT}
    ),
    Role.EXECUTIVE: frozenset(
        {Permission.OPERATIONS, Permission.INVESTIGATE, Permission.REPORTS, Permission.AUDIT}
    ),
    Role.ADMIN: frozenset(Permission),
}
"""What each role may do."""

_ROLE_NAMES = frozenset(role.value for role in Role)

ROLE_PRECEDENCE: tuple[Role, ...] = (Role.ADMIN, Role.OPERATOR, Role.EXECUTIVE, Role.VIEWER)
"""Which role wins when an identity provider names several."""


def can(role: Role, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return permission in PERMISSIONS[role]


class User(BaseModel):
    """A signed-in person."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(min_length=1)
    display_name: str
    role: Role
    source: str = Field(default="password", description="password or oidc")

    def can(self, permission: Permission) -> bool:
        """Whether this user has ``permission``."""
        return can(self.role, permission)


class Account(BaseModel):
    """One entry of the users file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = ""
    role: Role
    password_hash: SecretStr

    def user(self) -> User:
        """The :class:`User` this account signs in as."""
        return User(
            username=self.username, display_name=self.display_name or self.username, role=self.role
        )


_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong
# password and the answer time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("threadline-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for the users file."""
    if not password:
        raise ValueError("the password is empty")
    return _hasher.hash(password)


def authenticate(accounts: Mapping[str, Account], username: str, password: str) -> User | None:
    """The user whose name and password match, or ``None``."""
    account = accounts.get(username.strip())
    stored = account.password_hash.get_secret_value() if account else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return account.user() if account else None


def load_accounts(path: Path) -> dict[str, Account]:
    """The accounts in a users file (``.toml`` or ``.json``), by username.

    Both formats hold a list ``users`` of tables with ``username``, ``display_name``,
    ``role`` and ``password_hash``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsersFileError(f"cannot read the users file {path}: {exc.strerror}") from exc
    try:
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsersFileError(f"the users file {path} is not valid {_format(path)}: {exc}") from exc
    entries = document.get("users", []) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise UsersFileError(f"the users file {path} must hold a list named 'users'")
    accounts: dict[str, Account] = {}
    for index, entry in enumerate(entries):
        try:
            account = Account.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise UsersFileError(f"users[{index}] in {path}: {problems}") from exc
        if account.username in accounts:
            raise UsersFileError(f"users[{index}] in {path}: {account.username} appears twice")
        accounts[account.username] = account
    return accounts


def save_account(path: Path, account: Account) -> None:
    """Add ``account`` to the users file, replacing one of the same name.

    The file is written anew (comments in a TOML file are not kept); it is created with
    owner-only permissions if it does not exist.
    """
    accounts = load_accounts(path) if path.exists() else {}
    accounts[account.username] = account
    rows = [_account_row(entry) for entry in accounts.values()]
    text = (
        json.dumps({"users": rows}, indent=2) + "\n"
        if path.suffix == ".json"
        else _toml_users(rows)
    )
    if not path.exists():
        path.touch(mode=0o600)
    path.write_text(text, encoding="utf-8")


def role_from_claims(
    claims: Mapping[str, Any],
    *,
    claim: str,
    by_email: Mapping[str, str],
    default: str | None,
) -> Role | None:
    """The role of an OpenID Connect identity, or ``None`` when it has none.

    The ``claim`` (a role name or a list of them) wins; then the e-mail mapping; then the
    default. Unknown role names are ignored; of several roles the most capable is taken.
    """
    value = claims.get(claim)
    names: Iterable[object] = [value] if isinstance(value, str) else value or []
    if not isinstance(names, list | tuple):
        names = []
    roles = {Role(name) for name in names if name in _ROLE_NAMES}
    if not roles:
        email = claims.get("email")
        emails = {key.lower(): role for key, role in by_email.items()}
        mapped = (emails.get(email.lower()) if isinstance(email, str) else None) or default
        if mapped in _ROLE_NAMES:
            roles = {Role(mapped)}
    return next((role for role in ROLE_PRECEDENCE if role in roles), None)


def _format(path: Path) -> str:
    return "JSON" if path.suffix == ".json" else "TOML"


def _account_row(account: Account) -> dict[str, str]:
    return {
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role.value,
        "password_hash": account.password_hash.get_secret_value(),
    }


def _toml_users(rows: list[dict[str, str]]) -> str:
    # JSON string escapes are valid TOML basic-string escapes, so json.dumps quotes safely.
    blocks = [
        "[[users]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in row.items())
        for row in rows
    ]
    return "\n".join(blocks)
