"""The ingest topology: Kafka `images` -> fetch/decode -> embed -> index; bad records -> `images.dlq`."""
