"""The search API and the shopper web page: thin glue over `embedder/` (query images) and `indexer/` (stores)."""
