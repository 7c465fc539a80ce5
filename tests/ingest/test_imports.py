"""The crawler-side modules stay light: publishing and fetching must not pull in torch."""

import subprocess
import sys


def test_publisher_message_and_fetch_do_not_import_torch() -> None:
    code = "import sys, ingest.publisher, ingest.message, ingest.fetch; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
