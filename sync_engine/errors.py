"""The sync engine's exceptions. Foreign errors are translated at the boundary.

::

    SyncError
    ├── CallError                 a call to ERP, MES, PLM or procurement did not succeed
    │   ├── TransientError        timeout, connection error, 5xx, 429: retried by policy
    │   ├── BusinessError         a coded 4xx problem: the step is blocked for a person
    │   └── ContractError         a response that breaks the contract: a dead letter
    ├── TransitionNotAllowed      a state change the transition table does not allow
    ├── InvalidCommand            an operator command refused as given (also a ValueError)
    ├── StaleStep                 the step changed under us (another engine, a lease lost)
    ├── EngineAlreadyRunning      a second engine on SQLite
    └── OwnershipError            the ownership rules file cannot be used (file, line, problem)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contracts.steps import ErrorCategory

if TYPE_CHECKING:
    from sync_engine.exchange import Exchange


class SyncError(Exception):
    """Base of every error the sync engine raises."""


class CallError(SyncError):
    """A call to a system did not succeed; carries a stable ``code`` and the category."""

    category: ErrorCategory

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.payload = payload
        self.exchange: Exchange | None = None
        """The request and response, credentials removed, when the call was made."""


class TransientError(CallError):
    """Worth trying again later; ``retry_after`` is the server's own hint, in seconds."""

    category = ErrorCategory.TRANSIENT

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        payload: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, http_status=http_status, payload=payload)
        self.retry_after = retry_after


class BusinessError(CallError):
    """The system refused the change for a business reason a person must resolve."""

    category = ErrorCategory.BUSINESS


class ContractError(CallError):
    """The system answered something the contract does not allow; ``payload`` keeps it."""

    category = ErrorCategory.CONTRACT


class TransitionNotAllowed(SyncError):
    """The transition table does not allow this state change."""


class InvalidCommand(SyncError, ValueError):
    """An operator command was refused before it ran: no actor, no reason where one is
    required. A ``ValueError`` too, since the arguments are what is wrong."""


class StaleStep(SyncError):
    """The step is no longer in the state (or lease) the caller read it in."""


class EngineAlreadyRunning(SyncError):
    """SQLite mode runs one engine process; another one holds the engine lease."""


class OwnershipError(SyncError):
    """The ownership rules file cannot be used; the message names file, line and problem."""
