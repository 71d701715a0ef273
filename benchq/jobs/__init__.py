"""The job contract: everything both sides of the queue must agree on.

Producers (`benchq.producers`), workers (`benchq.workers`), the embedded
runtime (`benchq.local`) and the scheduler import this package and never each
other:

- `names`: task and queue names;
- `messages`: the pydantic messages a job carries (a batch of cases, a
  model's finalize steps, case results on their way to the store);
- `celery_app`: the Celery app both sides build from settings (serialisation,
  acknowledgement, routing), and `backend` its result backend;
- `broker`: Redis clients for a broker URL as Celery spells it;
- `target`: where a worker's store and cache are, resolved once and handed
  to every worker as it is.
"""
