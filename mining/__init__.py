"""New categories from the catalog's vectors: cluster them, score clusters against the known categories."""
