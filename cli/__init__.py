"""The `ioc` command line and what only it runs: the embedded broker and database (`runtime/`), replay.

Nothing in the product imports this package; it sits above the kernel (`ioc/`) and the services.
"""
