"""Calls to the real model APIs: run only when their key is set (`pytest -m live`)."""

from __future__ import annotations

import os

import pytest

from benchq.config.registry import load_registry
from benchq.config.settings import Settings
from benchq.providers.factory import make_provider

BILL = """GENERAL HOSPITAL - Statement
Patient: Jane Doe    Date of service: 2024-01-05
99213  Office visit, established patient   $150.00
99213  Office visit, established patient   $150.00
Total due: $300.00
"""

pytestmark = pytest.mark.live


@pytest.mark.parametrize(
    ("model", "variables"),
    [
        ("openai", ("OPENAI_API_KEY", "BENCHQ_OPENAI_API_KEY")),
        ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY", "BENCHQ_GEMINI_API_KEY")),
        ("medgemma", ("BENCHQ_MEDGEMMA_BASE_URL",)),
    ],
)
def test_real_api_answers_with_tokens_and_cost(model: str, variables: tuple[str, ...]) -> None:
    if not any(os.environ.get(v) for v in variables):
        pytest.skip(f"set {' or '.join(variables)} to call the real {model} API")
    spec = load_registry().get(model)

    answer = make_provider(spec, Settings()).analyze(BILL)

    assert answer.input_tokens and answer.output_tokens
    assert answer.json_valid, answer.parse_error
    if spec.price_input_per_mtok:
        assert answer.cost_usd > 0
