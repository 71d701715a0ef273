"""A suite's digest is its identity in the store: it must not move when only the code does.

Runs are compared with earlier runs of the same `dataset_version`, which is
derived from the digest (`benchq.cases.identity`). A change to how ground
truths are read or written (a validator, a default, a field's type) that
changed the digest of unchanged files would silently start a new history
for every suite. These digests were the same on the code of 2026-12-01
(c4acc7d) and after the ground-truth validators were rewritten (6e7f82f).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchq.cases.identity import default_dataset_version, suite_digest
from benchq.cases.suite import load_suite, sample_suite_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("suite", "digest"),
    [
        (sample_suite_path(), "00095f275ea38f725e3d398a65ff9e16e501598b1db2e675c82e323f2240b316"),
        (
            ROOT / "tests" / "suites" / "handwritten",
            "9f4f49be9d7b229bda3b2e46d67bc02662972426f866c062dd0e1b2a797a874b",
        ),
    ],
)
def test_the_digest_of_unchanged_files_stays_the_same(suite: Path, digest: str) -> None:
    loaded = load_suite(suite)
    assert suite_digest(loaded) == digest
    assert default_dataset_version(loaded).endswith(f"-{digest[:12]}")
