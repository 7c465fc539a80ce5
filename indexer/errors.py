"""Domain errors of the indexer, raised where the problem is found."""


class IndexerError(Exception):
    """Base class of the indexer's errors."""


class StoreUnavailable(IndexerError):
    """A store (Milvus or Solr) cannot be reached or is overloaded; the call may succeed later."""


class StoreRequestRejected(IndexerError):
    """A store refused a request as invalid; retrying the same request will not help."""


class DimensionMismatch(IndexerError):
    """Vectors do not have the dimension of the collection they are written to or searched in."""


class SchemaOutdated(IndexerError):
    """A store's collection was created by an older version of the schema; it must be re-indexed."""


class IncompleteWrite(IndexerError):
    """A batch reached one store but not the other; retry the whole batch (writes are idempotent)."""


class MetadataFileError(IndexerError):
    """A bulk-load metadata file cannot be read, or one of its rows does not describe a valid catalog item."""


class ImageFolderError(IndexerError):
    """A folder to bulk-load is missing or holds no photos in the expected layout."""
