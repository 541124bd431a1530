"""The optional compiled part of the extraction core (agents/extract/_scan.c).

Everything else is in pyproject.toml. Where no C compiler is present the extension is
skipped (`optional=True`) and the pure-Python prefilter runs, with the same answers."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("agents.extract._scan", ["agents/extract/_scan.c"], optional=True,
                             extra_compile_args=["-O2"])])
