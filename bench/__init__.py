"""Benchmarks for srs. Run all of them with `python -m bench`; see BENCHMARKS.md."""
