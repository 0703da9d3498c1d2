"""Settings, one object per concern, read once at the entry point and passed inward.

Every setting has a default and an `IOC_` environment variable; the README lists them all.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc.access import Principal, parse_tokens
from ioc.freshness import ALWAYS, DEFAULT_OFFICE_HOURS, parse_expectation, parse_hours

_CONFIG = SettingsConfigDict(env_prefix="IOC_", extra="ignore", frozen=True)
# The default alert rules, package data of the kernel beside the default registry.
SHIPPED_ALERT_RULES = "alert_rules.yml"


class BrokerSettings(BaseSettings):
    """Where the Kafka-protocol broker is, how to authenticate to it, how topics are laid out.

    ioc/kafka.py turns these into the options of every Kafka client the product makes.
    """

    # Secrets never echo in errors; an empty variable (compose's `${X:-}`) counts as unset.
    model_config = SettingsConfigDict(**_CONFIG, hide_input_in_errors=True, env_ignore_empty=True)

    kafka_url: str | None = Field(
        default=None,
        description="Broker URL, e.g. kafka://127.0.0.1:9092 (comma-separated hosts allowed). "
        "Unset: the embedded broker is started.",
    )
    partitions: int = Field(default=4, ge=1, description="Partitions of each topic created.")
    replication_factor: int = Field(default=1, ge=1)
    embedded_broker_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the embedded broker; 0 picks a free one."
    )
    consumer_group: str = Field(default="ioc-worker")
    session_timeout_s: float = Field(default=10.0, gt=0)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA (PEM) of the brokers; unset: system")
    kafka_ssl_certfile: Path | None = Field(default=None, description="Client certificate (PEM), for mTLS")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="Its key; unset: in the cert file")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None

    @field_validator("kafka_url")
    @classmethod
    def _kafka_scheme(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("kafka://"):
            raise ValueError("IOC_KAFKA_URL must look like kafka://host:port[,host:port]")
        return v

    @model_validator(mode="after")
    def _security(self) -> BrokerSettings:
        """Refuse at start what would only fail at the first connection, less clearly."""
        protocol = self.kafka_security_protocol
        if protocol != "PLAINTEXT" and self.kafka_url is None:
            raise ValueError(f"{protocol} needs IOC_KAFKA_URL: the embedded broker speaks PLAINTEXT only")
        if protocol.startswith("SASL_") and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"{protocol} needs IOC_KAFKA_SASL_USERNAME and IOC_KAFKA_SASL_PASSWORD")
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise ValueError("IOC_KAFKA_SSL_KEYFILE is the key of IOC_KAFKA_SSL_CERTFILE: set both")
        return self

    @property
    def bootstrap_servers(self) -> str:
        """The `host:port,...` form aiokafka wants."""
        if self.kafka_url is None:
            raise RuntimeError("no broker URL: start the embedded broker first")
        return self.kafka_url.removeprefix("kafka://")


class DatabaseSettings(BaseSettings):
    """PostgreSQL (or TimescaleDB) connection and pool."""

    # A refused IOC_DATABASE_URL must not be echoed: it may hold a password.
    model_config = SettingsConfigDict(**_CONFIG, hide_input_in_errors=True)

    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql:// URL. Unset: the embedded PostgreSQL server is started.",
    )
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=8, ge=1)
    db_timescale: Literal["auto", "on", "off"] = Field(
        default="auto", description="Use TimescaleDB features: auto detects the extension."
    )

    @field_validator("database_url")
    @classmethod
    def _pg_scheme(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("IOC_DATABASE_URL must be a postgresql:// URL")
        return v


class IngestSettings(BaseSettings):
    """What the worker accepts and how it batches."""

    model_config = _CONFIG

    grace_period_s: float = Field(
        default=2 * 3600, gt=0, description="Events older than this behind the partition's newest are late."
    )
    future_tolerance_s: float = Field(default=300, ge=0)
    batch_max_records: int = Field(default=20_000, ge=1)
    batch_max_wait_ms: int = Field(default=200, ge=1)
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)

    @property
    def grace_period(self) -> timedelta:
        return timedelta(seconds=self.grace_period_s)

    @property
    def future_tolerance(self) -> timedelta:
        return timedelta(seconds=self.future_tolerance_s)


class KpiSettings(BaseSettings):
    """Definitions the KPIs depend on."""

    model_config = _CONFIG

    offline_after_s: float = Field(default=60, gt=0)
    meeting_max_duration_s: float = Field(default=12 * 3600, gt=0)
    timezone: str = Field(default="Asia/Ho_Chi_Minh")
    registry_file: Path | None = Field(
        default=None, description="Site, agency and service registry (JSON); unset: the shipped province."
    )
    dimension_retention_days: float = Field(default=90, gt=0)
    minute_retention_days: float = Field(
        default=35, gt=0, description="Minute buckets kept; hourly rollups are kept 10x longer."
    )
    office_hours: str = Field(
        default=DEFAULT_OFFICE_HOURS,
        description="Local hours (IOC_TIMEZONE) of the source topics expected in office hours, e.g. "
        "'monday:saturday 07:00-17:30'.",
    )
    source_freshness: str = Field(
        default="",
        description='JSON {topic: "<every> <when>"} overriding a source\'s declared freshness, e.g. '
        '{"ioc.eoffice.documents": "30m monday:friday 07:30-17:00"}; <when> is always, office or hours. '
        "Empty: each source's own.",
    )

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        parse_hours(v)  # refused at start, with what is wrong, not at the first snapshot
        return v

    @field_validator("source_freshness")
    @classmethod
    def _freshness(cls, v: str) -> str:
        for topic, text in _overrides(v).items():
            try:
                parse_expectation(text, office=ALWAYS)
            except ValueError as exc:
                raise ValueError(f"{topic}: {exc}") from None
        return v

    @property
    def freshness_overrides(self) -> dict[str, str]:
        """IOC_SOURCE_FRESHNESS read: topic -> expectation."""
        return _overrides(self.source_freshness)

    @property
    def offline_after(self) -> timedelta:
        return timedelta(seconds=self.offline_after_s)

    @property
    def meeting_max_duration(self) -> timedelta:
        return timedelta(seconds=self.meeting_max_duration_s)


def _overrides(text: str) -> dict[str, str]:
    """A JSON object of strings, or nothing when `text` is blank."""
    if not text.strip():
        return {}
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise ValueError('must be a JSON object of strings, e.g. {"ioc.eoffice.documents": "30m office"}')
    return found


DEFAULT_KPI_TARGETS: dict[str, float] = {
    "vc.availability_pct": 99.0,
    "eoffice.on_time_pct": 95.0,
    "portal.on_time_pct": 95.0,
    "portal.level4_pct": 80.0,
    "portal.cashless_pct": 50.0,
    "market.active_pct": 50.0,
}
"""The province's targets the wall compares its headline figures with (IOC_KPI_TARGETS)."""


def parse_targets(text: str) -> dict[str, float]:
    """IOC_KPI_TARGETS: a JSON object {kpi name: number}; blank keeps the defaults, `{}` sets
    none. Whether each name is a KPI is checked where the catalogue is known (the API's start)."""
    if not text.strip():
        return dict(DEFAULT_KPI_TARGETS)
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"IOC_KPI_TARGETS is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise ValueError('IOC_KPI_TARGETS must be a JSON object, e.g. {"portal.on_time_pct": 95}')
    out: dict[str, float] = {}
    for name, value in found.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"IOC_KPI_TARGETS: the target of {name!r} must be a number, not {value!r}")
        out[name] = float(value)
    return out


class ApiSettings(BaseSettings):
    """The HTTP API and wall page."""

    model_config = _CONFIG

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000, ge=0, le=65535)


class ApiExtraSettings(BaseSettings):
    """What the API serves beyond the raw KPIs."""

    model_config = _CONFIG

    thresholds_file: Path | None = Field(
        default=None, description="JSON {kpi: [warn, bad]} overriding the wall's traffic-light thresholds."
    )
    metrics_windows: str = Field(
        default="5m,1h,24h", description="Windows exported as Prometheus KPI gauges (comma-separated)."
    )
    metrics_refresh_s: float = Field(default=15, gt=0, description="How often the KPI gauges are recomputed.")
    snapshot_interval_s: float = Field(default=1, gt=0, description="Snapshot and live-push period.")
    stale_after_s: float = Field(
        default=300,
        gt=0,
        description="Fallback only: a source topic that declares no freshness is stale after this "
        "long without an event, around the clock.",
    )
    kpi_targets: str = Field(
        default="",
        description='The province\'s targets, JSON {kpi: number}, e.g. {"portal.on_time_pct": 95}; '
        "empty: the defaults (DEFAULT_KPI_TARGETS), `{}`: none. The wall shows each headline figure "
        "against its target.",
    )

    @field_validator("kpi_targets")
    @classmethod
    def _targets(cls, v: str) -> str:
        parse_targets(v)  # fail at start with what is wrong
        return v

    @property
    def targets(self) -> dict[str, float]:
        return parse_targets(self.kpi_targets)


class AlertSettings(BaseSettings):
    """The alert evaluator and its delivery: where the rules are and how often, how hard and how
    long delivery tries (`IOC_ALERT_*`)."""

    model_config = _CONFIG

    alert_rules: Path | None = Field(
        default=None,
        description="The alert rules file (YAML); reloaded when it changes. Unset: the rules shipped "
        "in the package (a copy of deploy/alerts/rules.yml), found wherever the process runs.",
    )
    alert_eval_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between two evaluations of every rule."
    )
    alert_external_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL of the API as on-call staff reach it: `externalURL` and `generatorURL`.",
    )
    alert_am_resend_s: float = Field(
        default=30.0,
        gt=0,
        le=60,
        description="Seconds between re-posts of firing alerts to an Alertmanager (at most a minute).",
    )
    alert_retry_initial_s: float = Field(
        default=1.0, gt=0, description="First retry delay of a failed delivery; doubles each time."
    )
    alert_retry_max_s: float = Field(default=60.0, gt=0, description="Longest delay between two retries.")
    alert_outbox_max_age_s: float = Field(
        default=86_400.0,
        gt=0,
        description="A notification not delivered within this many seconds is dropped (outcome `expired`).",
    )
    alert_history_retention_days: float = Field(
        default=90.0, gt=0, description="Days of alert state changes and delivered notifications kept."
    )

    @property
    def rules_file(self) -> Path:
        """The file to evaluate: IOC_ALERT_RULES when set, else the shipped default rules."""
        if self.alert_rules is not None:
            return self.alert_rules
        # An installed package is a plain directory: the data file has a real path to watch.
        return Path(str(resources.files("ioc").joinpath("data", SHIPPED_ALERT_RULES)))


class AuthSettings(BaseSettings):
    """The API's access control and request limits (contract/KPIS.md, "Access")."""

    # hide_input_in_errors: a refused IOC_API_TOKENS must not print the tokens it holds
    model_config = SettingsConfigDict(**_CONFIG, hide_input_in_errors=True)

    api_tokens: SecretStr = Field(
        default=SecretStr(""),
        description='API tokens: a JSON object {"<token or sha256:hex>": {"name", "role", "scope"}}; '
        "role `viewer`, `operator` or `admin`; scope `all`, `district:CODE`, `commune:CODE` or "
        '`agency:CODE`. The older `token:scope,...` and {"token": "scope"} still work. Empty: '
        "no token is needed anywhere.",
    )
    api_tokens_file: Path | None = Field(
        default=None, description="A file holding the same JSON as IOC_API_TOKENS (used when that is empty)."
    )
    metrics_require_token: bool = Field(
        default=True,
        description="With tokens configured, /metrics needs an `admin` token of scope `all` "
        "(its labels reveal every district's numbers).",
    )
    cors_origins: str = Field(
        default="", description="Origins allowed to call the API from a browser (comma list); empty: no CORS."
    )
    api_max_query_bytes: int = Field(default=4096, ge=256, description="Longest query string accepted.")
    api_max_body_bytes: int = Field(default=16384, ge=0, description="Largest request body accepted.")

    @model_validator(mode="after")
    def _parse(self) -> AuthSettings:
        parse_tokens(self.tokens_text)  # fail at start, naming the entry but never the token
        return self

    @property
    def tokens_text(self) -> str:
        """The configured tokens: IOC_API_TOKENS, else the file IOC_API_TOKENS_FILE names."""
        text = self.api_tokens.get_secret_value()
        if not text.strip() and self.api_tokens_file is not None:
            try:
                return self.api_tokens_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"IOC_API_TOKENS_FILE cannot be read: {exc.strerror}") from None
        return text

    @property
    def tokens(self) -> dict[bytes, Principal]:
        return parse_tokens(self.tokens_text)

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


class RuntimeSettings(BaseSettings):
    """Process-wide things: where data lives, how loud the logs are."""

    model_config = _CONFIG

    data_dir: Path = Field(default=Path(".ioc-data"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING")
    log_format: Literal["json", "text"] = Field(default="text")


@dataclass(frozen=True)
class Settings:
    """All settings, grouped by concern."""

    broker: BrokerSettings = field(default_factory=BrokerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    kpi: KpiSettings = field(default_factory=KpiSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    serve: ApiExtraSettings = field(default_factory=ApiExtraSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def with_services(self, *, kafka_url: str | None, database_url: str | None) -> Settings:
        """A copy pointing at concrete services (used once the embedded ones are up)."""
        broker = self.broker.model_copy(update={"kafka_url": kafka_url or self.broker.kafka_url})
        db_url = SecretStr(database_url) if database_url else self.database.database_url
        database = self.database.model_copy(update={"database_url": db_url})
        return replace(self, broker=broker, database=database)

    @property
    def database_url(self) -> str:
        if self.database.database_url is None:
            raise RuntimeError("no database URL: start the embedded database first")
        return self.database.database_url.get_secret_value()
