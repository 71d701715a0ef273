#!/usr/bin/env bash
# Install what benchq needs on a fresh Debian/Ubuntu machine: system packages
# and a virtual environment in .venv. Idempotent. Pass --dev for the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(redis-server python3-venv)
if [ "${1:-}" = "--dev" ]; then
    # The test suite starts its own PostgreSQL 15 cluster and drives Chromium;
    # docker-compose (v1, Debian's) validates docker-compose.yml, and iproute2
    # gives the scale-out test its network namespaces.
    packages+=(postgresql chromium docker-compose iproute2)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
    .venv/bin/python -m pip install -q -e '.[dev]'
else
    .venv/bin/python -m pip install -q -e .
fi
# An editable install leaves benchq's own modules uncompiled: where
# PYTHONDONTWRITEBYTECODE is set (this machine and its CI) every process would
# compile them again, about 60 ms of each `benchq` command and worker start.
.venv/bin/python -m compileall -q benchq
