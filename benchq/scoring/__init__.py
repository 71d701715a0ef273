"""Pure scoring: per-case scores, aggregation, monitoring conversion.

Imports only schemas and the standard library, so it can be tested and
reused without Redis, Celery or a database.
"""
