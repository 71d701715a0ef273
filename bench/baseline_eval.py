"""Score the rule baseline on a suite, in process: no Redis, no workers, no store.

The figures are the ones `benchq run` would publish for the baseline (the same
`score_case` and `aggregate`), computed directly, so they can be reproduced in
a second:

    .venv/bin/python bench/baseline_eval.py --generate 240 --seed 101   # the tuning split
    .venv/bin/python bench/baseline_eval.py --generate 240 --seed 202   # the held-out split
    .venv/bin/python bench/baseline_eval.py --suite tests/suites/handwritten
    .venv/bin/python bench/baseline_eval.py --suite benchq/cases/sample

`--detail` adds, per issue type, the documents where the baseline missed or
invented it (the view used to tune on the tuning split, and only there).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from benchq.cases.generate import generate_cases
from benchq.cases.schema import Case
from benchq.cases.suite import load_suite
from benchq.providers.baseline import BaselineProvider
from benchq.scoring.aggregate import aggregate
from benchq.scoring.case import normalize_issue_type, score_case
from benchq.scoring.schema import CaseResult


def evaluate(cases: list[Case]) -> tuple[list[CaseResult], dict[str, Counter[str]]]:
    """Run the baseline on every case; the scored results and per-type TP/FP/FN counts."""
    provider = BaselineProvider()
    results = []
    per_type: dict[str, Counter[str]] = {}
    for case in cases:
        answer = provider.analyze(case.text)
        results.append(score_case(case_id=case.id, truth=case.truth, answer=answer))
        expected = {
            normalize_issue_type(i.type) for i in case.truth.expected_issues if i.should_detect
        }
        detected = {normalize_issue_type(i.type) for i in answer.issues}
        for kind in expected | detected:
            tally = per_type.setdefault(kind, Counter())
            if kind in expected and kind in detected:
                tally["tp"] += 1
            elif kind in expected:
                tally["fn"] += 1
                tally[f"fn:{case.id}"] += 1
            else:
                tally["fp"] += 1
                tally[f"fp:{case.id}"] += 1
    return results, per_type


def main(argv: list[str]) -> int:
    """Parse the arguments, score, print; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--suite", type=Path, help="suite folder or .jsonl file")
    source.add_argument("--generate", type=int, metavar="N", help="generate N cases in memory")
    parser.add_argument("--seed", type=int, default=0, help="seed for --generate")
    parser.add_argument("--detail", action="store_true", help="list misses per issue type")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    if args.suite is not None:
        cases = load_suite(args.suite).cases
        label = str(args.suite)
    else:
        cases = generate_cases(args.generate, args.seed)
        label = f"generated n={args.generate} seed={args.seed}"
    results, per_type = evaluate(cases)
    agg = aggregate("baseline", results)
    figures = {
        "suite": label,
        "documents": agg.total_documents,
        "precision": round(agg.issue_precision, 3),
        "recall": round(agg.issue_recall, 3),
        "f1": round(agg.issue_f1_score, 3),
        "tp": sum(r.true_positives for r in results),
        "fp": sum(r.false_positives for r in results),
        "fn": sum(r.false_negatives for r in results),
        "count_f1": round(agg.count_f1_score, 3),
        "facts_accuracy": round(agg.facts_accuracy, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{label}: {figures['documents']} documents  P={figures['precision']:.3f} "
            f"R={figures['recall']:.3f} F1={figures['f1']:.3f}  "
            f"(TP={figures['tp']} FP={figures['fp']} FN={figures['fn']})  "
            f"count-F1={figures['count_f1']:.3f}  facts={figures['facts_accuracy']:.1f}%"
        )
    if args.detail:
        for kind, tally in sorted(per_type.items()):
            print(f"  {kind:<20} TP={tally['tp']:<4} FP={tally['fp']:<4} FN={tally['fn']:<4}")
            for key in sorted(k for k in tally if ":" in k):
                print(f"      {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
