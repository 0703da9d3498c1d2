"""Settings of the alert evaluator and its delivery (environment variables `IOC_ALERT_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertSettings(BaseSettings):
    """Where the rules are and how often, how hard and how long delivery tries."""

    model_config = SettingsConfigDict(env_prefix="IOC_", extra="ignore", frozen=True)

    alert_rules: Path = Field(
        default=Path("deploy/alerts/rules.yml"),
        description="The alert rules file (YAML); reloaded when it changes.",
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
