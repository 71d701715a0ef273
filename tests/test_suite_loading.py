"""Suite loading: both layouts, skipped inputs, and errors that name file, line and field."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from benchq.cases.schema import DocumentType
from benchq.cases.suite import MAX_LISTED, check_suite, load_suite, sample_suite_path, suite_name
from benchq.errors import SuiteError


def _truth(**overrides: Any) -> dict[str, Any]:
    truth: dict[str, Any] = {
        "document_type": "medical_bill",
        "expected_issues": [
            {"type": "duplicate_charge", "description": "85025 twice", "should_detect": True}
        ],
        "expected_facts": {
            "patient_name": "Jane Doe",
            "patient_dob": "1980-01-02",
            "date_of_service": "2024-03-05",
            "facility_name": "Riverside Clinic",
            "medical_line_items": [
                {
                    "cpt_code": code,
                    "date_of_service": "2024-03-05",
                    "description": "x",
                    "billed_amount": 10.0,
                    "patient_responsibility": 10.0,
                }
                for code in ("99213", "85025", "85025")
            ],
        },
        "expected_savings": 10.0,
    }
    truth.update(overrides)
    return truth


def _write_case(root: Path, name: str, truth: dict[str, Any] | str | None) -> None:
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    (root / "expected_outputs").mkdir(parents=True, exist_ok=True)
    (root / "inputs" / f"{name}.txt").write_text(f"document {name}\n", encoding="utf-8")
    if truth is not None:
        body = truth if isinstance(truth, str) else json.dumps(truth, indent=2)
        (root / "expected_outputs" / f"{name}.json").write_text(body, encoding="utf-8")


def test_directory_layout_loads_cases_sorted_by_id(tmp_path: Path) -> None:
    root = tmp_path / "mysuite"
    _write_case(root, "b_bill", _truth())
    _write_case(root, "a_bill", _truth(document_type="dental_bill"))
    suite = load_suite(root)
    assert suite.name == "mysuite"
    assert [c.id for c in suite.cases] == ["a_bill", "b_bill"]
    assert suite.cases[0].truth.document_type is DocumentType.dental_bill
    assert suite.cases[1].text == "document b_bill\n"
    assert suite.cases[1].truth.expected_facts.medical_line_items[2].cpt_code == "85025"
    assert suite.skipped == []


def test_jsonl_layout_loads_with_ground_truth_at_top_level(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    rows = [{"id": "z1", "text": "bill z", **_truth()}, {"id": "a1", "text": "bill a", **_truth()}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    suite = load_suite(path)
    assert suite.name == "cases"
    assert [c.id for c in suite.cases] == ["a1", "z1"]
    assert suite.cases[1].text == "bill z"
    assert suite.cases[0].source == f"{path}:2"
    assert suite.cases[0].truth.expected_savings == 10.0


def test_input_without_ground_truth_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_case(tmp_path, "good", _truth())
    _write_case(tmp_path, "orphan_input", None)
    with caplog.at_level(logging.WARNING, logger="benchq.cases"):
        suite = load_suite(tmp_path)
    assert [c.id for c in suite.cases] == ["good"]
    assert suite.skipped == ["orphan_input"]
    warnings = [r for r in caplog.records if r.name == "benchq.cases"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "orphan_input.txt" in warnings[0].getMessage()


def test_an_input_named_only_by_its_suffix_is_named_as_it_is(tmp_path: Path) -> None:
    # `.txt` is a hidden file whose stem (as pathlib reads it) is `.txt`:
    # its warning names that file, not one made up from the stem.
    _write_case(tmp_path, "good", _truth())
    (tmp_path / "inputs" / ".txt").write_text("PATIENT: Jane Doe\n")
    report = check_suite(tmp_path)
    assert [c.id for c in report.cases] == ["good"]
    assert report.skipped == [".txt"]
    assert [str(w) for w in report.warnings] == [
        f"{tmp_path / 'inputs' / '.txt'}: warning: no ground truth at "
        f"{tmp_path / 'expected_outputs' / '.txt.json'}: input skipped"
    ]


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    _write_case(tmp_path, "good", _truth())
    _write_case(
        tmp_path, "broken", '{\n  "document_type": "medical_bill",\n  "expected_facts": }\n'
    )
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path)
    err = info.value
    assert err.line == 3
    assert str(err).startswith(str(tmp_path / "expected_outputs" / "broken.json") + ":3: ")
    assert "invalid JSON" in str(err)


def test_invalid_field_names_file_and_field_path(tmp_path: Path) -> None:
    truth = _truth()
    truth["expected_facts"]["medical_line_items"][2]["billed_amount"] = "ten dollars"
    _write_case(tmp_path, "bad_amount", truth)
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path)
    message = str(info.value)
    assert "bad_amount.json" in message
    assert (
        "expected_facts.medical_line_items[2].billed_amount: expected an amount "
        "such as 240 or $1,250.00, got 'ten dollars'"
    ) in message


def test_missing_and_invalid_enum_fields_are_named(tmp_path: Path) -> None:
    truth = _truth()
    del truth["document_type"]
    _write_case(tmp_path, "no_type", truth)
    with pytest.raises(SuiteError, match=r"no_type\.json: document_type: Field required"):
        load_suite(tmp_path)
    _write_case(tmp_path, "no_type", _truth(document_type="vet_bill"))
    with pytest.raises(SuiteError, match=r"document_type: Input should be 'medical_bill'"):
        load_suite(tmp_path)


def test_jsonl_bad_line_is_named_by_number(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    good = json.dumps({"id": "a", "text": "t", **_truth()})
    path.write_text(good + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: invalid JSON")


def test_jsonl_invalid_field_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    bad = _truth()
    bad["expected_facts"]["medical_line_items"][1]["cpt_code"] = ["85025"]
    rows = [{"id": "a", "text": "t", **_truth()}, {"id": "b", "text": "t", **bad}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.line == 2
    assert "expected_facts.medical_line_items[1].cpt_code: Input should be a valid string" in str(
        info.value
    )


def test_jsonl_duplicate_and_missing_id(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    row = json.dumps({"id": "same", "text": "t", **_truth()})
    path.write_text(f"{row}\n{json.dumps({'id': 'other', 'text': 't', **_truth()})}\n{row}\n")
    with pytest.raises(SuiteError, match=r"s\.jsonl:3: duplicate id 'same' \(first on line 1\)"):
        load_suite(path)
    path.write_text(json.dumps({"text": "t", **_truth()}) + "\n")
    with pytest.raises(SuiteError, match=r":1: id: a non-empty string is required"):
        load_suite(path)


def test_missing_path_empty_suite_and_wrong_file_type(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(tmp_path / "nope")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "expected_outputs").mkdir()
    with pytest.raises(SuiteError, match="no cases"):
        load_suite(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(SuiteError, match="no cases"):
        load_suite(empty)
    other = tmp_path / "suite.csv"
    other.write_text("x")
    with pytest.raises(SuiteError, match=r"suite\.csv: expected a directory"):
        load_suite(other)
    with pytest.raises(SuiteError, match="missing the inputs/ directory"):
        load_suite(tmp_path / "inputs")


def test_one_bad_file_fails_the_whole_suite(tmp_path: Path) -> None:
    for k in range(5):
        _write_case(tmp_path, f"ok_{k}", _truth())
    _write_case(tmp_path, "zz_bad", _truth(expected_savings="lots"))
    with pytest.raises(SuiteError, match=r"zz_bad\.json: expected_savings"):
        load_suite(tmp_path)


def test_suite_name_and_sample_path(tmp_path: Path) -> None:
    assert suite_name(tmp_path / "nightly") == "nightly"
    jsonl = tmp_path / "v2.jsonl"
    jsonl.write_text("")
    assert suite_name(jsonl) == "v2"
    assert sample_suite_path().name == "sample"
    assert (sample_suite_path() / "inputs").is_dir()


def test_every_problem_of_every_file_in_one_pass(tmp_path: Path) -> None:
    """Eight mistakes in five files: all eight are reported at once, each with file and field."""
    _write_case(tmp_path, "a_ok", _truth())
    bad_amounts = _truth()
    bad_amounts["expected_facts"]["medical_line_items"][0]["billed_amount"] = "lots"
    bad_amounts["expected_facts"]["medical_line_items"][2]["billed_amount"] = True
    _write_case(tmp_path, "b_amounts", bad_amounts)
    _write_case(tmp_path, "c_type", _truth(document_type="vet_bill", expected_savings="x"))
    _write_case(tmp_path, "d_syntax", '{"document_type": "medical_bill",,}')
    no_type = _truth(expected_issues=[{"description": "no type"}])
    del no_type["document_type"]
    _write_case(tmp_path, "e_missing", no_type)
    _write_case(tmp_path, "f bad id", _truth())
    _write_case(tmp_path, "g_skipped", None)
    report = check_suite(tmp_path)
    got = [(Path(p.path).name, p.line, p.detail.split(":")[0]) for p in report.errors]
    assert got == [
        ("b_amounts.json", None, "expected_facts.medical_line_items[0].billed_amount"),
        ("b_amounts.json", None, "expected_facts.medical_line_items[2].billed_amount"),
        ("c_type.json", None, "document_type"),
        ("c_type.json", None, "expected_savings"),
        ("d_syntax.json", 1, "invalid JSON"),
        ("e_missing.json", None, "document_type"),
        ("e_missing.json", None, "expected_issues[0].type"),
        ("f bad id.txt", None, "case id 'f bad id' is not allowed"),
    ]
    assert [c.id for c in report.cases] == ["a_ok"]
    assert report.skipped == ["g_skipped"]
    assert report.summary() == f"{tmp_path}: 8 errors, 1 case, 1 skipped input, 1 warning"
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{tmp_path}: 8 problems"
    assert len(lines) == 9
    assert lines[5].endswith("d_syntax.json:1: invalid JSON: Expecting property name enclosed "
                             "in double quotes (column 34)")  # fmt: skip


def test_a_long_list_of_problems_is_cut_in_the_error_but_not_in_check(tmp_path: Path) -> None:
    for k in range(30):
        _write_case(tmp_path, f"bad_{k:02d}", _truth(document_type="vet_bill"))
    assert len(check_suite(tmp_path).errors) == 30
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{tmp_path}: 30 problems"
    assert len(lines) == 1 + MAX_LISTED + 1
    assert lines[-1] == f"  ... and 10 more (`benchq cases check {tmp_path}` lists them all)"


def test_check_command_lists_problems_and_counts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from benchq.cli import main

    _write_case(tmp_path, "a", _truth(extra_field=1))
    _write_case(tmp_path, "b", None)
    runner = CliRunner()
    ok = runner.invoke(main, ["cases", "check", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines() == [
        f"{tmp_path / 'expected_outputs' / 'a.json'}: warning: fields benchq does not know, "
        "kept as they are: extra_field",
        f"{tmp_path / 'inputs' / 'b.txt'}: warning: no ground truth at "
        f"{tmp_path / 'expected_outputs' / 'b.json'}: input skipped",
        f"{tmp_path}: 1 case, 1 skipped input, 2 warnings",
    ]
    _write_case(tmp_path, "c", _truth(document_type="vet_bill", expected_savings=float("nan")))
    bad = runner.invoke(main, ["cases", "check", str(tmp_path)])
    assert bad.exit_code == 2
    errors = [ln for ln in bad.stdout.splitlines() if ": error: " in ln]
    c_json = tmp_path / "expected_outputs" / "c.json"
    nan_line = c_json.read_text().splitlines().index('  "expected_savings": NaN') + 1
    assert errors == [
        f"{c_json}:{nan_line}: error: non-finite number NaN: JSON numbers must be finite"
    ]
    assert "1 error, 1 case, 1 skipped input, 2 warnings: the suite cannot be used" in bad.stderr
