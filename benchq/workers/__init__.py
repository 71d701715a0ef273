"""Celery side: the app, thin tasks, and the pipeline functions they call."""
