"""Hostile suite files are refused with one line each, exit 2, nothing opened or written.

Each test drives the installed command (`python -m benchq.cli`) in a subprocess
with a timeout, so a loader that blocks on a FIFO fails the test instead of
hanging it, and a traceback would show in stderr.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchq.cases.content import control_character, may_hold_control
from benchq.cases.files import DEFAULT_MAX_INPUT_BYTES
from tests.pipeline_helpers import cli

TRUTH: dict[str, Any] = {
    "document_type": "medical_bill",
    "expected_issues": [],
    "expected_facts": {"patient_name": "Jane Doe", "medical_line_items": []},
}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def _suite(root: Path, *names: str) -> Path:
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    (root / "expected_outputs").mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / "inputs" / f"{name}.txt").write_text(f"Bill {name}\nTotal: $10.00\n")
        (root / "expected_outputs" / f"{name}.json").write_text(json.dumps(TRUTH))
    return root


def _refused(proc: subprocess.CompletedProcess[str], *needles: str) -> list[str]:
    """Assert exit 2, no traceback, and a problem line naming each needle; return the lines."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stdout.splitlines() if ": error: " in ln]
    for needle in needles:
        assert any(needle in ln for ln in lines), (needle, proc.stdout)
    return lines


def test_symlink_leading_out_of_the_suite_is_refused_unread(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "good")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-CONTENT\n")
    (root / "inputs" / "leak.txt").symlink_to(secret)
    (root / "expected_outputs" / "leak.json").write_text(json.dumps(TRUTH))
    (root / "inputs" / "passwd.txt").symlink_to("/etc/passwd")
    (root / "expected_outputs" / "passwd.json").write_text(json.dumps(TRUTH))
    proc = _run("cases", "check", str(root))
    lines = _refused(proc, "leak.txt: error: is a symlink leading outside the suite folder")
    assert any("passwd.txt: error: is a symlink leading outside" in ln for ln in lines)
    assert "SECRET-CONTENT" not in proc.stdout + proc.stderr
    assert len(lines) == 2  # one line each
    # A symlink to a file inside the suite is fine.
    (root / "inputs" / "leak.txt").unlink()
    (root / "inputs" / "passwd.txt").unlink()
    (root / "inputs" / "alias.txt").symlink_to(root / "inputs" / "good.txt")
    (root / "expected_outputs" / "alias.json").write_text(json.dumps(TRUTH))
    (root / "expected_outputs" / "leak.json").unlink()
    (root / "expected_outputs" / "passwd.json").unlink()
    ok = _run("cases", "check", str(root))
    assert ok.returncode == 0, ok.stdout
    assert "2 cases" in ok.stdout


def test_symlinked_folder_leading_out_is_refused(tmp_path: Path) -> None:
    outside = _suite(tmp_path / "elsewhere", "a")
    root = tmp_path / "s"
    root.mkdir()
    (root / "inputs").symlink_to(outside / "inputs")
    (root / "expected_outputs").mkdir()
    _refused(_run("cases", "check", str(root)), "inputs: error: is a symlink leading outside")


def test_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "good")
    os.mkfifo(root / "inputs" / "pipe.txt")
    (root / "expected_outputs" / "pipe.json").write_text(json.dumps(TRUTH))
    os.mkfifo(root / "expected_outputs" / "good2.json")
    (root / "inputs" / "good2.txt").write_text("bill\n")
    proc = _run("cases", "check", str(root))  # would block for ever on open()
    _refused(
        proc,
        "pipe.txt: error: is a FIFO (named pipe), not a regular file",
        "good2.json: error: is a FIFO (named pipe), not a regular file",
    )
    jsonl_fifo = tmp_path / "suite.jsonl"
    os.mkfifo(jsonl_fifo)
    _refused(_run("cases", "check", str(jsonl_fifo)), "suite.jsonl: error: is a FIFO")


def test_device_and_directory_are_not_regular_files(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "good")
    (root / "inputs" / "folder.txt").mkdir()
    (root / "expected_outputs" / "folder.json").write_text(json.dumps(TRUTH))
    try:
        os.mknod(root / "inputs" / "zero.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    (root / "expected_outputs" / "zero.json").write_text(json.dumps(TRUTH))
    _refused(
        _run("cases", "check", str(root)),
        "folder.txt: error: is a directory, not a regular file",
        "zero.txt: error: is a character device, not a regular file",
    )


def test_size_limit_default_and_setting(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "good")
    (root / "inputs" / "huge.txt").write_bytes(b"x" * (DEFAULT_MAX_INPUT_BYTES + 1))
    (root / "expected_outputs" / "huge.json").write_text(json.dumps(TRUTH))
    _refused(
        _run("cases", "check", str(root)),
        "huge.txt: error: is 1,048,577 bytes, above the limit of 1,048,576 "
        "(BENCHQ_MAX_INPUT_BYTES)",
    )
    (root / "inputs" / "huge.txt").unlink()
    (root / "expected_outputs" / "huge.json").unlink()
    assert _run("cases", "check", str(root)).returncode == 0
    # The setting lowers the limit: now the 50-byte ground truth is too big.
    small = _run("cases", "check", str(root), env={"BENCHQ_MAX_INPUT_BYTES": "20"})
    _refused(small, "good.json: error: is ", "above the limit of 20")
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": "y" * 5000, **TRUTH}) + "\n")
    _refused(
        _run("cases", "check", str(jsonl), env={"BENCHQ_MAX_INPUT_BYTES": "1000"}),
        "big.jsonl:1: error: the line is larger than the limit of 1,000 bytes",
    )


def test_deep_nesting_non_finite_numbers_and_control_characters(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "good")
    bad = {
        "deep": '{"document_type": "medical_bill", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "nan": '{"document_type": "medical_bill", "expected_savings": NaN}',
        "inf": '{"document_type": "medical_bill",\n "expected_savings": -Infinity}',
        "huge": '{"document_type": "medical_bill", "expected_savings": 1e400}',
        "nul_truth": json.dumps({**TRUTH, "expected_facts": {"patient_name": "Ja\u0000ne"}}),
    }
    for name, body in bad.items():
        (root / "inputs" / f"{name}.txt").write_text("bill\n")
        (root / "expected_outputs" / f"{name}.json").write_text(body)
    (root / "inputs" / "nul_doc.txt").write_bytes(b"Patient: Jane\nTotal \x00 $10.00\n")
    (root / "expected_outputs" / "nul_doc.json").write_text(json.dumps(TRUTH))
    (root / "inputs" / "esc_doc.txt").write_text("\x1b[31mred\x1b[0m\n")
    (root / "expected_outputs" / "esc_doc.json").write_text(json.dumps(TRUTH))
    lines = _refused(
        _run("cases", "check", str(root)),
        "deep.json:1: error: JSON nested deeper than 32 levels",
        "nan.json:1: error: non-finite number NaN: JSON numbers must be finite",
        "inf.json:2: error: non-finite number -Infinity",
        "huge.json: error: invalid JSON: number 1e400 is too large to be finite",
        "nul_truth.json: error: expected_facts.patient_name: control character U+0000 (NUL)",
        "nul_doc.txt: error: control character U+0000 (NUL) at line 2, column 7",
        "esc_doc.txt: error: control character U+001B (ESC) at line 1, column 1",
    )
    assert len(lines) == 7


def test_case_ids_outside_the_allowed_set(tmp_path: Path) -> None:
    root = _suite(tmp_path / "s", "ok.name-1_2")
    for stem in ("bill one", "x" * 129, "caf\u00e9"):
        (root / "inputs" / f"{stem}.txt").write_text("bill\n")
        (root / "expected_outputs" / f"{stem}.json").write_text(json.dumps(TRUTH))
    lines = _refused(
        _run("cases", "check", str(root)),
        "bill one.txt: error: case id 'bill one' is not allowed",
        "... (129 characters) is not allowed",
        "café.txt: error: case id 'café' is not allowed",
    )
    assert len(lines) == 3
    jsonl = tmp_path / "ids.jsonl"
    rows = [
        {"id": "../../x", "text": "t", **TRUTH},
        {"id": "a" * 100_000, "text": "t", **TRUTH},
        {"id": "..", "text": "t", **TRUTH},
        {"id": 7, "text": "t", **TRUTH},
        {"id": "fine", "text": "t\u0000", **TRUTH},
        {"id": "good", "text": "t", **TRUTH},
    ]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lines = _refused(
        _run("cases", "check", str(jsonl)),
        "ids.jsonl:1: error: case id '../../x' is not allowed",
        "ids.jsonl:2: error: case id 'aaaa",
        "ids.jsonl:3: error: case id '..' is not allowed",
        "ids.jsonl:4: error: id: a non-empty string is required",
        "ids.jsonl:5: error: text: control character U+0000 (NUL)",
    )
    assert len(lines) == 5
    assert all(len(ln) < 300 for ln in lines)  # the 100,000-character id is not echoed


def test_run_refuses_a_hostile_suite_before_writing_anything(
    clean_env: Path, tmp_path: Path
) -> None:
    root = _suite(tmp_path / "s", "good")
    (root / "inputs" / "leak.txt").symlink_to("/etc/passwd")
    (root / "expected_outputs" / "leak.json").write_text(json.dumps(TRUTH))
    os.mkfifo(root / "inputs" / "pipe.txt")
    (root / "expected_outputs" / "pipe.json").write_text(json.dumps(TRUTH))
    before = sorted(p.name for p in clean_env.iterdir())
    proc = _run("run", "--suite", str(root), "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "2 problems" in proc.stderr
    assert "leak.txt: is a symlink leading outside the suite folder" in proc.stderr
    assert "pipe.txt: is a FIFO (named pipe)" in proc.stderr
    assert sorted(p.name for p in clean_env.iterdir()) == before  # no benchq.db, no results


def test_the_control_character_shortcut_misses_no_string_that_holds_one() -> None:
    # Loading skips walking a ground truth's strings when its text cannot
    # hold a control character: every way JSON can write one must be caught.
    def strings(data: Any) -> list[str]:
        if isinstance(data, str):
            return [data]
        if isinstance(data, dict):
            return [s for k, v in data.items() for s in (k, *strings(v))]
        if isinstance(data, list):
            return [s for v in data for s in strings(v)]
        return []

    checked = 0
    for code in range(0x300):
        ch = chr(code)
        for text in (
            json.dumps({"a": f"x{ch}y"}),  # escaped as \uXXXX or a short escape
            json.dumps({"a": [ch]}, ensure_ascii=False),  # raw where JSON allows it
            json.dumps({ch: {"b": 1}}),
        ):
            if any(control_character(s) for s in strings(json.loads(text))):
                checked += 1
                assert may_hold_control(text), text
    assert checked == 3 * (0x20 - 5 + 0x21)  # C0 minus \t\n\v\f\r, DEL and C1, three ways
    assert not may_hold_control(json.dumps({"a": "tab\there, line\nthere, café"}))
