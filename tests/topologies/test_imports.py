"""The fetch bolt reads the model's pixels from the checkpoint's config (read_config), without torch."""

from tests.ingest.test_imports import imports_torch


def test_the_fetch_bolt_does_not_import_torch() -> None:
    assert not imports_torch("topologies.ingest.fetch_bolt")
