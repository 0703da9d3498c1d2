"""`{{ by_name }}`: alert texts name the place, "Sở Tài chính", not its code SO_TAI_CHINH."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.evaluate import AlertState
from alerts.round import evaluate_rules
from alerts.rules import Rule, RuleSet
from alerts.source import MemoryKpiSource
from alerts.template import template_errors
from ioc.kpi.context import context_from
from ioc.settings import KpiSettings
from sources import SOURCES

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)


class ContextSource(MemoryKpiSource):
    """Values set by hand, computed "with" the configured registry and sources (as the worker's)."""

    def __init__(self) -> None:
        super().__init__()
        self.ctx = context_from(KpiSettings(), SOURCES)


def rule(**fields: Any) -> Rule:
    base = {"name": "R", "kpi": "eoffice.overdue", "op": ">", "threshold": 0, "for": "0s"}
    return Rule.model_validate({**base, **fields})


async def summaries(source: MemoryKpiSource, *rules: Rule) -> dict[str | None, str]:
    def unreadable(r: Rule, exc: Exception) -> None:
        pytest.fail(f"{r.name}: {exc}")

    active: dict[str, dict[str, AlertState]] = {}
    results = await evaluate_rules(RuleSet(rules=rules), source, active, now=NOW, unreadable=unreadable)
    return {a.by_value: a.annotations["summary"] for r in results.values() for a in r.active.values()}


def test_by_name_is_a_placeholder_a_rules_file_may_use() -> None:
    assert template_errors("Quá hạn tại {{ by_name }}") == []


async def test_an_alert_by_agency_names_the_agency_in_vietnamese() -> None:
    source = ContextSource()
    source.set("eoffice.overdue", {"SO_TAI_CHINH": 2, "UBND_CHIEM_HOA": 1, "SO_NOI_VU": 0}, by="agency")
    summary = {"summary": "Quá hạn tại {{ by_name }} ({{ by_value }}): {{ value }}"}
    assert await summaries(source, rule(by="agency", annotations=summary)) == {
        "SO_TAI_CHINH": "Quá hạn tại Sở Tài chính (SO_TAI_CHINH): 2",
        "UBND_CHIEM_HOA": "Quá hạn tại Ủy ban nhân dân huyện Chiêm Hóa (UBND_CHIEM_HOA): 1",
    }


async def test_districts_fixed_values_unknown_codes_and_totals() -> None:
    source = ContextSource()
    source.set("vc.meeting_endpoints_offline", {"CHIEM_HOA": 3, "unknown": 1}, by="district")
    source.set("portal.backlog", {"4": 5}, by="service_level")
    source.set("eoffice.overdue", 7)
    said = {"summary": "{{ by_name }}"}
    by_district = rule(name="D", kpi="vc.meeting_endpoints_offline", by="district", annotations=said)
    by_level = rule(name="L", kpi="portal.backlog", by="service_level", annotations=said)
    total = rule(name="T", annotations=said)
    assert await summaries(source, by_district, by_level, total) == {
        "CHIEM_HOA": "Huyện Chiêm Hóa",
        "unknown": "unknown",  # a value the registry does not name reads as itself
        "4": "Mức 4",
        None: "total",  # a rule without `by`, as `{{ by_value }}` reads
    }


async def test_without_a_kpi_context_the_shipped_registry_names_places() -> None:
    source = MemoryKpiSource()  # a dry run: no context, the shipped province
    source.set("eoffice.overdue", {"SO_TN_MT": 4}, by="agency")
    named = rule(by="agency", annotations={"summary": "{{ by_name }}"})
    assert await summaries(source, named) == {"SO_TN_MT": "Sở Tài nguyên và Môi trường"}
