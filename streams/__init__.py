"""The Faust worker: ingest the source topics, keep KPI building blocks, write them to the database."""
