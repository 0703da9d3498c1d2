"""Alerting on KPIs: rules from a YAML file, evaluation, and notification delivery.

`rules` (the file and its validation) and `evaluate`/`notify`/`payload` (what fires, who is
told what) are pure; `store`, `delivery`, `alertmanager` and `service` do the I/O.
"""
