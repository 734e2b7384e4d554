"""Shared plumbing for every Threadline service: settings, database, command line."""

from __future__ import annotations

from threadline.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
__version__ = "0.1.0"
