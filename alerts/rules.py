"""The alert rules file (contract/KPIS.md, "Alerts"): reading and validating a whole file.

Operators write this file by hand and check it with `ioc rules check FILE`, so every error
names the rule (or receiver, silence or time interval) and the field, says what was wrong and
what is allowed, and all errors of a file are reported at once rather than the first only.
Receivers, rules and silences are modelled in alerts/models.py; the file's `time_intervals`
(Alertmanager's shape, a subset) and the whole set are here. All are re-exported here, beside
`RulesError` (the kernel's error for rules files), as the package's one entry point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator, model_validator

from alerts.models import OPEN_HOURS, Receiver, Rule, Silence
from alerts.template import template_errors
from ioc.errors import RulesError

__all__ = ["NamedTimeInterval", "Receiver", "Rule", "RuleSet", "RulesError", "Silence", "TimeInterval"]
__all__ += ["load_rules", "parse_clock", "parse_rules"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS: tuple[str, ...] = ("january", "february", "march", "april", "may", "june", "july", "august")
MONTHS += ("september", "october", "november", "december")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


def parse_clock(value: object) -> int:
    """`"06:00"` -> 360 minutes after midnight, `"24:00"` -> 1440. YAML reads an unquoted 11:00
    as the base-60 number 660: the same minutes, so that is taken too."""
    if type(value) is int and 0 <= value <= 1440:
        return value
    m = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"invalid time {value!r}: write HH:MM, 24-hour, from 00:00 to 24:00")
    return 1440 if m.group(1) is None else int(m.group(1)) * 60 + int(m.group(2))


def _span(what: str, names: tuple[str, ...], first: int, low: int, allowed: str) -> BeforeValidator:
    """Alertmanager's `begin:end` range or single value, as (begin, end): a name (any case) or,
    but for weekdays, a number from `low`. A negative day of the month counts from its end."""
    top = len(names) or 31
    example = {"weekday": "monday:friday", "month": "january:march"}.get(what, "1:7")

    def one(text: str, whole: object) -> int:
        t = text.strip().lower()
        if t in names:
            return names.index(t) + first
        if what != "weekday" and re.fullmatch(r"-?\d+", t) and low <= int(t) <= top and int(t) != 0:
            return int(t)
        raise ValueError(f"{whole!r} is not a {what}; allowed: {allowed}, or a range such as {example}")

    def parse(value: object) -> tuple[int, int]:
        if type(value) is int:  # YAML reads an unquoted 1:7 as the base-60 number 67
            value = f"{value // 60}:{value % 60}" if value >= 60 else str(value)
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a {what}; allowed: {allowed}")
        a, colon, b = value.partition(":")
        begin, end = one(a, value), one(b if colon else a, value)
        if begin > end and (begin < 0) == (end < 0):
            raise ValueError(f"{value!r} runs backwards: write the range's start first")
        return begin, end

    return BeforeValidator(parse)


Clock = Annotated[int, BeforeValidator(parse_clock)]
WeekdaySpan = Annotated[tuple[int, int], _span("weekday", WEEKDAYS, 0, 1, "monday, ..., sunday")]
"""0 = Monday, as Python's `weekday()` and the registry's schedules."""
DaySpan = Annotated[
    tuple[int, int], _span("day of the month", (), 1, -31, "1 to 31, or -31 to -1 from the month's end")
]
MonthSpan = Annotated[tuple[int, int], _span("month", MONTHS, 1, 1, "january, ..., december, or 1 to 12")]


class _Model(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}


class TimeRange(_Model):
    """From `start_time` (included) to `end_time` (excluded), local time."""

    start_time: Clock
    end_time: Clock

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end_time <= self.start_time:
            raise ValueError(
                "'end_time' must be after 'start_time'; a range across midnight is two ranges,"
                " e.g. 22:00-24:00 and 00:00-06:00"
            )
        return self


class TimeInterval(_Model):
    """Alertmanager's time interval, a subset: each field given must match; none given: always."""

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[WeekdaySpan, ...] = ()
    days_of_month: tuple[DaySpan, ...] = ()
    months: tuple[MonthSpan, ...] = ()


class NamedTimeInterval(_Model):
    """A name for rules' `active_time_intervals`: active while any of its intervals matches."""

    name: str = Field(min_length=1)
    time_intervals: tuple[TimeInterval, ...]

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.startswith(OPEN_HOURS):
            raise ValueError(f"{v!r}: names starting with {OPEN_HOURS!r} are reserved (the registry's hours)")
        return v


class RuleSet(_Model):
    """A whole, valid rules file."""

    receivers: tuple[Receiver, ...] = ()
    rules: tuple[Rule, ...] = ()
    silences: tuple[Silence, ...] = ()
    time_intervals: tuple[NamedTimeInterval, ...] = ()

    @property
    def receiver_by_name(self) -> dict[str, Receiver]:
        return {r.name: r for r in self.receivers}

    @property
    def rule_by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}

    @property
    def interval_by_name(self) -> dict[str, NamedTimeInterval]:
        return {i.name: i for i in self.time_intervals}

    def silenced(self, labels: Mapping[str, str], now: datetime) -> bool:
        return any(s.applies(labels, now) for s in self.silences)


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
_TOP["time_intervals"] = NamedTimeInterval
_KIND = {"receivers": "receiver", "rules": "rule", "silences": "silence", "time_intervals": "time interval"}


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The (nested) model whose field `loc` names: a time interval's `times`, say."""
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = [t for t in get_args(field.annotation) if isinstance(t, type)] if field else []
        model = next((t for t in inner if issubclass(t, BaseModel)), model)
    return model


def _field_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """Pydantic's errors as `field 'x': what was wrong`."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = [f.alias or n for n, f in _model_at(model, err["loc"]).model_fields.items()]
            msg = f"unknown field; allowed: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "required"
        elif err["type"] == "literal_error":
            msg = f"{err['input']!r} is not allowed; allowed: {err.get('ctx', {}).get('expected', '')}"
        elif err["type"] == "timezone_aware":
            msg = "needs a UTC offset, e.g. 2025-06-01T22:00:00+07:00"
        out.append(f"field {loc!r}: {msg}" if loc else msg)
    return out


def _name(raw: object) -> str | None:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return name if isinstance(name, str) and name else None


def _label(section: str, index: int, raw: object) -> str:
    name = _name(raw) if section != "silences" else None
    return f"{_KIND[section]} {name!r}" if name else f"{_KIND[section]} #{index + 1}"


def _cross_checks(rules: list[Rule], receivers: list[Receiver], periods: list[str]) -> list[str]:
    """`periods`: the time intervals' names, an invalid interval's too (it is reported already)."""
    errors = []
    known = {r.name for r in receivers}
    webhooks = {r.name for r in receivers if not r.is_alertmanager}  # escalations are sent once
    for kind, names in (
        ("receiver", [r.name for r in receivers]),
        ("rule", [r.name for r in rules]),
        ("time interval", periods),
    ):
        for dup in sorted({n for n in names if names.count(n) > 1}):
            errors.append(f"{kind} {dup!r}: field 'name': {kind} name used more than once")
    for owner, targets in [
        *((f"rule {r.name!r}", r.escalate_to) for r in rules),
        *((f"receiver {r.name!r}", r.escalate_to) for r in receivers),
    ]:
        for name in targets:
            if name not in webhooks:
                errors.append(
                    f"{owner}: field 'escalate_to': {name!r} is not a webhook receiver;"
                    f" allowed: {', '.join(sorted(webhooks)) or '(no webhook receivers defined)'}"
                )
    for rule in rules:
        for receiver in rule.receivers:
            if receiver not in known:
                allowed = ", ".join(sorted(known)) or "(no receivers defined)"
                errors.append(
                    f"rule {rule.name!r}: field 'receivers': unknown receiver {receiver!r};"
                    f" allowed: {allowed}"
                )
        for name in rule.active_time_intervals:
            if name not in periods and not name.startswith(OPEN_HOURS):  # open_hours: checked by Rule
                errors.append(
                    f"rule {rule.name!r}: field 'active_time_intervals': unknown time interval {name!r};"
                    f" allowed: {', '.join([*sorted(set(periods)), OPEN_HOURS])} (top-level 'time_intervals'"
                    " names them)"
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
    given = doc.get("time_intervals")
    periods = [n for n in map(_name, given) if n] if isinstance(given, list) else []
    errors.extend(_cross_checks(parsed["rules"], parsed["receivers"], periods))
    if errors:
        raise RulesError(source, errors)
    return RuleSet(
        receivers=tuple(parsed["receivers"]),
        rules=tuple(parsed["rules"]),
        silences=tuple(parsed["silences"]),
        time_intervals=tuple(parsed["time_intervals"]),
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
