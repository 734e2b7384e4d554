"""Percentiles and durations as the reports define them."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of ``values`` by linear interpolation; ``None`` when empty.

    The same definition as PostgreSQL's ``percentile_cont`` and numpy's default, so a
    figure can be checked against either.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def humanize_seconds(seconds: float | None) -> str:
    """A duration as a person reads it: ``3.2 d``, ``5.0 h``, ``12 min``; ``—`` for none."""
    if seconds is None or math.isnan(seconds):
        return "—"
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} d"
    if seconds >= 3_600:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 60:.0f} min"
