"""Producers: plan a run and enqueue one job per (model, case)."""
