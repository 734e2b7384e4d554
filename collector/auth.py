"""Producer authentication: bearer tokens, each mapped to a producer and its sources.

Tokens come from configuration (``THREADLINE_COLLECTOR_TOKENS`` JSON or the file named by
``THREADLINE_COLLECTOR_TOKENS_FILE``), in the shape
``{"<token>": {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]}}``.
A producer may post under the ``source`` prefixes listed, and the event types whose prefixes
``types`` lists: a catalog type only if the catalog also names the producer as one of its
owners (:func:`contracts.events.owns`), any other type as granted.

Tokens are compared in constant time against every configured token and never logged:
:class:`Tokens` keeps them out of its ``repr``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from collector.errors import CollectorError, Problem, Rejected
from threadline.settings import Settings


class ProducerGrant(BaseModel):
    """What one token lets its producer post."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: str = Field(min_length=1, max_length=100)
    sources: tuple[str, ...] = Field(min_length=1, description="allowed source prefixes")
    types: tuple[str, ...] = Field(
        default=(), description="prefixes of the event types this producer may post"
    )

    def allows_source(self, source: str) -> bool:
        """Whether ``source`` starts with one of the granted prefixes."""
        return source.startswith(self.sources)

    def allows_type(self, event_type: str) -> bool:
        """Whether ``event_type`` starts with one of the granted prefixes (a catalog type
        must also be owned by this producer)."""
        return bool(self.types) and event_type.startswith(self.types)


class TokenConfigError(CollectorError, ValueError):
    """The token configuration is not in the expected shape (the message names no token)."""


_GRANTS = TypeAdapter(dict[str, ProducerGrant])


class Tokens:
    """The configured tokens; finds a request's producer from its ``Authorization`` header."""

    def __init__(self, grants: Mapping[str, ProducerGrant]) -> None:
        self._grants = [(token.encode(), grant) for token, grant in grants.items()]

    def __repr__(self) -> str:
        producers = sorted({grant.producer for _, grant in self._grants})
        return f"Tokens(producers={producers})"

    def __len__(self) -> int:
        return len(self._grants)

    def authenticate(self, authorization: str | None) -> ProducerGrant:
        """The grant of the bearer token in ``authorization``, or a 401 :class:`Rejected`."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise _unauthorized("a bearer token is required")
        candidate = presented.strip().encode("utf-8", "surrogateescape")
        found: ProducerGrant | None = None
        # Compare against every token so the time taken does not reveal which one matched.
        for token, grant in self._grants:
            if hmac.compare_digest(candidate, token):
                found = grant
        if found is None:
            raise _unauthorized("the bearer token is not valid")
        return found


def _unauthorized(message: str) -> Rejected:
    return Rejected(
        401,
        "UNAUTHORIZED",
        "Authentication required",
        [Problem(message)],
        headers={"WWW-Authenticate": 'Bearer realm="threadline-collector"'},
    )


def parse_grants(document: Any) -> dict[str, ProducerGrant]:
    """Validate a token document (already parsed JSON) into grants by token."""
    try:
        return _GRANTS.validate_python(document)
    except ValidationError as exc:
        # Report where, never the offending token itself.
        count = exc.error_count()
        raise TokenConfigError(f"collector tokens: {count} invalid entries") from None


def load_tokens(settings: Settings) -> Tokens:
    """The tokens of ``settings``: the JSON variable and the file, merged."""
    grants: dict[str, ProducerGrant] = {}
    if settings.collector_tokens is not None:
        grants.update(_parse_text(settings.collector_tokens.get_secret_value(), "variable"))
    if settings.collector_tokens_file is not None:
        path = Path(settings.collector_tokens_file)
        grants.update(_parse_text(path.read_text(encoding="utf-8"), str(path)))
    return Tokens(grants)


def _parse_text(text: str, origin: str) -> dict[str, ProducerGrant]:
    try:
        document = json.loads(text)
    except ValueError:
        raise TokenConfigError(f"collector tokens ({origin}) are not valid JSON") from None
    return parse_grants(document)
