"""Verdicts over snapshots and case results: pure functions on plain data.

Imports only schemas, the standard library and numeric libraries; never the
store, Celery or the dashboard, so every rule can be tested on plain series.
"""
