"""Parts of a page that more than one page shows, each with a ``render(...)`` function."""
