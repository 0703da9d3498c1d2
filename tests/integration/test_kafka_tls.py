"""Kafka security end to end: the worker, the API's readiness probe, the simulator and `ioc
replay` reach a broker that speaks TLS only and requires a client certificate, using the
IOC_KAFKA_* settings.

The embedded broker has no TLS listener (tests/tls_proxy.py says why), so a TLS proxy of the
test's own stands in front of it and records which clients came through, with which client
certificate. SASL cannot be checked end to end here: see test_sasl_secrets_stay_out_of_logs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.probes import BrokerProbe
from ioc.kafka import client_options
from ioc.settings import BrokerSettings
from tests.services import base_env, running_api, running_worker, sample, scrape, wait_until
from tests.tls_proxy import Pki, TlsProxy, tls_broker

pytestmark = pytest.mark.integration

TELEMETRY = "ioc.vc.telemetry"
KEY_PASSWORD = "k3y-pa55-for-the-test"  # noqa: S105 - a throwaway key made by this test
SASL_PASSWORD = "sasl-pa55-never-logged"  # noqa: S105 - never reaches a real broker


def tls_env(pki: Pki, proxy: TlsProxy) -> dict[str, str]:
    return {
        "IOC_KAFKA_URL": f"kafka://127.0.0.1:{proxy.port}",
        "IOC_KAFKA_SECURITY_PROTOCOL": "SSL",
        "IOC_KAFKA_SSL_CAFILE": str(pki.ca),
        "IOC_KAFKA_SSL_CERTFILE": str(pki.client_cert),
        "IOC_KAFKA_SSL_KEYFILE": str(pki.client_key),
        "IOC_KAFKA_SSL_KEY_PASSWORD": pki.key_password,
    }


def accepted_and_rejected(metrics: str) -> bool:
    s = scrape(metrics)
    rejected = sum(v for (name, labels), v in s.items() if name == "ioc_events_rejected_total")
    return sample(s, "ioc_events_accepted_total", topic=TELEMETRY) > 0 and rejected > 0


def dead_letters_seen(command: list[str], env: dict[str, str]) -> int:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    found = re.search(r"replay: (\d+) dead letters", done.stderr)
    assert found is not None, done.stderr
    return int(found.group(1))


async def test_every_client_reaches_a_tls_only_broker(tmp_path: Path, database_url: str) -> None:
    pki = Pki.create(tmp_path / "pki", key_password=KEY_PASSWORD)
    with tls_broker(pki) as (_broker, proxy):
        env = base_env(IOC_DATABASE_URL=database_url, **tls_env(pki, proxy))
        with running_worker(env) as (_worker, metrics), running_api(env) as (_api, api):
            ready = httpx.get(api + "/readyz").json()
            assert ready["broker"] == "ok", ready
            simulate = [sys.executable, "-m", "cli", "simulate", "--duration", "2m", "--compress", "max"]
            simulate += ["--topic", TELEMETRY, "--seed", "7", "--faults", "malformed=0.05", "--quiet"]
            done = await asyncio.to_thread(subprocess.run, simulate, env=env, timeout=120, check=False)
            assert done.returncode == 0
            wait_until(
                lambda: accepted_and_rejected(metrics),
                timeout=60,
                what="the worker to consume the simulator's records over TLS",
            )
        replay = [sys.executable, "-m", "cli", "replay", "--dry-run"]
        wait_until(
            lambda: dead_letters_seen(replay, env) > 0,
            timeout=60,
            interval=1,
            what="`ioc replay` to read the worker's dead letters over TLS",
        )
    assert proxy.seen.failures == []
    assert {cn for cn, _client in proxy.seen.connections} == {"ioc-pipeline"}  # the client certificate
    ours = {"ioc-ingest", "ioc-deadletter", "ioc-api-probe", "ioc-simulator"}
    assert ours <= proxy.seen.client_ids, proxy.seen.client_ids
    assert any(c.startswith("faust") for c in proxy.seen.client_ids), proxy.seen.client_ids


def probe_settings(**settings: object) -> BrokerSettings:
    return BrokerSettings(kafka_security_protocol="SSL", **settings)  # type: ignore[arg-type]


async def test_the_client_checks_the_broker_against_the_configured_ca(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pki = Pki.create(tmp_path / "pki")
    other = Pki.create(tmp_path / "other")  # a CA the broker's certificate does not chain to
    with tls_broker(pki) as (_broker, proxy):
        url = f"kafka://127.0.0.1:{proxy.port}"
        cert = {"kafka_ssl_certfile": pki.client_cert, "kafka_ssl_keyfile": pki.client_key}
        wrong_ca = BrokerProbe(
            client_options(probe_settings(kafka_url=url, kafka_ssl_cafile=other.ca, **cert))
        )
        with caplog.at_level(logging.ERROR, logger="aiokafka"):
            assert await wrong_ca.check(timeout=5) is not None
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text  # aiokafka's log says why; the probe's not
        assert proxy.seen.connections == []  # the client hung up during the handshake
        wait_until(lambda: proxy.seen.failures, timeout=5, what="the proxy to see the hang-up")
        refused = len(proxy.seen.failures)
        right = BrokerProbe(client_options(probe_settings(kafka_url=url, kafka_ssl_cafile=pki.ca, **cert)))
        assert await right.check(timeout=5) is None
        await right.close()
        assert proxy.seen.connections and len(proxy.seen.failures) == refused
        no_cert = BrokerProbe(client_options(probe_settings(kafka_url=url, kafka_ssl_cafile=pki.ca)))
        assert await no_cert.check(timeout=5) is not None  # the broker requires a client certificate
        wait_until(
            lambda: any("CERTIFICATE" in f.upper() for f in proxy.seen.failures[refused:]),
            timeout=5,
            what="the proxy to refuse a client without a certificate",
        )


async def test_sasl_secrets_stay_out_of_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SASL_SSL through the proxy to a broker that offers no SASL (Tansu without
    --authentication): the connection fails, and neither aiokafka's logs at DEBUG nor the
    probe's answer show the password."""
    pki = Pki.create(tmp_path / "pki")
    with tls_broker(pki) as (_broker, proxy):
        settings = BrokerSettings(
            kafka_url=f"kafka://127.0.0.1:{proxy.port}",
            kafka_security_protocol="SASL_SSL",
            kafka_ssl_cafile=pki.ca,
            kafka_ssl_certfile=pki.client_cert,
            kafka_ssl_keyfile=pki.client_key,
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="ioc",
            kafka_sasl_password=SASL_PASSWORD,  # type: ignore[arg-type]
        )
        probe = BrokerProbe(client_options(settings))
        with caplog.at_level(logging.DEBUG):
            problem = await probe.check(timeout=5)
    assert problem is not None and SASL_PASSWORD not in problem
    assert proxy.seen.connections  # the SASL handshake was attempted over TLS
    assert caplog.records and SASL_PASSWORD not in caplog.text
    assert SASL_PASSWORD not in repr(settings)
