""".env.example lists every setting, stays in sync with Settings, and is itself valid."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchq.config.settings import Settings
from benchq.ops.env_example import env_names, render_env_example
from tests.conftest import REPO

EXAMPLE = REPO / ".env.example"


def _assigned(text: str) -> set[str]:
    """Variables the file assigns, commented out or not."""
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_committed_file_is_what_the_generator_renders() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_env_example(), (
        ".env.example is stale: run .venv/bin/python scripts/gen_env_example.py"
    )


def test_every_setting_is_listed_with_its_description() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assigned = _assigned(text)
    flat = " ".join(line.removeprefix("# ") for line in text.splitlines())
    for name, field in Settings.model_fields.items():
        primary = env_names(name, field)[0]
        assert primary in assigned, name
        assert field.description, f"Settings.{name} has no description"
        # The description's first words are there, whatever the line wrapping.
        assert " ".join(field.description.split()[:6]) in flat, name


def test_credentials_answer_to_the_sdks_usual_names() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for variable in (
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_ANON_KEY",
        "BENCHQ_FLOWER_USER",
        "BENCHQ_FLOWER_PASSWORD",
    ):
        assert variable in text, variable


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", compose))
    assert {"REDIS_PASSWORD", "BENCHQ_STORE_URL"} <= used
    missing = used - _assigned(EXAMPLE.read_text(encoding="utf-8"))
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_the_example_is_a_valid_settings_file(clean_env: Path) -> None:
    (clean_env / ".env").write_text(EXAMPLE.read_text(encoding="utf-8"))
    settings = Settings()  # type: ignore[call-arg]
    # Its active values are read; everything else keeps its default.
    assert settings.flower_user is not None
    assert settings.flower_user.get_secret_value() == "admin"
    assert settings.schedule_time == "02:00"
    assert settings.broker_url is None


def test_the_generator_script_checks_and_writes(tmp_path: Path) -> None:
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_env_example.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
