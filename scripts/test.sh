#!/usr/bin/env bash
# Install everything the tests need, then run the linters and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check benchq tests bench
.venv/bin/ruff format --check benchq tests bench
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -q "$@"
