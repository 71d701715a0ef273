"""Load a suite of cases from disk, validating every ground-truth file first.

Two layouts are read:

- the original directory layout, `DIR/inputs/<name>.txt` with
  `DIR/expected_outputs/<name>.json` beside it (an input without ground truth
  is skipped with one warning on the `benchq.cases` logger);
- a JSONL file, one case per line: `id`, `text`, and the ground-truth fields
  (`document_type`, `expected_issues`, `expected_facts`, `expected_savings`)
  at top level.

Every file is read and validated before anything is returned, so a caller that
enqueues work per case never starts on a suite that is half broken. Problems
raise `SuiteError`, whose message names the file, the line (JSON syntax, JSONL)
and the field path (`expected_facts.medical_line_items[2].billed_amount: ...`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benchq.cases.schema import Case, GroundTruth, Suite
from benchq.errors import SuiteError

logger = logging.getLogger("benchq.cases")

#: Keys of a JSONL record that are not ground truth.
_JSONL_CASE_KEYS = ("id", "text")


def sample_suite_path() -> Path:
    """The directory of the sample suite bundled with benchq (original layout)."""
    return Path(__file__).parent / "sample"


def suite_name(path: Path | str) -> str:
    """The name a suite is known by: the directory name, or the JSONL file's stem."""
    p = Path(path)
    return p.stem if p.is_file() else p.name


def load_suite(path: Path | str) -> Suite:
    """Read and validate a whole suite; raise `SuiteError` on the first bad file.

    Cases come back sorted by id. Inputs without ground truth are listed in
    `Suite.skipped` (and warned about once each); an empty suite is an error.
    """
    p = Path(path)
    if not p.exists():
        raise SuiteError(str(p), "suite path does not exist")
    if p.is_dir():
        cases, skipped = _load_directory(p)
    elif p.suffix.lower() == ".jsonl":
        cases, skipped = _load_jsonl(p), []
    else:
        raise SuiteError(
            str(p), "expected a directory with inputs/ and expected_outputs/, or a .jsonl file"
        )
    if not cases:
        raise SuiteError(str(p), "suite has no cases with ground truth")
    cases.sort(key=lambda c: c.id)
    return Suite(name=suite_name(p), cases=cases, skipped=skipped)


def format_validation_error(error: ValidationError) -> str:
    """Render pydantic errors as `field.path[2].name: message`, joined by `; `."""
    parts = []
    for err in error.errors():
        parts.append(f"{_loc(err['loc'])}: {err['msg']}")
    return "; ".join(parts)


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{item}" if out else item
    return out or "(document)"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError(str(path), f"not valid UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise SuiteError(str(path), f"cannot be read: {exc.strerror or exc}") from exc


def _parse_truth(path: Path, data: Any, *, line: int | None = None) -> GroundTruth:
    try:
        return GroundTruth.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(str(path), format_validation_error(exc), line=line) from exc


def _load_directory(root: Path) -> tuple[list[Case], list[str]]:
    inputs = root / "inputs"
    truths = root / "expected_outputs"
    if not inputs.is_dir():
        raise SuiteError(str(root), "missing the inputs/ directory")
    if not truths.is_dir():
        raise SuiteError(str(root), "missing the expected_outputs/ directory")
    cases: list[Case] = []
    skipped: list[str] = []
    input_files = sorted(inputs.glob("*.txt"))
    for txt in input_files:
        gt_path = truths / f"{txt.stem}.json"
        if not gt_path.is_file():
            # One warning per input, naming it, so a user sees which file lacks truth.
            logger.warning("skipping %s: no ground truth at %s", txt, gt_path)
            skipped.append(txt.stem)
            continue
        raw = _read_text(gt_path)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                str(gt_path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
            ) from exc
        truth = _parse_truth(gt_path, data)
        cases.append(Case(id=txt.stem, text=_read_text(txt), truth=truth, source=str(txt)))
    stems = {t.stem for t in input_files}
    for orphan in sorted(truths.glob("*.json")):
        if orphan.stem not in stems:
            logger.warning("ignoring %s: no input %s.txt", orphan, orphan.stem)
    return cases, skipped


def _load_jsonl(path: Path) -> list[Case]:
    cases: list[Case] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                str(path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=lineno
            ) from exc
        if not isinstance(record, dict):
            raise SuiteError(str(path), "expected a JSON object per line", line=lineno)
        case_id = record.get("id")
        if not isinstance(case_id, str) or not case_id:
            raise SuiteError(str(path), "id: a non-empty string is required", line=lineno)
        text = record.get("text")
        if not isinstance(text, str):
            raise SuiteError(str(path), "text: a string is required", line=lineno)
        if case_id in first_line:
            raise SuiteError(
                str(path),
                f"duplicate id {case_id!r} (first on line {first_line[case_id]})",
                line=lineno,
            )
        first_line[case_id] = lineno
        truth_data = {k: v for k, v in record.items() if k not in _JSONL_CASE_KEYS}
        truth = _parse_truth(path, truth_data, line=lineno)
        cases.append(Case(id=case_id, text=text, truth=truth, source=f"{path}:{lineno}"))
    return cases
