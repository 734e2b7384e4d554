"""Parts of pages that several pages share or that stand apart from a page's own list:
each module offers ``render...`` functions a page calls in one line."""
