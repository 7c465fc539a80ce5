"""Fixtures shared by the whole suite."""

# The real stack (Kafka, Solr, Milvus), started once per session for the integration tests.
pytest_plugins = ["tests.integration_fixtures"]
