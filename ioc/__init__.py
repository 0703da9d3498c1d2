"""Shared code of the IOC pipeline: registry, settings, command line, embedded runtime, simulator."""
