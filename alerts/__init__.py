"""Alerting on KPIs: rules from a YAML file, evaluation, silences and notification delivery.

It reads KPIs from the database and never consumes a topic; it meets the worker and the API
only in `schemas/`, the kernel and the database. `rules`/`models` (the file and its
validation), `evaluate`, `notify`, `payload` and `round` (what fires, who is told what) are
pure but for the KPI reads; `delivery`, `alertmanager` and `service` do the I/O, storing
through the kernel's `ioc.db.alerts` and `ioc.db.alert_outbox`.
"""
