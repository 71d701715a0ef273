""".env.example and env/*.env.example list every setting once, stay in sync with Settings,
keep credentials out of the shared file, and are themselves valid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from benchq.config.settings import Settings
from benchq.ops.env_example import GROUPED, GROUPS, env_names, examples
from tests.conftest import REPO

EXAMPLE = REPO / ".env.example"


def _assigned(text: str) -> set[str]:
    """Variables the file assigns, commented out or not."""
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def _all_examples() -> dict[str, str]:
    return {rel: (REPO / rel).read_text(encoding="utf-8") for rel in examples()}


def test_the_committed_files_are_what_the_generator_renders() -> None:
    rendered = examples()
    assert set(rendered) == {".env.example", *(f"{g.path}.example" for g in GROUPS)}
    for rel, text in rendered.items():
        assert (REPO / rel).read_text(encoding="utf-8") == text, (
            f"{rel} is stale: run .venv/bin/python scripts/gen_env_example.py"
        )


def test_every_setting_is_listed_with_its_description() -> None:
    files = _all_examples()
    assigned = set().union(*(_assigned(t) for t in files.values()))
    flat = " ".join(
        line.removeprefix("# ") for text in files.values() for line in text.splitlines()
    )
    for name, field in Settings.model_fields.items():
        primary = env_names(name, field)[0]
        assert primary in assigned, name
        assert field.description, f"Settings.{name} has no description"
        # The description's first words are there, whatever the line wrapping.
        assert " ".join(field.description.split()[:6]) in flat, name


def test_credentials_are_only_in_their_groups_files() -> None:
    shared = _assigned(EXAMPLE.read_text(encoding="utf-8"))
    for name in GROUPED:
        for variable in env_names(name, Settings.model_fields[name]):
            assert variable not in shared, f"{variable} belongs in env/, not .env.example"
    for group in GROUPS:
        text = (REPO / f"{group.path}.example").read_text(encoding="utf-8")
        wanted = {env_names(f, Settings.model_fields[f])[0] for f in group.fields}
        assert _assigned(text) == wanted, group.name


def test_credentials_answer_to_the_sdks_usual_names() -> None:
    text = "\n".join(_all_examples().values())
    for variable in (
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_ANON_KEY",
        "SUPABASE_READER_KEY",
        "BENCHQ_READER_STORE_URL",
        "BENCHQ_FLOWER_USER",
        "BENCHQ_FLOWER_PASSWORD",
    ):
        assert variable in text, variable


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    """Compose interpolates `${VAR}` from .env alone (not from env_file), so they live there."""
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", compose))
    assert "REDIS_PASSWORD" in used
    missing = used - _assigned(EXAMPLE.read_text(encoding="utf-8"))
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_every_env_file_the_compose_file_names_has_an_example() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    named: set[str] = set()
    for service in compose["services"].values():
        files = service.get("env_file", [])
        named.update([files] if isinstance(files, str) else files)
    assert named == {".env", *(g.path for g in GROUPS)}
    for path in named:
        assert (REPO / f"{path}.example").is_file(), path


def test_the_examples_together_are_a_valid_settings_file(clean_env: Path) -> None:
    (clean_env / ".env").write_text("\n".join(_all_examples().values()))
    settings = Settings()  # type: ignore[call-arg]
    # Their active values are read; everything else keeps its default.
    assert settings.flower_user is not None
    assert settings.flower_user.get_secret_value() == "admin"
    assert settings.store_url == "sqlite:////data/benchq.db"
    assert settings.reader_store_url == "sqlite:////data/benchq.db"
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
    # A copy of the repository whose examples are stale or missing: --check
    # names them, a plain run writes them.
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "gen_env_example.py", copy / "scripts")
    (copy / ".env.example").write_text("stale\n")
    script = [sys.executable, str(copy / "scripts" / "gen_env_example.py")]
    stale = subprocess.run([*script, "--check"], capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1
    assert ".env.example" in stale.stderr and "env/models.env.example" in stale.stderr
    subprocess.run(script, check=True, capture_output=True, timeout=60)
    assert (copy / "env" / "store.env.example").read_text() == examples()["env/store.env.example"]
