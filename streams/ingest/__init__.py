"""Ingest: decode, validate, dedupe and time-check source records, written once for all topics."""
