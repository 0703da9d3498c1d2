"""Pure data definitions shared by the worker and the API: no I/O, no project imports."""
