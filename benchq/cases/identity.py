"""What identifies a suite's content: its digest, and the dataset label derived from it.

Two suites that differ in any case id, document or ground-truth value have
different digests, so a run on an edited suite starts a history of its own
instead of being compared with scores on different bills.
"""

from __future__ import annotations

import hashlib
import json
import re

from benchq.cases.schema import Suite

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def suite_digest(suite: Suite) -> str:
    """SHA-256 (hex) over every case's id, document and ground truth, in id order.

    Ground truth is serialised canonically (sorted keys), so re-formatting a
    JSON file does not change the digest; changing a value does.
    """
    h = hashlib.sha256()
    for case in sorted(suite.cases, key=lambda c: c.id):
        truth = json.dumps(case.truth.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        for part in (case.id, case.text, truth):
            data = part.encode("utf-8")
            # length-prefixed, so no two different suites serialise to the same bytes
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
    return h.hexdigest()


def default_dataset_version(suite: Suite, digest: str | None = None) -> str:
    """`<suite name>-<first 12 hex digits of its digest>`, e.g. `sample-3f2a9c1b7d4e`."""
    name = _LABEL_UNSAFE.sub("_", suite.name).strip("_") or "suite"
    return f"{name[:80]}-{(digest or suite_digest(suite))[:12]}"
