"""The embedded runtime: a broker and a database started on this machine when none is configured."""
