"""Additions to shared pages, one module each with a ``render(...)`` the page calls."""
