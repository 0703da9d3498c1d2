"""The alert rules file (contract/KPIS.md, "Alerts"): its models, validation and loading.

Operators write this file by hand and check it with `ioc rules check FILE`, so every error
names the rule (or receiver, or silence) and the field, says what was wrong and what is
allowed, and all errors of a file are reported at once rather than the first only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.kpis import BY_NAME, DEFAULT_WINDOW, WINDOWS, Kind, Kpi
from streams.alerts.durations import parse_duration
from streams.alerts.template import template_errors

Op = Literal["<", "<=", ">", ">=", "==", "!="]
Severity = Literal["info", "warning", "critical"]
RESERVED_LABELS = ("alertname", "severity")
"""Labels the evaluator sets itself; a rule's `labels` may not override them."""

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RulesError(ValueError):
    """A rules file that cannot be used; `errors` holds one readable line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s):\n" + "\n".join(f"  {e}" for e in errors))


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


class RuleSet(_Model):
    """A whole, valid rules file."""

    receivers: tuple[Receiver, ...] = ()
    rules: tuple[Rule, ...] = ()
    silences: tuple[Silence, ...] = ()

    @property
    def receiver_by_name(self) -> dict[str, Receiver]:
        return {r.name: r for r in self.receivers}

    @property
    def rule_by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}

    def silenced(self, labels: Mapping[str, str], now: datetime) -> bool:
        return any(s.applies(labels, now) for s in self.silences)


# -- loading ---------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last one)."""


def _no_duplicate_keys(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)

_TOP: dict[str, type[BaseModel]] = {"receivers": Receiver, "rules": Rule, "silences": Silence}
_KIND = {"receivers": "receiver", "rules": "rule", "silences": "silence"}


def _field_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """Pydantic's errors as `field 'x': what was wrong`."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = [f.alias or n for n, f in model.model_fields.items()]
            msg = f"unknown field; allowed: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "required"
        elif err["type"] == "literal_error":
            msg = f"{err['input']!r} is not allowed; allowed: {err.get('ctx', {}).get('expected', '')}"
        elif err["type"] == "timezone_aware":
            msg = "needs a UTC offset, e.g. 2025-06-01T22:00:00+07:00"
        out.append(f"field {loc!r}: {msg}" if loc else msg)
    return out


def _label(section: str, index: int, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    if section != "silences" and isinstance(name, str) and name:
        return f"{_KIND[section]} {name!r}"
    return f"{_KIND[section]} #{index + 1}"


def _cross_checks(rules: list[Rule], receivers: list[Receiver]) -> list[str]:
    errors = []
    known = {r.name for r in receivers}
    for kind, names in (("receiver", [r.name for r in receivers]), ("rule", [r.name for r in rules])):
        for dup in sorted({n for n in names if names.count(n) > 1}):
            errors.append(f"{kind} {dup!r}: field 'name': {kind} name used more than once")
    for rule in rules:
        for receiver in rule.receivers:
            if receiver not in known:
                allowed = ", ".join(sorted(known)) or "(no receivers defined)"
                errors.append(
                    f"rule {rule.name!r}: field 'receivers': unknown receiver {receiver!r};"
                    f" allowed: {allowed}"
                )
        for key, text in rule.annotations.items():
            errors.extend(
                f"rule {rule.name!r}: field 'annotations.{key}': {e}" for e in template_errors(text)
            )
    return errors


def parse_rules(text: str, *, source: str = "<rules>") -> RuleSet:
    """Validate a rules document; raises RulesError listing every problem found."""
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RulesError(source, [f"YAML syntax: {where}{exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise RulesError(source, [f"YAML syntax: {exc}"]) from None
    if doc is None:
        raise RulesError(source, ["the file is empty; expected 'receivers', 'rules' and 'silences'"])
    if not isinstance(doc, Mapping):
        raise RulesError(source, ["the file must be a mapping with 'receivers', 'rules' and 'silences'"])
    errors = [f"unknown top-level field {k!r}; allowed: {', '.join(_TOP)}" for k in doc if k not in _TOP]
    parsed: dict[str, list[Any]] = {}
    for section, model in _TOP.items():
        items = doc.get(section) or []
        parsed[section] = []
        if not isinstance(items, list):
            errors.append(f"field {section!r}: must be a list")
            continue
        for i, raw in enumerate(items):
            try:
                parsed[section].append(model.model_validate(raw))
            except ValidationError as exc:
                errors.extend(f"{_label(section, i, raw)}: {e}" for e in _field_errors(exc, model))
    errors.extend(_cross_checks(parsed["rules"], parsed["receivers"]))
    if errors:
        raise RulesError(source, errors)
    return RuleSet(
        receivers=tuple(parsed["receivers"]),
        rules=tuple(parsed["rules"]),
        silences=tuple(parsed["silences"]),
    )


def load_rules(path: Path | str) -> RuleSet:
    """Read and validate the rules file at `path` (RulesError when it cannot be used)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise RulesError(str(path), [f"not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    return parse_rules(text, source=str(path))
