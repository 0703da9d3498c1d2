"""Database access shared by the worker and the API: the pool and the schema's migrations."""
