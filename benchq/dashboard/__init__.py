"""The Panel dashboard: five views of the results store, and the cases behind them.

Modules: `data` (cached loaders over the store's aggregate queries),
`views` (the summary views, data in, Panel objects out), `history`
(snapshot history, checkout, baseline, comparisons down to cases), `app`
(the `Dashboard` viewer that ties sidebar and views together) and
`command` (`benchq dashboard`). Imports the store, never Celery.
"""
