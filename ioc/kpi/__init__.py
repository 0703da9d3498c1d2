"""KPI arithmetic and queries, shared by the API (serving) and the worker (alert evaluation)."""
