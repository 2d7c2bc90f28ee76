"""Benchmark scripts of fmnist_estimators, run as ``python benchmarks/NAME.py``.

A package only so that the tests, run from the repository root, can import
the comparison (``benchmarks.comparison``); the scripts import their helpers
from :mod:`_common` beside them.
"""
