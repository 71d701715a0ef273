"""Benchmark cases: suite loading, ground-truth schemas, synthetic generator, sample suite."""
