"""sync_engine package."""
