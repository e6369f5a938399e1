"""Build of the compiled modules: every ``territorial_gis/*.pyx`` (Cython 3) becomes an
extension module of the same name. All other package settings are in pyproject.toml."""

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
OPT = ["/O2"] if os.name == "nt" else ["-O3"]

extensions = [
    Extension(f"territorial_gis.{pyx.stem}", [pyx.relative_to(HERE).as_posix()], extra_compile_args=OPT)
    for pyx in sorted((HERE / "territorial_gis").glob("*.pyx"))
]

setup(ext_modules=cythonize(extensions, language_level=3))
