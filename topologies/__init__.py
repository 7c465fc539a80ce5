"""Storm topologies (streamparse): thin glue between Kafka, `embedder/` and `indexer/`."""
