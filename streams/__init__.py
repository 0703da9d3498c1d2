"""The worker: a consumed batch goes consume -> decode -> admit -> effects -> write.

- `consume.py`: the Faust service that reads the source topics in batches and owns partitions;
- decoding is the sources' decoder (`sources.decode`, built in schemas/decode.py);
- `admit.py`: duplicates (`dedupe.py`), late and future events, dead letters (pure);
- `effects.py`: each source's per-batch arithmetic, collected into one batch's effects;
- `sink.py` and `kpi_store.py`: the one write path, effects and offsets in one transaction;
- `checkpoint.py`: the order of the last steps (dead letters, write, broker commit), once;
- `maintenance.py`: the leader's minute samples of state KPIs and retention;
- `app.py`: the Faust app and worker that run them, `metrics.py` their Prometheus metrics.
"""
