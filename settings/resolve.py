"""`resolve_settings`: the one way every deployable gets its settings.

Precedence, field by field: a command-line option > its `CBIR_<GROUP>_<FIELD>` environment variable > the running
local stack (the ports `cbir stack up` recorded in its run folder: store addresses only) > the default.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from settings.groups import Settings


def local_stack_addresses(run_dir: Path | None) -> dict[str, str]:
    """The store addresses of the local stack running from run_dir (or CBIR_STACK_RUN_DIR); none if no
    `cbir stack up` recorded its ports there."""
    from devstack.settings import stack_settings_of

    stack = stack_settings_of(run_dir)
    if not stack.ports_file.is_file():
        return {}
    return {
        "milvus_uri": stack.milvus_uri(),
        "solr_core_url": stack.solr_core_url(),
        "kafka_bootstrap_servers": stack.kafka_bootstrap(),
    }


def resolve_settings(
    options: Mapping[str, Any] | None = None, run_dir: Path | None = None, local_stack: bool = True
) -> Settings:
    """The settings: options ({group: {field: value}}, None values ignored) over the environment over the local
    stack's addresses (unless local_stack is False: a deployment) over the defaults."""
    settings = Settings()  # each group reads its environment variables
    stack = local_stack_addresses(run_dir) if local_stack else {}
    unset = {name: value for name, value in stack.items() if name not in settings.stores.model_fields_set}
    changes: dict[str, dict[str, Any]] = {"stores": unset}
    for group, fields in (options or {}).items():
        given = {name: value for name, value in fields.items() if value is not None}
        changes[group] = {**changes.get(group, {}), **given}
    return settings.changed(**changes)
