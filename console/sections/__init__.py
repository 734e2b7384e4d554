"""Parts of console pages that live in modules of their own, each with ``render(...)``."""
