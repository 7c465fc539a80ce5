"""The stores' credentials: read from CBIR_STORES_*, masked in every dump but the Storm config's, and checked in
pairs."""

import pytest
from pydantic import SecretStr, ValidationError

from settings import Settings, StoreSettings
from topologies.ingest.storm_conf import SETTINGS_CONF_KEY, settings_from_storm_conf, storm_config

SECRETS = {"solr_password": "solr-secret", "milvus_token": "root:milvus-secret", "kafka_sasl_password": "kafka-secret"}


def _stores() -> StoreSettings:
    return StoreSettings(solr_username="cbir", kafka_sasl_username="cbir", **SECRETS)  # type: ignore[arg-type]


def test_credentials_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBIR_STORES_SOLR_USERNAME", "cbir")
    monkeypatch.setenv("CBIR_STORES_SOLR_PASSWORD", "solr-secret")
    monkeypatch.setenv("CBIR_STORES_MILVUS_TOKEN", "root:milvus-secret")
    stores = StoreSettings()
    assert stores.solr_auth() == ("cbir", "solr-secret")
    assert stores.milvus_token_value() == "root:milvus-secret"


def test_no_credentials_means_no_authentication() -> None:
    stores = StoreSettings()
    assert stores.solr_auth() is None
    assert stores.milvus_token_value() == ""


@pytest.mark.parametrize(
    "fields",
    [{"solr_username": "cbir"}, {"solr_password": "p"}, {"kafka_sasl_username": "cbir"}, {"kafka_sasl_password": "p"}],
)
def test_a_user_without_a_password_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="set both"):
        StoreSettings(**fields)  # type: ignore[arg-type]


def test_dumps_and_reprs_mask_the_secrets() -> None:
    stores = _stores()
    for text in (stores.model_dump_json(), Settings(stores=stores).model_dump_json(), repr(stores), str(stores)):
        assert not any(secret in text for secret in SECRETS.values()), text


def test_the_workers_receive_the_real_secrets_through_the_storm_config() -> None:
    settings = Settings(stores=_stores())
    conf = storm_config(settings)
    assert all(secret in conf[SETTINGS_CONF_KEY] for secret in SECRETS.values())
    stores = settings_from_storm_conf(conf).stores
    assert stores == settings.stores
    assert stores.solr_auth() == ("cbir", "solr-secret")
    assert stores.milvus_token == SecretStr("root:milvus-secret")
    assert stores.kafka_sasl_password == SecretStr("kafka-secret")
