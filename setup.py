"""Builds the one native module, the heartbeat fast path (streams/ingest/fastpath.pyx).

Everything else about the package is declared in pyproject.toml.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("streams.ingest.fastpath", ["streams/ingest/fastpath.pyx"], extra_compile_args=["-O2"])]
    )
)
