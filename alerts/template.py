"""Annotation templates: `{{ name }}` placeholders and nothing else.

A tiny substitution rather than Jinja because rule files are written by operators and read by
the evaluator: no expressions, no attribute access, no loops, so no way for a rule file to run
code or to fail at 3 a.m. A template's placeholders are checked when the file is loaded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

PLACEHOLDERS: tuple[str, ...] = ("value", "by_value", "by_name", "rule", "kpi", "window", "threshold")
"""The names a template may use (contract/KPIS.md, "Alerts"); `by_name` is the by-value's
Vietnamese name in the registry ("Huyện Chiêm Hóa" for CHIEM_HOA), else the value itself."""

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def template_errors(template: str) -> list[str]:
    """What is wrong with a template: unknown names, unbalanced braces (empty when it is fine)."""
    errors = []
    for m in _PLACEHOLDER.finditer(template):
        if m.group(1) not in PLACEHOLDERS:
            errors.append(f"unknown placeholder {m.group(0)!r}; allowed: {', '.join(PLACEHOLDERS)}")
    rest = _PLACEHOLDER.sub("", template)
    if "{%" in rest or "%}" in rest:
        errors.append("'{% ... %}' is not supported: only {{ name }} placeholders, no Jinja")
    if "{{" in rest or "}}" in rest:
        errors.append("unbalanced '{{' or '}}': write placeholders as {{ name }}")
    return errors


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace each `{{ name }}` by `values[name]`; an unknown name is left as written."""

    def one(m: re.Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    return _PLACEHOLDER.sub(one, template)


def format_number(value: float | None) -> str:
    """A KPI value as people read it: `87.5`, `3`, `0.12`; `null` when there is none."""
    if value is None or math.isnan(value):
        return "null"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")
