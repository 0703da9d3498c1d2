"""The HTTP API, the live channel, /metrics and the operations-wall page."""
