"""Who may open the dashboard, from where, and who may write through it: the rules of
`benchq.dashboard.auth`, and `benchq dashboard` refusing to listen beyond localhost
without a login. The browser side (login page, disabled writes, a foreign Origin)
is in tests/test_dashboard_browser.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from benchq.config.settings import Settings
from benchq.dashboard.auth import access_for, allowed_origins, credentials, is_local
from benchq.errors import ConfigError


def settings(**values: object) -> Settings:
    """Settings from `values` alone (no environment, no .env)."""
    return Settings.model_construct(**{**Settings().model_dump(), **values})


@pytest.fixture(autouse=True)
def _no_dashboard_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BENCHQ_DASHBOARD_"):
            monkeypatch.delenv(name)


def test_loopback_names_and_addresses_are_local_and_others_not() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "LOCALHOST"):
        assert is_local(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "bench.example.org", ""):
        assert not is_local(host), host


def test_a_login_needs_both_user_and_password() -> None:
    assert credentials(settings()) is None
    pair = settings(dashboard_user=SecretStr("ann"), dashboard_password=SecretStr("pw"))
    assert credentials(pair) == ("ann", "pw")
    with pytest.raises(ConfigError, match="BENCHQ_DASHBOARD_PASSWORD is not set"):
        credentials(settings(dashboard_user=SecretStr("ann")))
    with pytest.raises(ConfigError, match="BENCHQ_DASHBOARD_USER is not set"):
        credentials(settings(dashboard_password=SecretStr("pw")))
    # compose's example leaves the password empty: that is no password
    with pytest.raises(ConfigError, match="BENCHQ_DASHBOARD_PASSWORD"):
        credentials(settings(dashboard_user=SecretStr("admin"), dashboard_password=SecretStr("")))


def test_beyond_localhost_without_a_login_is_refused_naming_the_settings() -> None:
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(ConfigError) as refused:
            access_for(settings(), host, 5006)
        assert "BENCHQ_DASHBOARD_USER" in str(refused.value)
        assert "BENCHQ_DASHBOARD_PASSWORD" in str(refused.value)
        assert refused.value.exit_code == 2
    local = access_for(settings(), "127.0.0.1", 5006)
    assert not local.login and "basic_auth" not in local.serve_options()


def test_a_login_configures_panels_basic_auth_with_its_own_pages() -> None:
    access = access_for(
        settings(dashboard_user=SecretStr("ann"), dashboard_password=SecretStr("pw")),
        "0.0.0.0",
        5006,
    )
    options = access.serve_options()
    assert options["basic_auth"] == {"ann": "pw"}
    assert len(options["cookie_secret"]) >= 32  # random when not configured
    for page in ("login_template", "logout_template"):
        text = Path(options[page]).read_text(encoding="utf-8")
        assert "http" not in text.replace("http-equiv", "")  # nothing fetched elsewhere
    assert "pw" not in repr(access)
    fixed = access_for(
        settings(
            dashboard_user=SecretStr("ann"),
            dashboard_password=SecretStr("pw"),
            dashboard_cookie_secret=SecretStr("k" * 40),
        ),
        "0.0.0.0",
        5006,
    )
    assert fixed.serve_options()["cookie_secret"] == "k" * 40


def test_allowed_origins_are_the_listening_address_and_localhost_never_any() -> None:
    assert allowed_origins(settings(), "0.0.0.0", 5006) == ("localhost:5006", "127.0.0.1:5006")
    assert allowed_origins(settings(), "10.0.0.7", 8080) == (
        "10.0.0.7:8080",
        "localhost:8080",
        "127.0.0.1:8080",
    )
    listed = settings(dashboard_origins="bench.example.org:443, 10.0.0.7:5006")
    assert allowed_origins(listed, "0.0.0.0", 5006) == ("bench.example.org:443", "10.0.0.7:5006")
    assert "*" not in access_for(settings(), "127.0.0.1", 5006).serve_options()["websocket_origin"]
    with pytest.raises(ConfigError, match="BENCHQ_DASHBOARD_ORIGINS"):
        allowed_origins(settings(dashboard_origins="a:b:c"), "0.0.0.0", 5006)
    for wildcard in ("*", "*:5006", "bench.example.org,*"):
        with pytest.raises(ValidationError, match="not allowed"):
            Settings(dashboard_origins=wildcard)


def test_the_command_refuses_every_interface_without_a_login(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "benchq.cli", "dashboard", "--host", "0.0.0.0", "--port", "5999"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "BENCHQ_DASHBOARD_USER" in lines[0] and "BENCHQ_DASHBOARD_PASSWORD" in lines[0]
    assert not (tmp_path / "benchq.db").exists()  # refused before the store was opened
