"""Annotation templates: `{{ name }}` placeholders, nothing that could run code."""

from __future__ import annotations

import pytest

from alerts.template import PLACEHOLDERS, format_number, render, template_errors

VALUES = {"value": "87.5", "by_value": "SO_TTTT", "rule": "R", "kpi": "k", "window": "1h", "threshold": "90"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("On-time rate {{ value }} % at {{ by_value }}", "On-time rate 87.5 % at SO_TTTT"),
        ("{{value}}/{{  threshold  }}", "87.5/90"),
        ("{{ rule }} {{ kpi }} {{ window }}", "R k 1h"),
        ("no placeholders", "no placeholders"),
        ("{{ value }}{{ value }}", "87.587.5"),
        ("Tỷ lệ {{ value }} % tại {{ by_value }}", "Tỷ lệ 87.5 % tại SO_TTTT"),
        ("{{ unknown }}", "{{ unknown }}"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected


def test_values_are_not_templates_themselves() -> None:
    assert render("{{ by_value }}", {"by_value": "{{ value }}", "value": "x"}) == "{{ value }}"


@pytest.mark.parametrize(
    "template",
    ["{{ value.__class__ }}", "{{ value | upper }}", "{{ range(10) }}", "{% for x in y %}", "{{ valeu }}"],
)
def test_anything_but_a_known_name_is_refused(template: str) -> None:
    errors = template_errors(template)
    assert errors, template
    assert render(template, VALUES) == template  # and never evaluated


def test_error_texts() -> None:
    assert template_errors("{{ valeu }}") == [
        f"unknown placeholder '{{{{ valeu }}}}'; allowed: {', '.join(PLACEHOLDERS)}"
    ]
    assert template_errors("{{ value }") == ["unbalanced '{{' or '}}': write placeholders as {{ name }}"]
    assert template_errors("fine {{ value }} and {{by_value}}") == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (87.5, "87.5"),
        (90.0, "90"),
        (3, "3"),
        (87.456, "87.46"),
        (0.1234, "0.123"),
        (0.0, "0"),
        (-2.5, "-2.5"),
        (None, "null"),
        (float("nan"), "null"),
        (float("inf"), "inf"),
        (1234567.891, "1234567.89"),
    ],
)
def test_format_number(value: float | None, text: str) -> None:
    assert format_number(value) == text
