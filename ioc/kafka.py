"""Kafka client options, built once: every client the product makes takes them from here.

The worker's consumer and dead-letter producer, its Faust app, the API's readiness probe, the
simulator and `ioc replay` all pass `client_options(settings.broker)` to aiokafka, so a broker
that requires TLS or SASL (IOC_KAFKA_SECURITY_PROTOCOL and the IOC_KAFKA_SSL_* / SASL_* settings)
is reached the same way by all of them.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from ioc.errors import ConfigError
from ioc.settings import BrokerSettings

_TLS = frozenset({"SSL", "SASL_SSL"})
_SASL = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


def client_options(broker: BrokerSettings) -> dict[str, Any]:
    """aiokafka keyword arguments: the bootstrap servers and the security they need."""
    return {"bootstrap_servers": broker.bootstrap_servers, **security_options(broker)}


def security_options(broker: BrokerSettings) -> dict[str, Any]:
    """aiokafka's security keyword arguments alone, for clients given their servers elsewhere.

    aiokafka wants the SASL password as plain text, so it is in the result: never log the
    result itself (the settings' repr and errors never show it).
    """
    protocol = broker.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in _TLS:
        options["ssl_context"] = tls_context(broker)
    if protocol in _SASL:
        password = broker.kafka_sasl_password
        options["sasl_mechanism"] = broker.kafka_sasl_mechanism
        options["sasl_plain_username"] = broker.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value() if password is not None else None
    return options


def security_for(bootstrap: str) -> dict[str, Any]:
    """`security_options` for servers named on a command line (`--bootstrap`), the other
    IOC_KAFKA_* settings coming from the environment; ValueError if they do not validate."""
    url = bootstrap if bootstrap.startswith("kafka://") else f"kafka://{bootstrap}"
    return security_options(BrokerSettings(kafka_url=url))


def tls_context(broker: BrokerSettings) -> ssl.SSLContext:
    """A client TLS context: the brokers' CA (or the system's), the client certificate if any.

    aiokafka's helper always checks the broker's host name against its certificate.
    """
    from aiokafka.helpers import create_ssl_context

    files = {
        "IOC_KAFKA_SSL_CAFILE": broker.kafka_ssl_cafile,
        "IOC_KAFKA_SSL_CERTFILE": broker.kafka_ssl_certfile,
        "IOC_KAFKA_SSL_KEYFILE": broker.kafka_ssl_keyfile,
    }
    for name, path in files.items():
        if path is not None and not path.is_file():  # OpenSSL's own error names no file
            raise ConfigError(f"{name}: no such file: {path}")
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=broker.kafka_ssl_cafile,
            certfile=broker.kafka_ssl_certfile,
            keyfile=broker.kafka_ssl_keyfile,
            password=_key_password(broker),
        )
    except OSError as exc:  # ssl.SSLError too: a file missing, not PEM, or a wrong key password
        raise ConfigError(f"Kafka TLS files (IOC_KAFKA_SSL_*) cannot be used: {exc}") from None
    return context


def _key_password(broker: BrokerSettings) -> Callable[[], str]:
    """Called by OpenSSL only for an encrypted key. Without it, OpenSSL would prompt on the
    terminal and a worker under systemd would hang at start instead of failing."""
    secret = broker.kafka_ssl_key_password

    def password() -> str:
        if secret is None:
            raise ConfigError("IOC_KAFKA_SSL_KEYFILE is encrypted: set IOC_KAFKA_SSL_KEY_PASSWORD")
        return secret.get_secret_value()

    return password
