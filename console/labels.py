"""Every console table through one door: human column labels with units, dates in the
viewer's time zone and the key column pinned.

Pages call :func:`table` instead of ``st.dataframe``. A page's own ``column_config`` wins
for the columns it names; every other column gets its label (and unit) from
:data:`LABELS`, or from its name read as words (``days_late`` → "Days late"), so no raw
``snake_case`` name reaches the screen, nor a raw state in a status column
(``production_ready`` → "production ready"). Datetime columns show the browser's time zone
(``st.context.timezone``) and say so, with its offset from UTC, in the header's tooltip.
The first column shown is pinned, so the ECO, step or supplier stays in view when a wide
table scrolls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import StepState

# Labels for names that do not read well as words, with their units.
LABELS: dict[str, str] = {
    "eco": "ECO",
    "eco_number": "ECO",
    "step_id": "Step",
    "step_ids": "Steps",
    "steps_done": "Steps done",
    "steps_total": "Steps",
    "plant_id": "Plant",
    "plant": "Plant",
    "supplier_id": "Supplier",
    "error_message": "Error",
    "error_class": "Error class",
    "error_code": "Error code",
    "erp": "ERP",
    "mes": "MES",
    "po": "PO",
    "po_number": "PO",
    "sla_due_at": "SLA due",
    "p50": "p50",
    "p90": "p90",
    "operation_id": "Operation",
    "url": "URL",
    "id": "ID",
}

# Name endings that carry a unit: the ending is dropped and the unit shown.
UNITS: tuple[tuple[str, str], ...] = (
    ("_hours", "h"),
    ("_h", "h"),
    ("_seconds", "s"),
    ("_s", "s"),
    ("_ms", "ms"),
    ("_days", "days"),
    ("_pct", "%"),
)

# Columns that hold a status, and the states they may hold, as words.
STATUS_COLUMNS = frozenset(
    {"state", "status", "eco_state", "plant_state", "from_state", "to_state"}
)
_STATUS_WORDS: dict[str, str] = {
    member.value: member.value.replace("_", " ")
    for states in (EcoState, PlantState, NoticeStatus, StepState)
    for member in states
}

_PERCENTILE = re.compile(r"p\d+")
_WORDS = {"eco": "ECO", "erp": "ERP", "mes": "MES", "plm": "PLM", "po": "PO", "sla": "SLA"}


def label(name: object) -> str:
    """The header a column called ``name`` shows."""
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    unit = ""
    for ending, symbol in UNITS:
        if text.endswith(ending) and len(text) > len(ending):
            text, unit = text[: -len(ending)], f" ({symbol})"
            break
    if text.endswith("_count") and len(text) > len("_count"):
        text = text[: -len("_count")]
    words = [_WORDS.get(word, word) for word in text.replace("-", "_").split("_") if word]
    if not words:
        return str(name)
    first = (
        words[0] if words[0].isupper() or _PERCENTILE.fullmatch(words[0]) else words[0].capitalize()
    )
    return " ".join([first, *words[1:]]) + unit


def status_words(value: object) -> object:
    """A known state as words (``in_progress`` → "in progress"); anything else as it is."""
    return _STATUS_WORDS.get(value, value) if isinstance(value, str) else value


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    shown = [name for name in frame.columns if name in STATUS_COLUMNS]
    if not shown:
        return frame
    frame = frame.copy()
    for name in shown:
        frame[name] = frame[name].map(status_words)
    return frame


def viewer_zone() -> str | None:
    """The browser's IANA time zone, or None when it has not told the server (tests)."""
    try:
        zone = st.context.timezone
    except Exception:
        return None
    return zone or None


def _zone_help(zone: str | None) -> str:
    if zone is None:
        return "Times in UTC."
    offset = pd.Timestamp.now(tz=zone).strftime("%z")
    return f"Times in your time zone, {zone} (UTC{offset[:3]}:{offset[3:]})."


def configure(
    data: pd.DataFrame,
    given: Mapping[str, Any] | None = None,
    *,
    shown: Iterable[str] | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """``given`` completed for every column of ``data``: labels, time zone, pinned key."""
    config: dict[str, Any] = {}
    for name in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[name]):
            config[str(name)] = st.column_config.DatetimeColumn(
                label(name), format="YYYY-MM-DD HH:mm"
            )
        elif str(name).endswith("value") and pd.api.types.is_numeric_dtype(data[name]):
            # Money: thousands separated, two decimals (1,234.00).
            config[str(name)] = st.column_config.NumberColumn(label(name), format="accounting")
        else:
            config[str(name)] = st.column_config.Column(label(name))
    for name, value in (given or {}).items():
        if isinstance(value, str):
            value = st.column_config.Column(value)
        config[name] = dict(value) if isinstance(value, dict) else value
    for name, value in config.items():
        if not isinstance(value, dict):
            continue
        if value.get("label") is None:
            value["label"] = label(name)
        kind = value.get("type_config", {})
        if kind.get("type") == "datetime":
            kind = {**kind, "timezone": kind.get("timezone") or zone}
            value["type_config"] = kind
            value["help"] = value.get("help") or _zone_help(zone)
    order = [str(name) for name in (shown if shown is not None else data.columns)]
    if order and isinstance(config.get(order[0]), dict) and config[order[0]].get("pinned") is None:
        config[order[0]]["pinned"] = True
    return config


def table(data: Any, *, column_config: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """``st.dataframe`` with every column labelled, dated in the viewer's zone, key pinned,
    and known states in status columns read as words."""
    frame = _readable(data if isinstance(data, pd.DataFrame) else pd.DataFrame(data))
    options.setdefault("hide_index", True)
    config = configure(frame, column_config, shown=options.get("column_order"), zone=viewer_zone())
    return st.dataframe(frame, column_config=config, **options)
