"""Kafka security settings: what each client is given, what is refused, secrets that never print."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr, ValidationError

from ioc.errors import ConfigError
from ioc.kafka import client_options, security_options
from ioc.settings import BrokerSettings, Settings
from streams.app import faust_credentials
from tests.tls_proxy import Pki

URL = "kafka://broker-1.example:9093,broker-2.example:9093"
SASL_PASSWORD = "sasl-pa55-hunter2"  # noqa: S105 - a test value
KEY_PASSWORD = "key-pa55-swordfish"  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"), key_password=KEY_PASSWORD)


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    """A deployment's environment: SASL_SSL with SCRAM, the brokers' CA and a client certificate."""
    for name, value in {
        "IOC_KAFKA_URL": URL,
        "IOC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "IOC_KAFKA_SSL_CAFILE": str(pki.ca),
        "IOC_KAFKA_SSL_CERTFILE": str(pki.client_cert),
        "IOC_KAFKA_SSL_KEYFILE": str(pki.client_key),
        "IOC_KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
        "IOC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "IOC_KAFKA_SASL_USERNAME": "ioc-worker",
        "IOC_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KAFKA_URL", URL)
    options = client_options(BrokerSettings())
    assert options == {
        "bootstrap_servers": "broker-1.example:9093,broker-2.example:9093",
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(options) is None


@pytest.mark.usefixtures("secured")
def test_the_environment_gives_every_client_tls_and_sasl() -> None:
    options = client_options(BrokerSettings())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("ioc-worker", SASL_PASSWORD)
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the configured CA, not the system's


@pytest.mark.usefixtures("secured")
def test_faust_connects_with_the_same_security() -> None:
    """Faust turns its credentials object back into aiokafka arguments: the same as ours."""
    options = security_options(BrokerSettings())
    back = credentials_to_aiokafka_auth(faust_credentials(options))
    assert back == options
    assert SASL_PASSWORD not in repr(faust_credentials(options))


def test_tls_without_sasl(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    monkeypatch.setenv("IOC_KAFKA_URL", URL)
    monkeypatch.setenv("IOC_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("IOC_KAFKA_SSL_CAFILE", str(pki.ca))
    options = security_options(BrokerSettings())
    assert set(options) == {"security_protocol", "ssl_context"}
    assert credentials_to_aiokafka_auth(faust_credentials(options)) == options


@pytest.mark.usefixtures("secured")
def test_secrets_never_print() -> None:
    settings = Settings()
    shown = [repr(settings), str(settings.broker), settings.broker.model_dump_json()]
    for text in shown:
        assert SASL_PASSWORD not in text and KEY_PASSWORD not in text


@pytest.mark.usefixtures("secured")
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("IOC_KAFKA_SASL_MECHANISM", "GSSAPI", "kafka_sasl_mechanism"),
        ("IOC_KAFKA_SECURITY_PROTOCOL", "TLS", "kafka_security_protocol"),
        ("IOC_KAFKA_SASL_USERNAME", "", "needs IOC_KAFKA_SASL_USERNAME and IOC_KAFKA_SASL_PASSWORD"),
        ("IOC_KAFKA_URL", "", "the embedded broker speaks PLAINTEXT only"),
        ("IOC_KAFKA_SSL_CERTFILE", "", "IOC_KAFKA_SSL_KEYFILE is the key of IOC_KAFKA_SSL_CERTFILE"),
    ],
)
def test_refusals_name_the_setting_and_never_the_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)  # an empty variable counts as unset
    with pytest.raises(ValidationError) as info:
        BrokerSettings()
    assert expected in str(info.value)
    assert SASL_PASSWORD not in str(info.value) and KEY_PASSWORD not in str(info.value)


def test_an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """docker-compose passes `${IOC_KAFKA_SSL_CAFILE:-}`: empty must not mean the file '.'."""
    monkeypatch.setenv("IOC_KAFKA_URL", URL)
    monkeypatch.setenv("IOC_KAFKA_SSL_CAFILE", "")
    monkeypatch.setenv("IOC_KAFKA_SASL_PASSWORD", "")
    settings = BrokerSettings()
    assert settings.kafka_ssl_cafile is None and settings.kafka_sasl_password is None


@pytest.mark.usefixtures("secured")
def test_an_encrypted_key_without_its_password_fails_instead_of_prompting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IOC_KAFKA_SSL_KEY_PASSWORD")
    with pytest.raises(ConfigError, match="set IOC_KAFKA_SSL_KEY_PASSWORD"):
        client_options(BrokerSettings())


@pytest.mark.usefixtures("secured")
def test_a_wrong_key_password_or_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    wrong = BrokerSettings().model_copy(update={"kafka_ssl_key_password": SecretStr("not-it")})
    with pytest.raises(ConfigError, match=r"IOC_KAFKA_SSL_\*") as info:
        client_options(wrong)
    assert "not-it" not in str(info.value)
    missing = BrokerSettings().model_copy(update={"kafka_ssl_cafile": tmp_path / "nope.pem"})
    with pytest.raises(ConfigError, match=r"IOC_KAFKA_SSL_CAFILE: no such file: .*nope\.pem"):
        client_options(missing)
