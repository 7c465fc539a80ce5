"""One router per resource: search, items, facets, health."""
