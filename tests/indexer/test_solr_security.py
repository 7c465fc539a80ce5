"""security.json as Solr reads it: the password hash Solr's reference guide gives, and the permissions' order."""

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from indexer.solr_security import ADMIN_USER, password_hash, security_json


def test_the_hash_is_the_one_solr_computes() -> None:
    """The reference guide's example user: solr / SolrRocks."""
    salt = base64.b64decode("Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c=")
    expected = "IV0EHq1OnNrj6gvRCwvFwTrZ1+z1oBbnQdiVC3otuq0= Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c="
    assert password_hash("SolrRocks", salt) == expected


def test_each_hash_has_a_salt_of_its_own() -> None:
    assert password_hash("same") != password_hash("same")


def test_anonymous_requests_reach_the_health_check_only() -> None:
    security = security_json("admin-secret", "cbir", "cbir-secret")
    assert security["authentication"]["class"] == "solr.BasicAuthPlugin"
    assert set(security["authentication"]["credentials"]) == {ADMIN_USER, "cbir"}
    assert "cbir-secret" not in str(security)
    permissions = security["authorization"]["permissions"]
    assert [p for p in permissions if p["role"] is None] == [permissions[0]]
    assert permissions[0] == {"name": "health", "role": None}  # predefined: no path (tests/indexer/test_store_auth.py)
    assert permissions[-1] == {"name": "all", "role": ["admin", "cbir"]}


def test_the_command_writes_security_json_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBIR_STORES_SOLR_USERNAME", "cbir")
    monkeypatch.setenv("CBIR_STORES_SOLR_PASSWORD", "cbir-secret")
    monkeypatch.setenv("SOLR_ADMIN_PASSWORD", "admin-secret")
    out = tmp_path / "security.json"
    result = CliRunner().invoke(app, ["solr-security", str(out)])
    assert result.exit_code == 0, result.output
    credentials = json.loads(out.read_text())["authentication"]["credentials"]
    assert set(credentials) == {ADMIN_USER, "cbir"}
    assert "secret" not in out.read_text() + result.output
