"""Benchmarks: every scenario measures its own baselines in the same run and reports ratios (see run.py)."""
