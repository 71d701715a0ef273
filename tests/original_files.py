"""Where the original system's files are, for the tests that run against them.

They are not part of the project (MIT licensed, read at run time only):
`BENCHQ_ORIGINAL_DIR`, default `<repo>/../shared/seed/original`. A test that
needs them skips, saying where it looked, when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def original_dir() -> Path:
    """The folder holding the original's sql/, scripts/ and benchmarks/; skips if absent."""
    given = os.environ.get("BENCHQ_ORIGINAL_DIR")
    # Beside the checkout, as on the project's machines; a clone made elsewhere
    # (CI's) finds them where those machines keep them.
    candidates = (
        [Path(given)]
        if given
        else [REPO.parent / "shared/seed/original", Path("/work/shared/seed/original")]
    )
    for root in candidates:
        if (root / "sql" / "schema_benchmark_monitoring.sql").is_file():
            return root
    pytest.skip(
        f"the original system's files are not in {' or '.join(map(str, candidates))} "
        "(set BENCHQ_ORIGINAL_DIR to the folder holding its sql/ and scripts/)"
    )


def original_schema() -> str:
    """The text of the original's `schema_benchmark_monitoring.sql`."""
    return (original_dir() / "sql" / "schema_benchmark_monitoring.sql").read_text()


def original_script(name: str) -> Path:
    """One of the original's scripts, e.g. `push_to_supabase.py`."""
    return original_dir() / "scripts" / name


def original_sample_record() -> Path:
    """The original's sample monitoring record."""
    return original_dir() / "benchmarks" / "sample_benchmark_results.json"
