"""Load a suite of cases from disk, checking every file before anything is returned.

Two layouts are read:

- the original directory layout, `DIR/inputs/<name>.txt` with
  `DIR/expected_outputs/<name>.json` beside it (an input without ground truth
  is skipped with one warning on the `benchq.cases` logger);
- a JSONL file, one case per line: `id`, `text`, and the ground-truth fields
  (`document_type`, `expected_issues`, `expected_facts`, `expected_savings`)
  at top level.

`check_suite` reads the whole suite and collects every problem of every file
(one `Problem` per file and field) instead of stopping at the first, so a
suite with eight mistakes takes one round to fix. `load_suite` runs the same
checks and raises `SuiteError` listing the fatal ones, so a caller that
enqueues work per case never starts on a suite that is half broken.

Hostile files are refused, never opened (see `benchq.cases.files`): inputs
that are not regular files inside the suite folder, files above the size
limit; and refused after reading (see `benchq.cases.content`): deep JSON
nesting, non-finite numbers, control characters, case ids outside
`[A-Za-z0-9._-]{1,128}`.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from benchq import collector
from benchq.cases import files
from benchq.cases.content import (
    ContentError,
    check_case_id,
    check_strings,
    check_text,
    may_hold_control,
    parse_json,
)
from benchq.cases.files import DEFAULT_MAX_INPUT_BYTES, Refused
from benchq.cases.schema import LINE_ITEM_KINDS, Case, GroundTruth, Suite, _Lenient, validate_truth
from benchq.errors import SuiteError

logger = logging.getLogger("benchq.cases")

#: Keys of a JSONL record that are not ground truth.
_JSONL_CASE_KEYS = ("id", "text")

#: Problems a `SuiteError` message lists before it only counts the rest.
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file of a suite (or, for a warning, worth knowing)."""

    path: str
    detail: str
    line: int | None = None
    fatal: bool = True

    @property
    def where(self) -> str:
        """`path` or `path:line`."""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        return f"{self.where}: {'error' if self.fatal else 'warning'}: {self.detail}"


@dataclass
class SuiteCheck:
    """What reading a suite found: the cases that loaded and every problem."""

    path: Path
    cases: list[Case] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the suite from loading."""
        return [p for p in self.problems if p.fatal]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that do not."""
        return [p for p in self.problems if not p.fatal]

    def error(self, path: Path | str, detail: str, line: int | None = None) -> None:
        """Record a fatal problem."""
        self.problems.append(Problem(str(path), detail, line))

    def warn(self, path: Path | str, detail: str, line: int | None = None) -> None:
        """Record a warning."""
        self.problems.append(Problem(str(path), detail, line, fatal=False))

    def summary(self) -> str:
        """One line: how many cases, skipped inputs and warnings (and errors, if any)."""
        parts = [
            _count(len(self.cases), "case"),
            _count(len(self.skipped), "skipped input"),
            _count(len(self.warnings), "warning"),
        ]
        if self.errors:
            parts.insert(0, _count(len(self.errors), "error"))
        return f"{self.path}: {', '.join(parts)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sample_suite_path() -> Path:
    """The directory of the sample suite bundled with benchq (original layout)."""
    return Path(__file__).parent / "sample"


def suite_name(path: Path | str) -> str:
    """The name a suite is known by: the directory name, or the JSONL file's stem."""
    p = Path(path)
    return p.stem if p.is_file() else p.name


def check_suite(path: Path | str, *, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> SuiteCheck:
    """Read a whole suite and collect every problem of every file; never raises for content.

    Cases come back sorted by id; a case is kept only when its files had no
    fatal problem. Inputs without ground truth are listed in `skipped`.
    """
    p = Path(path)
    report = SuiteCheck(path=p)
    try:
        mode = os.stat(p).st_mode
    except OSError:
        report.error(p, "suite path does not exist")
        return report
    if stat.S_ISDIR(mode):
        with collector.paused():  # a suite builds no cycles; see benchq.collector
            _load_directory(p, report, max_input_bytes)
    elif p.suffix.lower() == ".jsonl" and stat.S_ISREG(mode):
        with collector.paused():
            _load_jsonl(p, report, max_input_bytes)
    elif p.suffix.lower() == ".jsonl":
        report.error(p, f"is {files._kind(mode)}, not a regular file")
    else:
        report.error(p, "expected a directory with inputs/ and expected_outputs/, or a .jsonl file")
    if not report.cases and not report.errors:
        report.error(p, "suite has no cases with ground truth")
    report.cases.sort(key=lambda c: c.id)
    return report


def load_suite(path: Path | str, *, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> Suite:
    """Read and validate a whole suite; raise `SuiteError` listing every fatal problem.

    `max_input_bytes` is the largest input or ground-truth file read (in a
    JSONL suite: the largest line); callers pass `Settings.max_input_bytes`.
    """
    report = check_suite(path, max_input_bytes=max_input_bytes)
    for warning in report.warnings:
        # Once each, naming the file, so a user sees e.g. which input lacks truth.
        logger.warning("%s: %s", warning.where, warning.detail)
    errors = report.errors
    if len(errors) == 1:
        only = errors[0]
        raise SuiteError(only.path, only.detail, line=only.line)
    if errors:
        listed = [f"  {e.where}: {e.detail}" for e in errors[:MAX_LISTED]]
        if len(errors) > MAX_LISTED:
            listed.append(
                f"  ... and {len(errors) - MAX_LISTED} more "
                f"(`benchq cases check {report.path}` lists them all)"
            )
        raise SuiteError(str(report.path), f"{len(errors)} problems\n" + "\n".join(listed))
    with collector.paused():
        return Suite(
            name=suite_name(report.path),
            cases=report.cases,
            skipped=report.skipped,
            warnings=[str(w) for w in report.warnings],
        )


def format_validation_error(error: ValidationError) -> str:
    """Render pydantic errors as `field.path[2].name: message`, joined by `; `."""
    return "; ".join(_validation_lines(error))


def _validation_lines(error: ValidationError) -> list[str]:
    # pydantic prefixes the messages of our own validators with "Value error, ".
    return [
        f"{_loc(err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in error.errors()
    ]


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{item}" if out else item
    return out or "(document)"


# ------------------------------------------------------------------ ground truth


def _truth(
    report: SuiteCheck,
    path: Path | str,
    data: Any,
    *,
    line: int | None = None,
    raw: str | None = None,
) -> GroundTruth | None:
    """Validate one ground truth; record its problems; None when it is not one.

    `raw`: the JSON text `data` was parsed from, when it is at hand: its
    strings are walked for control characters only if the text may hold one.
    """
    try:
        if raw is None or may_hold_control(raw):
            check_strings(data)
    except ContentError as exc:
        report.error(path, exc.detail, line)
        return None
    if not isinstance(data, dict):
        report.error(path, "a ground truth must be a JSON object", line)
        return None
    try:
        truth, may_have_unknown = validate_truth(data)
    except ValidationError as exc:
        for message in _validation_lines(exc):
            report.error(path, message, line)
        return None
    unknown = _unknown_fields(truth) if may_have_unknown else []
    if unknown:
        kept = ", ".join(unknown)
        report.warn(path, f"fields benchq does not know, kept as they are: {kept}", line)
    for where in _unscorable_items(truth):
        report.warn(path, f"{where}: states neither a code nor an amount: not scored", line)
    return truth


def _unknown_fields(obj: _Lenient, prefix: str = "") -> list[str]:
    out = [f"{prefix}{name}" for name in obj.unknown_fields()] if obj.model_extra else []
    for name in _nested_fields(type(obj)):
        value = getattr(obj, name)
        if isinstance(value, _Lenient):
            out += _unknown_fields(value, f"{prefix}{name}.")
        elif isinstance(value, list):
            for k, item in enumerate(value):
                if isinstance(item, _Lenient):
                    out += _unknown_fields(item, f"{prefix}{name}[{k}].")
    return out


@functools.cache
def _nested_fields(model: type[_Lenient]) -> tuple[str, ...]:
    """The fields of `model` that may hold ground-truth objects (or lists of them)."""

    def holds(annotation: Any) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, _Lenient):
            return True
        return any(holds(arg) for arg in typing.get_args(annotation))

    return tuple(name for name, info in model.model_fields.items() if holds(info.annotation))


def _unscorable_items(truth: GroundTruth) -> list[str]:
    facts = truth.expected_facts
    out: list[str] = []
    for kind in LINE_ITEM_KINDS:
        for k, item in enumerate(getattr(facts, kind)):
            if item.item_code() is None and item.item_amount() is None:
                out.append(f"expected_facts.{kind}[{k}]")
    return out


# ------------------------------------------------------------------ directory layout


def _load_directory(root: Path, report: SuiteCheck, limit: int) -> None:
    inputs = root / "inputs"
    truths = root / "expected_outputs"
    for sub in (inputs, truths):
        if not sub.is_dir():
            report.error(root, f"missing the {sub.name}/ directory")
        elif not files.inside(sub, root):
            report.error(sub, "is a symlink leading outside the suite folder")
    if report.errors:
        return
    # Paths are strings joined with os.path here: the same text `str(Path)`
    # gives (the folders come from a Path), at a fraction of the cost.
    input_dir, truth_dir = str(inputs), str(truths)
    input_files = _listed(inputs, ".txt")
    within = files.SuiteRoot(root)
    for stem, name in input_files:
        txt = os.path.join(input_dir, name)
        gt_path = os.path.join(truth_dir, stem + ".json")
        if not os.path.lexists(gt_path):
            report.warn(txt, f"no ground truth at {gt_path}: input skipped")
            report.skipped.append(stem)
            continue
        ok = True
        try:
            case_id = check_case_id(stem)
        except ContentError as exc:
            report.error(txt, f"{exc.detail}; rename the file")
            ok = False
        text = _read_document(report, txt, within, limit)
        truth = _read_truth(report, gt_path, within, limit)
        if ok and text is not None and truth is not None:
            report.cases.append(Case(id=case_id, text=text, truth=truth, source=txt))
    known = {stem for stem, _ in input_files}
    for stem, name in _listed(truths, ".json"):
        if stem not in known:
            orphan = os.path.join(truth_dir, name)
            report.warn(orphan, f"no input {stem}.txt: ground truth ignored")


def _listed(folder: Path, suffix: str) -> list[tuple[str, str]]:
    """(stem, name) of the folder's entries named `*<suffix>`, sorted by name (as `sorted(glob)`).

    Names sorted as strings and no paths made: pathlib's glob, path
    comparisons and `Path.stem` were a fifth of loading a 10,000-case suite.
    """
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(suffix))
    # as Path.stem: a name that is only the suffix (".txt") is its own stem
    return [(name[: -len(suffix)] if len(name) > len(suffix) else name, name) for name in names]


def _read_document(
    report: SuiteCheck, path: Path | str, root: files.SuiteRoot, limit: int
) -> str | None:
    try:
        text = files.read_text(path, root, limit)
        check_text(text)
    except (Refused, ContentError) as exc:
        report.error(path, exc.detail)
        return None
    if not text.strip():
        report.warn(path, "the document is empty")
    return text


def _read_truth(
    report: SuiteCheck, path: Path | str, root: files.SuiteRoot, limit: int
) -> GroundTruth | None:
    try:
        text = files.read_text(path, root, limit)
        data = parse_json(text)
    except Refused as exc:
        report.error(path, exc.detail)
        return None
    except ContentError as exc:
        report.error(path, exc.detail, exc.line)
        return None
    return _truth(report, path, data, raw=text)


# ------------------------------------------------------------------ JSONL layout


def _load_jsonl(path: Path, report: SuiteCheck, limit: int) -> None:
    # The user named this file (check_suite saw a regular file there); a
    # non-blocking open and fstat make sure it still is one, so a FIFO swapped
    # in meanwhile cannot block the loader.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        report.error(path, f"cannot be read: {exc.strerror or exc}")
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        report.error(path, "was replaced while being read")
        return
    with os.fdopen(fd, "rb") as stream:
        _read_jsonl_lines(stream, path, report, limit)


def _read_jsonl_lines(stream: BinaryIO, path: Path, report: SuiteCheck, limit: int) -> None:
    first_line: dict[str, int] = {}
    lineno = 0
    while True:
        # Bounded: a 50 MB line is refused after reading one byte past the limit.
        raw = stream.readline(limit + 2)
        if not raw:
            break
        lineno += 1
        if len(raw.rstrip(b"\r\n")) > limit:
            report.error(path, f"the line {files.over_limit(limit)}", lineno)
            while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                raw = stream.readline(1 << 16)
            continue
        try:
            line = files.decode(raw)
        except Refused as exc:
            report.error(path, exc.detail, lineno)
            continue
        if not line.strip():
            continue
        case = _jsonl_case(report, path, line, lineno, first_line)
        if case is not None:
            report.cases.append(case)


def _jsonl_case(
    report: SuiteCheck, path: Path, line: str, lineno: int, first_line: dict[str, int]
) -> Case | None:
    try:
        record = parse_json(line)
    except ContentError as exc:
        report.error(path, exc.detail, lineno)
        return None
    if not isinstance(record, dict):
        report.error(path, "expected a JSON object per line", lineno)
        return None
    ok = True
    try:
        case_id = check_case_id(record.get("id"))
        if case_id in first_line:
            report.error(
                path, f"duplicate id {case_id!r} (first on line {first_line[case_id]})", lineno
            )
            ok = False
        else:
            first_line[case_id] = lineno
    except ContentError as exc:
        report.error(path, exc.detail, lineno)
        ok = False
    text = record.get("text")
    if not isinstance(text, str):
        report.error(path, "text: a string is required", lineno)
        ok = False
    else:
        try:
            check_text(text)
        except ContentError as exc:
            report.error(path, f"text: {exc.detail}", lineno)
            ok = False
    truth_data = {k: v for k, v in record.items() if k not in _JSONL_CASE_KEYS}
    truth = _truth(report, path, truth_data, line=lineno, raw=line)
    if not ok or truth is None or not isinstance(text, str):
        return None
    return Case(id=case_id, text=text, truth=truth, source=f"{path}:{lineno}")
