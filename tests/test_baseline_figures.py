"""The baseline's figures quoted in docs/suites.md and the README are what it scores now.

Runs the documented command (`bench/baseline_eval.py`, in process, no Redis) on
each suite the docs quote and compares the printed figures with the quoted
ones, so a change to the baseline, the generator or the scoring that moves a
figure fails here until the docs say the new figure.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

#: (arguments, precision, recall, F1, facts %), as docs/suites.md quotes them.
DOCUMENTED = {
    "tuning split": (["--generate", "240", "--seed", "101"], "1.000", "0.975", "0.987", "100.0"),
    "held out": (["--generate", "240", "--seed", "202"], "1.000", "0.975", "0.987", "100.0"),
    "handwritten": (["--suite", "tests/suites/handwritten"], "0.727", "0.800", "0.762", "99.1"),
    "sample": (["--suite", "benchq/cases/sample"], "1.000", "0.944", "0.971", "99.3"),
}


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_the_documented_command_prints_the_documented_figures(name: str) -> None:
    args, precision, recall, f1, facts = DOCUMENTED[name]
    proc = subprocess.run(
        [sys.executable, "bench/baseline_eval.py", *args, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(proc.stdout)
    assert (
        f"{got['precision']:.3f}",
        f"{got['recall']:.3f}",
        f"{got['f1']:.3f}",
        f"{got['facts_accuracy']:.1f}",
    ) == (precision, recall, f1, facts)


def test_the_docs_quote_these_figures() -> None:
    doc = (REPO / "docs" / "suites.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for _args, precision, recall, f1, facts in DOCUMENTED.values():
        assert f"| {precision} | {recall} | {f1} | {facts} % |" in doc
    for name in ("held out", "handwritten"):
        _args, precision, recall, f1, _facts = DOCUMENTED[name]
        assert f"precision {precision}, recall {recall}, F1 {f1}" in readme, name
    assert "synthetic" in readme
