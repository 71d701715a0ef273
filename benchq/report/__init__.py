"""One run, every case: the data behind the run explorer and `benchq report`.

Modules: `outcomes` (pure rules: a cell's outcome, disagreement, cited lines,
per-model totals), `collect` (reads one run through the store's named case
reads), `export` (the per-case table as CSV or JSONL), `html` (the
self-contained report file) and `command` (`benchq report`). Imports the
store and pure packages, never Panel or Celery, so the report can be written
where no dashboard runs.
"""
