"""CloudEvents 1.0.2 over HTTP: content modes, attribute rules and the catalog's data models.

:func:`parse_request` turns one HTTP request into validated structured events (``dict``s
ready for :meth:`collector.store.EventStore.append`) or raises
:class:`~collector.errors.Rejected` naming every problem with its batch index.

The ``cloudevents`` SDK (2.x, ``cloudevents.core.v1.event.CloudEvent``) checks the
attribute types and extension names; this module guards where the SDK is not right
for a receiver:

- the SDK invents ``id``, ``time`` and ``specversion`` when they are missing: presence is
  checked here first, and nothing is invented;
- its ``from_http`` picks binary mode whenever a ``ce-`` header is present: the mode comes
  from ``Content-Type`` as the HTTP binding says;
- it does not unescape quoted header values and turns invalid percent-encoded UTF-8 into
  U+FFFD: header values are decoded here, strictly, and refused when malformed;
- ``"subject": null`` raises in the SDK: JSON ``null`` means unset here;
- it matches media types case-sensitively: here they are parsed case-insensitively;
- it has no batch API: batches are parsed here, each event through the same checks.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from collector.auth import ProducerGrant
from collector.errors import Problem, Rejected
from collector.tables import KEY_LENGTH, limit_problems
from contracts.events import CATALOG, owns

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
CE_PREFIX = "ce-"

# Attributes that land in indexed columns: bounded so every B-tree key fits.
BOUNDED_ATTRIBUTES = frozenset(
    {
        "id",
        "source",
        "type",
        "subject",
        "datacontenttype",
        "correlationid",
        "causationid",
        "traceparent",
        "sequence",
    }
)
STRING_EXTENSIONS = frozenset({"correlationid", "causationid", "traceparent", "sequence"})
MAX_EXTENSION_NAME = 64
# Attributes whose types the SDK checks itself.
CORE_NAMES = frozenset({"specversion", "id", "source", "type", "time"})
MAX_DEPTH = 64
INT32 = (-(2**31), 2**31 - 1)
# The catalog's free-form (dict[str, Any]) data fields.
FREE_FORM_FIELDS = ("payload", "filter")

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})\s*(;.*)?$", re.DOTALL)
_PARAMETER = re.compile(rf'\s*;\s*({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")\s*', re.DOTALL)
_JSON_SUBTYPE = re.compile(r"^([a-z0-9!#$&^_.-]+\+)?json$")
_XML_SUBTYPE = re.compile(r"^([a-z0-9!#$&^_.-]+\+)?xml$")
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$", re.ASCII)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$", re.ASCII)


@dataclass(frozen=True)
class MediaType:
    """A parsed ``Content-Type``: lower-cased ``type/subtype`` and parameters."""

    essence: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lower-cased."""
        value = self.params.get("charset")
        return value.lower() if value is not None else None

    @property
    def is_json(self) -> bool:
        """``application/json``, ``text/json`` or any ``+json`` type."""
        kind, _, subtype = self.essence.partition("/")
        return kind in ("application", "text") and bool(_JSON_SUBTYPE.match(subtype))

    @property
    def is_text(self) -> bool:
        """A type whose body is characters: ``text/*``, XML, or anything with a charset."""
        kind, _, subtype = self.essence.partition("/")
        return kind == "text" or bool(_XML_SUBTYPE.match(subtype)) or "charset" in self.params


@lru_cache(maxsize=256)
def parse_media_type(value: str) -> MediaType | None:
    """Parse a media type case-insensitively (RFC 9110); ``None`` when malformed."""
    match = _MEDIA_TYPE.match(value)
    if match is None:
        return None
    params: dict[str, str] = {}
    rest = match.group(3) or ""
    position = 0
    while position < len(rest):
        parameter = _PARAMETER.match(rest, position)
        if parameter is None:
            return None
        raw = parameter.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[parameter.group(1).lower()] = raw
        position = parameter.end()
    return MediaType(f"{match.group(1)}/{match.group(2)}".lower(), params)


@dataclass
class _Collector:
    """Gathers problems across a whole request so every one is reported."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, field_name: str | None = None, index: int | None = None) -> None:
        self.problems.append(Problem(message, field_name, index))


def parse_request(
    content_type: str | None,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    grant: ProducerGrant,
) -> list[dict[str, Any]]:
    """Validate one ``POST /events`` request into structured events (all or nothing).

    ``headers`` are the request's ``(lower-case name, value)`` pairs. Raises
    :class:`Rejected`: 400 unparsable, 403 a source not granted, 415 a content type or
    charset not supported, 422 invalid attributes or data.
    """
    media = parse_media_type(content_type) if content_type is not None else None
    if content_type is not None and media is None:
        raise Rejected(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type is not a media type",
            [Problem(f"cannot parse {content_type[:100]!r}", "content-type")],
        )
    if media is not None and media.essence in (STRUCTURED, BATCH):
        _require_utf8(media)
        document = _parse_json(body)
        if media.essence == STRUCTURED:
            if not isinstance(document, dict):
                raise _unparsable("a structured CloudEvent must be a JSON object")
            raw_events: list[Any] = [document]
        else:
            if not isinstance(document, list):
                raise _unparsable("a batch must be a JSON array of CloudEvent objects")
            raw_events = document
        found = _Collector()
        clean = b"\\u0000" not in body
        events = [
            _structured_event(raw, index if media.essence == BATCH else None, found, clean)
            for index, raw in enumerate(raw_events)
        ]
    elif media is not None and media.essence.startswith("application/cloudevents"):
        raise Rejected(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Only the JSON event format is supported",
            [Problem(f"{media.essence} is not supported", "content-type")],
        )
    else:
        found = _Collector()
        events = [_binary_event(content_type, media, headers, body, found)]
    if found.problems:
        raise Rejected(
            422, "INVALID_EVENT", "The request holds invalid CloudEvents", found.problems
        )
    _authorize(events, grant)
    return [event for event in events if event is not None]


def _require_utf8(media: MediaType) -> None:
    if media.charset not in (None, "utf-8", "utf8"):
        raise Rejected(
            415,
            "UNSUPPORTED_CHARSET",
            "JSON event formats must be UTF-8",
            [Problem(f"charset {media.charset} is not supported", "content-type")],
        )


def _unparsable(message: str) -> Rejected:
    return Rejected(400, "UNPARSABLE", "The request body cannot be parsed", [Problem(message)])


def _parse_json(body: bytes) -> Any:
    # orjson is strict: no NaN/Infinity, no lone surrogates, no invalid UTF-8, depth-limited.
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _unparsable(f"not valid JSON: {exc}") from None


def _authorize(events: Sequence[dict[str, Any] | None], grant: ProducerGrant) -> None:
    forbidden = []
    for index, event in enumerate(events):
        if event is None:
            continue
        if not grant.allows_source(event["source"]):
            forbidden.append(
                Problem(
                    f"producer {grant.producer!r} may not post under source "
                    f"{event['source'][:200]!r}",
                    "source",
                    index if len(events) > 1 else None,
                )
            )
    if forbidden:
        raise Rejected(403, "FORBIDDEN_SOURCE", "Source not granted to this producer", forbidden)
    not_owned = []
    for index, event in enumerate(events):
        if event is None or event["type"] not in CATALOG:
            continue
        if not (grant.allows_type(event["type"]) and owns(grant.producer, event["type"])):
            owners = ", ".join(sorted(CATALOG[event["type"]].producers))
            not_owned.append(
                Problem(
                    f"producer {grant.producer!r} may not emit {event['type']!r}: "
                    f"only {owners} may",
                    "type",
                    index if len(events) > 1 else None,
                )
            )
    if not_owned:
        raise Rejected(403, "FORBIDDEN_TYPE", "Event type not granted to this producer", not_owned)
    unknown = []
    for index, event in enumerate(events):
        if event is not None and event["type"] not in CATALOG:
            if not grant.allows_type(event["type"]):
                unknown.append(
                    Problem(
                        f"type {event['type'][:200]!r} is not in the catalog and producer "
                        f"{grant.producer!r} may not post other types",
                        "type",
                        index if len(events) > 1 else None,
                    )
                )
    if unknown:
        raise Rejected(422, "UNKNOWN_TYPE", "Event type not in the catalog", unknown)


def _structured_event(
    raw: Any, index: int | None, found: _Collector, clean: bool
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        found.add("a CloudEvent must be a JSON object", None, index)
        return None
    # JSON null means the attribute is not set (the SDK would raise on "subject": null).
    attributes = {k: v for k, v in raw.items() if v is not None}
    data = attributes.pop("data", None)
    data_base64 = attributes.pop("data_base64", None)
    before = len(found.problems)
    if data is not None and data_base64 is not None:
        found.add("data and data_base64 are mutually exclusive", "data_base64", index)
    if data_base64 is not None:
        data_base64 = _check_base64(data_base64, index, found)
    for name, value in attributes.items():
        kind = type(value)
        if kind is str or kind is bool or name in CORE_NAMES:
            continue
        if kind is int and INT32[0] <= value <= INT32[1]:
            continue
        found.add("an attribute value must be a string, a boolean or a 32-bit integer", name, index)
    event = _common(attributes, data, index, found, clean)
    if event is None or len(found.problems) > before:
        return None
    if data_base64 is not None:
        event["data_base64"] = data_base64
    return event


def _check_base64(value: Any, index: int | None, found: _Collector) -> str | None:
    if not isinstance(value, str) or not _BASE64.match(value) or len(value) % 4:
        found.add("data_base64 must be base64 text", "data_base64", index)
        return None
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        found.add("data_base64 must be base64 text", "data_base64", index)
        return None
    return value


def _binary_event(
    content_type: str | None,
    media: MediaType | None,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    found: _Collector,
) -> dict[str, Any] | None:
    attributes: dict[str, Any] = {}
    for name, value in headers:
        if not name.startswith(CE_PREFIX):
            continue
        attribute = name[len(CE_PREFIX) :]
        if attribute in attributes:
            found.add("the header is repeated", name)
            continue
        try:
            attributes[attribute] = decode_header_value(value)
        except ValueError as exc:
            found.add(str(exc), name)
    for reserved in ("datacontenttype", "data", "data_base64"):
        if reserved in attributes:
            found.add(f"{reserved} is not a header attribute in binary mode", CE_PREFIX + reserved)
            attributes.pop(reserved)
    if content_type is not None:
        attributes["datacontenttype"] = content_type.strip()
    data: Any = None
    data_base64: str | None = None
    if body:
        if media is None or not (media.is_json or media.is_text):
            data_base64 = base64.b64encode(body).decode("ascii")
        elif media.is_json:
            _require_utf8(media)
            data = _parse_json(body)
        else:
            data = _decode_text(body, media)
    before = len(found.problems)
    event = _common(attributes, data, None, found, clean=False)
    if event is None or len(found.problems) > before:
        return None
    if data_base64 is not None:
        event["data_base64"] = data_base64
    return event


def _decode_text(body: bytes, media: MediaType) -> str:
    charset = media.charset or "utf-8"
    try:
        return body.decode(charset)
    except LookupError:
        raise Rejected(
            415,
            "UNSUPPORTED_CHARSET",
            "Unknown charset",
            [Problem(f"charset {charset[:40]} is not supported", "content-type")],
        ) from None
    except UnicodeDecodeError as exc:
        raise _unparsable(f"the body is not valid {charset}: {exc.reason}") from None


def decode_header_value(value: str) -> str:
    """Decode a ``ce-`` header value: quoted-string unescaped, then strict percent-decoding.

    Raises ``ValueError`` for raw non-ASCII or control characters, a malformed ``%``
    escape or percent-encoded bytes that are not UTF-8 (the SDK would insert U+FFFD).
    """
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        inner = value[1:-1]
        if re.search(r'(?<!\\)(?:\\\\)*"', inner) or re.search(r"(?<!\\)(?:\\\\)*\\$", inner):
            raise ValueError("malformed quoted string")
        value = re.sub(r"\\(.)", r"\1", inner)
    if any(not (" " <= ch <= "~") for ch in value):
        raise ValueError("non-ASCII and control characters must be percent-encoded")
    if _BAD_PERCENT.search(value):
        raise ValueError("'%' must start a percent-encoded byte (%XX)")
    raw = bytearray()
    parts = value.split("%")
    raw += parts[0].encode("ascii")
    for part in parts[1:]:
        raw.append(int(part[:2], 16))
        raw += part[2:].encode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("percent-encoded bytes are not valid UTF-8") from None


def _common(
    attributes: dict[str, Any], data: Any, index: int | None, found: _Collector, clean: bool
) -> dict[str, Any] | None:
    """Checks shared by every content mode; the structured event, or ``None``.

    ``clean`` says the strings came from a JSON body without ``\\u0000`` escapes, parsed
    by orjson (which refuses unpaired surrogates): they need no character scan.
    """
    before = len(found.problems)
    for required in ("specversion", "id", "source", "type"):
        if required not in attributes:
            # Checked before the SDK sees the event: it would invent id and specversion.
            found.add("required attribute is missing", required, index)
    if len(found.problems) > before:
        return None
    sdk_attributes = dict(attributes)
    time = attributes.get("time")
    if time is not None:
        parsed = parse_time(time)
        if parsed is None:
            found.add("time must be an RFC 3339 timestamp", "time", index)
            sdk_attributes.pop("time")
        else:
            sdk_attributes["time"] = parsed
    try:
        CloudEvent(sdk_attributes, None)
    except CloudEventValidationError as exc:
        for name, errors in exc.errors.items():
            for error in errors:
                found.add(str(error), name, index)
    _check_attributes(attributes, index, found, clean)
    if data is not None:
        targets = [data]
        event_type = attributes["type"]
        if (
            clean
            and isinstance(event_type, str)
            and event_type in CATALOG
            and isinstance(data, dict)
        ):
            # The models type every other field; only free-form ones can nest deeply.
            targets = [data[name] for name in FREE_FORM_FIELDS if name in data]
        for target in targets:
            for problem in _scan(target, text=not clean):
                found.add(problem, "data", index)
    if len(found.problems) > before:
        return None
    event = dict(attributes)
    if "time" in event:
        event["time"] = sdk_attributes["time"]
    if event["type"] in CATALOG:
        data = _catalog_data(event, data, index, found)
        if len(found.problems) > before:
            return None
    if data is not None:
        event["data"] = data
    return event


def _check_attributes(
    attributes: Mapping[str, Any], index: int | None, found: _Collector, clean: bool
) -> None:
    for name, value in attributes.items():
        if type(value) is str:
            if len(value) > KEY_LENGTH and name in BOUNDED_ATTRIBUTES:
                found.add(f"longer than {KEY_LENGTH} characters", name, index)
            if not clean and not _clean_text(value):
                found.add("contains a NUL character or an unpaired surrogate", name, index)
        elif name in STRING_EXTENSIONS:
            found.add("must be a string", name, index)
        if len(name) > MAX_EXTENSION_NAME:
            found.add(
                f"attribute names are at most {MAX_EXTENSION_NAME} characters",
                name[:MAX_EXTENSION_NAME],
                index,
            )
    source = attributes.get("source")
    if isinstance(source, str) and source and not _is_uri_reference(source):
        found.add("source must be a URI-reference", "source", index)
    dataschema = attributes.get("dataschema")
    if isinstance(dataschema, str) and not (
        _is_uri_reference(dataschema) and _SCHEME.match(dataschema)
    ):
        found.add("dataschema must be an absolute URI", "dataschema", index)
    content_type = attributes.get("datacontenttype")
    if isinstance(content_type, str) and content_type and parse_media_type(content_type) is None:
        found.add("datacontenttype must be a media type", "datacontenttype", index)


def _catalog_data(
    event: dict[str, Any], data: Any, index: int | None, found: _Collector
) -> dict[str, Any] | None:
    entry = CATALOG[event["type"]]
    content_type = event.get("datacontenttype")
    if content_type is not None:
        media = parse_media_type(content_type)
        if media is None or not media.is_json:
            found.add(f"{entry.type} carries JSON data", "datacontenttype", index)
            return None
    if data is None:
        found.add(f"{entry.type} requires data", "data", index)
        return None
    try:
        model = entry.model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            path = ".".join(str(part) for part in ("data", *error["loc"]))
            found.add(error["msg"], path, index)
        return None
    for name, message in limit_problems(data):
        found.add(message, f"data.{name}", index)
    # Stored normalised, so projections and rebuilds read one canonical form.
    return model.model_dump(mode="json", exclude_none=True)


def _is_uri_reference(value: str) -> bool:
    return bool(_URI_CHARS.match(value)) and not _BAD_PERCENT.search(value)


def _clean_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan(data: Any, *, text: bool = True) -> Iterable[str]:
    """Problems a JSON value would cause in storage: NUL, surrogates, depth, non-finite.

    With ``text=False`` strings are not scanned (their characters are known to be clean).
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if text and not _clean_text(value):
                yield "contains a NUL character or an unpaired surrogate"
                return
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                yield f"nested deeper than {MAX_DEPTH} levels"
                return
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                yield f"nested deeper than {MAX_DEPTH} levels"
                return
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, float) and not math.isfinite(value):
            yield "numbers must be finite"
            return


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC ``datetime`` (sub-microseconds dropped)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    day, clock, fraction, offset = match.groups()
    fraction = (fraction or "")[:7]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}{fraction}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):
        return None
