"""The streaming ingest path outside Storm: the message crawlers publish, its publisher, and each stage's work."""
