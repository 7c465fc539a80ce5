"""The layer that owns the two stores: vectors in Milvus, catalog metadata in Solr, written together."""
