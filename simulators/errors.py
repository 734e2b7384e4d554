"""The simulators' exceptions.

SimulatorError
├── Problem               an HTTP error answered as RFC 9457 problem details
├── ShapeError            an ECO shape that does not fit the world (also a ValueError)
├── EcoNumbersExhausted   the year's live ECO numbers are used up
└── BackfillError         the collector refused the history for good
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulators raise."""
