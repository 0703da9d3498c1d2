"""Builds the one native module, the heartbeat fast path (sources/vc/fastpath.pyx), owned by the
video-conference source.

Everything else about the package is declared in pyproject.toml.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("sources.vc.fastpath", ["sources/vc/fastpath.pyx"], extra_compile_args=["-O2"])]
    )
)
