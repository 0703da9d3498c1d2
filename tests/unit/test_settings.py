"""Settings: defaults, environment variables, clear errors, secrets that never print."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from ioc.settings import BrokerSettings, DatabaseSettings, IngestSettings, Settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("IOC_KAFKA_URL", "IOC_DATABASE_URL", "IOC_API_PORT", "IOC_GRACE_PERIOD_S"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.broker.kafka_url is None  # embedded broker
    assert s.database.database_url is None  # embedded database
    assert s.api.api_port == 8000
    assert s.ingest.grace_period == timedelta(hours=2)
    assert s.kpi.offline_after_s == 60


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KAFKA_URL", "kafka://10.0.0.1:9092,10.0.0.2:9092")
    monkeypatch.setenv("IOC_API_PORT", "9000")
    monkeypatch.setenv("IOC_GRACE_PERIOD_S", "60")
    s = Settings()
    assert s.broker.bootstrap_servers == "10.0.0.1:9092,10.0.0.2:9092"
    assert s.api.api_port == 9000
    assert s.ingest.grace_period == timedelta(minutes=1)


def test_bad_urls_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KAFKA_URL", "127.0.0.1:9092")
    with pytest.raises(ValidationError, match="kafka://"):
        BrokerSettings()
    monkeypatch.setenv("IOC_DATABASE_URL", "mysql://x")
    with pytest.raises(ValidationError, match="postgresql://"):
        DatabaseSettings()
    monkeypatch.setenv("IOC_GRACE_PERIOD_S", "-1")
    with pytest.raises(ValidationError, match="grace_period_s"):
        IngestSettings()


def test_database_password_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_DATABASE_URL", "postgresql://ioc:hunter2@db/ioc")
    s = Settings()
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.database)
    assert s.database_url.endswith("@db/ioc")


def test_with_services_keeps_everything_else() -> None:
    s = Settings().with_services(kafka_url="kafka://127.0.0.1:1", database_url="postgresql://x@/y")
    assert s.broker.bootstrap_servers == "127.0.0.1:1"
    assert s.database_url == "postgresql://x@/y"
    assert s.api == Settings().api
