"""The alert rules file's models (contract/KPIS.md, "Alerts"): receivers, rules, silences.

The field names are the contract's, since operators write these files by hand; each validator
says what was wrong and what is allowed, so `ioc rules check` can tell them (alerts/rules.py
gathers the messages of a whole file, and holds the file's time intervals and the whole set).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alerts.durations import parse_duration
from schemas.alerts import Severity
from schemas.kpis import DEFAULT_WINDOW, WINDOWS, Kind, Kpi
from sources import BY_NAME

Op = Literal["<", "<=", ">", ">=", "==", "!="]
RESERVED_LABELS = ("alertname", "severity")
"""Labels the evaluator sets itself; a rule's `labels` may not override them."""

OPEN_HOURS = "open_hours"
"""The reserved time interval: the opening hours of each by-value's place in the registry."""

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _scalar_to_str(value: object) -> object:
    """YAML turns `tier: 1` into an int; label values are strings, as in Prometheus."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _str_map(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _scalar_to_str(v) for k, v in value.items()}
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
StrMap = Annotated[dict[str, str], BeforeValidator(_str_map)]


def open_hours_offset(name: str) -> timedelta | None:
    """`open_hours` -> 0s; `open_hours+1h` (from an hour after opening) -> 1h; another name -> None."""
    if name != OPEN_HOURS and not name.startswith(OPEN_HOURS + "+"):
        return None
    offset = parse_duration(name.removeprefix(OPEN_HOURS + "+")) if name != OPEN_HOURS else timedelta(0)
    if offset >= timedelta(days=1):
        raise ValueError(f"{name!r}: the time after opening must be shorter than a day")
    return offset


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _check_label_names(labels: Mapping[str, str]) -> None:
    for name in labels:
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            raise ValueError(
                f"invalid label name {name!r}: letters, digits and _, not starting with a digit or __"
            )


def _check_escalation(after: timedelta | None, to: tuple[str, ...]) -> None:
    if (after is None) != (not to):
        raise ValueError(
            "give both 'escalate_after' (a duration) and 'escalate_to' (receiver names), or neither"
        )
    if after is not None and after <= timedelta(0):
        raise ValueError("'escalate_after' must be longer than 0s")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Receiver(_Model):
    """A webhook (`url`) or an existing Alertmanager (`alertmanager_url`)."""

    name: str = Field(min_length=1)
    url: str | None = None
    alertmanager_url: str | None = None
    secret_env: str | None = None
    send_resolved: bool = True
    repeat_interval: Duration = timedelta(hours=4)
    timeout: Duration = timedelta(seconds=10)
    escalate_after: Duration | None = None
    """An alert routed here and not acknowledged this long after it fired goes to `escalate_to`."""
    escalate_to: tuple[str, ...] = ()

    @field_validator("url", "alertmanager_url")
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return _http_url(v)

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError(f"{v!r} is not an environment variable name (the secret itself never goes here)")
        return v

    @field_validator("repeat_interval", "timeout")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return v

    @model_validator(mode="after")
    def _escalation(self) -> Receiver:
        _check_escalation(self.escalate_after, self.escalate_to)
        return self

    @model_validator(mode="after")
    def _one_kind(self) -> Receiver:
        if (self.url is None) == (self.alertmanager_url is None):
            raise ValueError("give exactly one of 'url' (a webhook) and 'alertmanager_url'")
        if self.alertmanager_url is not None:
            webhook_only = {"secret_env", "send_resolved", "repeat_interval"} & self.model_fields_set
            if webhook_only:
                raise ValueError(
                    f"field {sorted(webhook_only)[0]!r} applies to webhook receivers ('url') only;"
                    " an Alertmanager receiver takes 'alertmanager_url' and 'timeout'"
                )
        return self

    @property
    def is_alertmanager(self) -> bool:
        return self.alertmanager_url is not None


class Rule(_Model):
    """One KPI compared with a threshold, per dimension value when `by` is given."""

    name: str = Field(min_length=1)
    kpi: str
    window: str = DEFAULT_WINDOW
    by: str | None = None
    op: Op
    threshold: float = Field(allow_inf_nan=False)
    for_: Duration = Field(default=timedelta(0), alias="for")
    severity: Severity = "warning"
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    receivers: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    """Names of the file's `time_intervals` (or `open_hours`): outside them all, the condition is
    not met. Empty: always active."""
    escalate_after: Duration | None = None
    """A firing alert not acknowledged this long after it fired is sent to `escalate_to` too."""
    escalate_to: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _escalation(self) -> Rule:
        _check_escalation(self.escalate_after, self.escalate_to)
        return self

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, v: str) -> str:
        if v not in BY_NAME:
            raise ValueError(f"unknown KPI {v!r}; allowed: {', '.join(BY_NAME)}")
        return v

    @field_validator("window")
    @classmethod
    def _known_window(cls, v: str, info: ValidationInfo) -> str:
        kpi = BY_NAME.get(info.data.get("kpi", ""))
        if kpi is not None and kpi.kind is Kind.STATE and v == "now":
            return v
        if v not in WINDOWS:
            raise ValueError(f"unknown window {v!r}; allowed: {', '.join(WINDOWS)}")
        return v

    @field_validator("by")
    @classmethod
    def _allowed_breakdown(cls, v: str | None, info: ValidationInfo) -> str | None:
        kpi = BY_NAME.get(info.data.get("kpi", ""))
        if v is None or kpi is None:
            return v
        allowed = [str(d) for d in kpi.breakdowns]
        if v not in allowed:
            if not allowed:
                raise ValueError(f"{kpi.name} has no breakdown; remove 'by'")
            raise ValueError(f"{v!r} is not a breakdown of {kpi.name}; allowed: {', '.join(allowed)}")
        return v

    @field_validator("threshold", mode="before")
    @classmethod
    def _number(cls, v: object) -> object:
        if isinstance(v, bool):  # YAML `yes` is not a threshold
            raise ValueError("must be a number")
        return v

    @field_validator("for_")
    @classmethod
    def _not_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("must be 0s or longer")
        return v

    @field_validator("labels")
    @classmethod
    def _label_names(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _check_label_names(v)
        by = info.data.get("by")
        reserved = [n for n in (*RESERVED_LABELS, by) if n is not None and n in v]
        if reserved:
            raise ValueError(
                f"label {reserved[0]!r} is set by the evaluator (alertname, severity and the 'by'"
                " dimension); choose another name"
            )
        return v

    @field_validator("active_time_intervals")
    @classmethod
    def _open_hours(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        errors = []
        for name in v:
            try:
                reserved = open_hours_offset(name) is not None
            except ValueError:
                errors.append(f"{name!r} is not {OPEN_HOURS} or {OPEN_HOURS}+DURATION shorter than a day")
                continue
            if reserved and info.data.get("by", "") is None:
                errors.append(f"{name!r} needs 'by': the opening hours of each by-value's place")
        if errors:
            raise ValueError(f"{'; '.join(errors)} (e.g. {OPEN_HOURS}+1h: from an hour after opening)")
        return v

    @property
    def kpi_def(self) -> Kpi:
        return BY_NAME[self.kpi]

    @property
    def query_window(self) -> str:
        """The window asked of the KPI source (state KPIs ignore it)."""
        return self.window if self.window in WINDOWS else DEFAULT_WINDOW

    @property
    def display_window(self) -> str:
        """`{{ window }}` in annotations: the window, or `now` for a state KPI."""
        return "now" if self.kpi_def.kind is Kind.STATE else self.window


class Silence(_Model):
    """A maintenance window: matching alerts still show, but notify no one."""

    matchers: StrMap = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    comment: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError("'ends_at' must be after 'starts_at'")
        return self

    def applies(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and all(
            labels.get(k) == v for k, v in self.matchers.items()
        )
