"""Benchmarks that inform design choices; each prints a table and writes JSON to reports/."""
