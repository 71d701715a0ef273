"""The Inspect AI task `bench/fanout.py` runs: one generate per document, the same request.

Run only by `inspect eval` inside the virtualenv `bench/inspect_side.py`
makes. `BENCH_SETTINGS` names a JSON file with the dataset (one sample per
request body benchq's provider builds: its messages as the input) and one of
those bodies, from which the length limit and the response format are taken,
so the server receives what it receives from benchq and the bare client.
No scorer: the comparison is about moving the calls.
"""

import json
import os

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import generate


@task
def fanout() -> Task:
    """One model call per document, nothing else."""
    with open(os.environ["BENCH_SETTINGS"]) as f:
        settings = json.load(f)
    body = settings["body"]
    samples = []
    with open(settings["dataset"]) as f:
        for i, line in enumerate(f):
            messages = json.loads(line)["messages"]
            samples.append(Sample(id=i + 1, input=messages, target="x"))
    extra = {"response_format": body["response_format"]} if "response_format" in body else None
    config = GenerateConfig(
        max_tokens=body.get("max_tokens") or body.get("max_completion_tokens"),
        temperature=body.get("temperature"),
        extra_body=extra,
    )
    return Task(dataset=MemoryDataset(samples), solver=generate(), config=config)
