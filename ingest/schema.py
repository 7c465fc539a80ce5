"""Write the ingest message's JSON Schema file: `python -m ingest.schema` (a test checks that it is current)."""

import json
from pathlib import Path

from ingest.message import message_json_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "ingest-message.v1.schema.json"


def schema_text() -> str:
    """The schema file's exact content."""
    return json.dumps(message_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text())
    print(f"wrote {SCHEMA_FILE}")
