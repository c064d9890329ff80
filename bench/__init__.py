"""Benchmarks: `python -m bench <name> [--json PATH]`, each a Rich table and one JSON document.

Timing lives here, never in pass/fail tests. The machine is shared and noisy: each figure is the
median of `--runs` runs (at least 3), with every run kept beside it as `<key>_runs`.
"""
