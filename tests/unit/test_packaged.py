"""What the product ships is found through the package, wherever the process is started."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.rules import RulesError, load_rules
from alerts.service import AlertService
from ioc.settings import AlertSettings

REPO = Path(__file__).resolve().parents[2]


def test_default_rules_resolve_to_a_readable_file_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IOC_ALERT_RULES", raising=False)
    monkeypatch.chdir(tmp_path)  # no deploy/ here: a systemd unit, a container, a restart script
    settings = AlertSettings()
    assert settings.alert_rules is None
    path = settings.rules_file
    assert path.is_absolute() and path.is_file()
    assert len(load_rules(path).rules) > 0


def test_the_shipped_rules_are_the_documented_example() -> None:
    """deploy/alerts/rules.yml is what operators copy and mount; the package runs its twin."""
    shipped = AlertSettings(alert_rules=None).rules_file.read_bytes()
    assert shipped == (REPO / "deploy" / "alerts" / "rules.yml").read_bytes()


def test_an_explicit_rules_file_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_ALERT_RULES", str(tmp_path / "mine.yml"))
    assert AlertSettings().rules_file == tmp_path / "mine.yml"


def _service(settings: AlertSettings) -> AlertService:
    return AlertService(
        settings,
        database_url="postgresql://nobody@127.0.0.1:1/none",
        source=object(),  # type: ignore[arg-type]  # nothing is evaluated here
        registry=CollectorRegistry(),
    )


async def test_broken_shipped_rules_never_stop_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = tmp_path / "alert_rules.yml"
    damaged.write_text("rules: [oops\n", encoding="utf-8")
    monkeypatch.setattr(AlertSettings, "rules_file", property(lambda self: damaged))
    service = _service(AlertSettings(alert_rules=None))
    with caplog.at_level(logging.WARNING, logger="ioc"):
        service._reload(initial=True)
    assert service.rules.rules == ()
    assert "shipped alert rules cannot be used" in caplog.text and "YAML syntax" in caplog.text


async def test_a_broken_file_the_operator_named_still_stops_the_start(tmp_path: Path) -> None:
    service = _service(AlertSettings(alert_rules=tmp_path / "missing.yml"))
    with pytest.raises(RulesError, match="cannot read the file"):
        service._reload(initial=True)
