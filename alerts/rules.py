"""The alert rules file (contract/KPIS.md, "Alerts"): reading and validating a whole file.

Operators write this file by hand and check it with `ioc rules check FILE`, so every error
names the rule (or receiver, or silence) and the field, says what was wrong and what is
allowed, and all errors of a file are reported at once rather than the first only. The
models themselves are in alerts/models.py; they are re-exported here, beside `RulesError`
(the kernel's error for rules files), as the package's one entry point for a rules file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from alerts.models import Receiver, Rule, RuleSet, Silence
from alerts.template import template_errors
from ioc.errors import RulesError

__all__ = ["Receiver", "Rule", "RuleSet", "RulesError", "Silence", "load_rules", "parse_rules"]


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
