"""benchq's settings, read once at each entry point and passed down.

Every field can be set by an environment variable with the `BENCHQ_` prefix
(e.g. `BENCHQ_BROKER_URL`) or in a `.env` file in the working directory.
Leaving the broker and store unset selects the embedded default: a private
Redis started by `benchq run`, and a SQLite file in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The smallest batch chosen for you (`Settings.batch_size`).
MIN_AUTO_BATCH = 20


def auto_batch_size(worker_concurrency: int) -> int:
    """The batch size when none is set: a worker's whole concurrency, 20 cases at least.

    One job fills a worker's calls and the next one takes the slots as they
    free (`local.worker_pool.pool_slots`), so the calls never wait for a
    message; and each message costs a worker about 4 ms of CPU, so the
    fewer a call shares, the better (docs/performance.md: at 128 calls a
    worker, 128 cases a job used 0.91 of the CPU per call of 64).
    """
    return max(MIN_AUTO_BATCH, worker_concurrency)


def _default_workers() -> int:
    """One per CPU core."""
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """All of benchq's settings. Each field documents itself in `.env.example`."""

    model_config = SettingsConfigDict(
        env_prefix="BENCHQ_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- queue -----------------------------------------------------------------
    broker_url: str | None = Field(
        default=None,
        description="Redis URL of the shared broker (redis://[:password@]host:port/db). "
        "Unset: `benchq run` starts a private Redis of its own.",
    )
    result_backend: str | None = Field(
        default=None, description="Celery result backend URL; defaults to the broker URL."
    )
    visibility_timeout: int = Field(
        default=45,
        ge=10,
        description="Seconds after which a job taken by a worker that vanished is "
        "delivered again. A living worker renews the jobs it holds every quarter of this, "
        "so a job may run far longer; only a dead worker's jobs wait out the timeout.",
    )
    restore_interval: int = Field(
        default=5,
        ge=1,
        description="Seconds between a worker's scans for jobs of vanished workers.",
    )
    worker_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="How long an idle worker's wait for a job at the broker lasts (the "
        "BRPOP timeout). A stopping worker waits out the wait in progress; `benchq run` "
        "gives the workers it starts 0.2. Fractions of a second need Redis 6 or later.",
    )

    # --- workers ---------------------------------------------------------------
    workers: int = Field(
        default_factory=_default_workers,
        ge=1,
        description="Worker processes `benchq run` starts on the embedded default.",
    )
    worker_pool: Literal["threads", "prefork", "solo"] = Field(
        default="threads",
        description="Celery pool of each worker process; threads suit I/O-bound model calls.",
    )
    worker_concurrency: int = Field(
        default=8,
        ge=1,
        description="Model calls one worker process keeps in flight at once, per model "
        "(on one event loop; the fleet-wide limits of models.toml apply on top).",
    )
    batch_size: int = Field(
        default=MIN_AUTO_BATCH,
        ge=1,
        description="Cases of one model per job message; a job runs its cases "
        "concurrently. 1 sends one message per (model, case). Unset: "
        "BENCHQ_WORKER_CONCURRENCY, 20 at least (each message costs a worker about "
        "4 ms of CPU, so many calls in flight want fewer messages per call).",
    )
    redis_server: str = Field(
        default="redis-server",
        description="redis-server binary for the embedded default (name on PATH or path).",
    )

    # --- store -----------------------------------------------------------------
    store_url: str | None = Field(
        default=None,
        description="Results store: postgresql://... or sqlite:///path. "
        "Unset: sqlite file `benchq.db` in the working directory (unless Supabase is set).",
    )
    supabase_url: str | None = Field(
        default=None,
        validation_alias="SUPABASE_URL",
        description="Supabase project URL; with a key, the store is Supabase.",
    )
    supabase_service_role_key: SecretStr | None = Field(
        default=None,
        validation_alias="SUPABASE_SERVICE_ROLE_KEY",
        description="Supabase service-role key: needed to write results.",
    )
    supabase_anon_key: SecretStr | None = Field(
        default=None,
        validation_alias="SUPABASE_ANON_KEY",
        description="Supabase anon key: reads aggregates only (snapshots, transactions, "
        "trends), never a document, a raw output or a case result.",
    )
    supabase_reader_key: SecretStr | None = Field(
        default=None,
        validation_alias="SUPABASE_READER_KEY",
        description="Supabase key of the benchq_reader role (a JWT signed with the "
        "project's secret, role claim benchq_reader; see docs/operations.md): reads runs, "
        "case results and documents, writes nothing. The dashboard's case views need it.",
    )
    reader_store_url: str | None = Field(
        default=None,
        description="The store the dashboard reads, in place of BENCHQ_STORE_URL, so it "
        "holds no writer's password: postgresql:// URL of a login in the benchq_reader role "
        "(see docs/operations.md), or sqlite:///path of a one-host stack's file.",
    )

    # --- results ---------------------------------------------------------------
    results_dir: Path = Field(
        default=Path("benchmarks/results"),
        description="Where aggregated_metrics_<model>.json files are written, "
        "relative to the working directory.",
    )
    dataset_version: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,128}$",
        description="Dataset label results are stored under. Unset: the suite's name and "
        "a digest of its contents (`sample-3f2a9c1b7d4e`), so an edited suite starts a "
        "history of its own. Set it to keep one history across edits on purpose.",
    )
    prompt_version: str = Field(default="v1", description="Prompt version used for the run.")
    environment: Literal["github-actions", "local", "staging", "production"] = Field(
        default="local", description="Where results come from (push metadata)."
    )

    max_error_rate: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Largest share of a model's cases that may fail (call or answer "
        "errors) for its run to be published; above it the model's run is marked failed "
        "and no snapshot is made.",
    )

    verdict_alpha: float = Field(
        default=0.01,
        gt=0.0,
        lt=1.0,
        description="Significance level of the regression verdict's paired test: a drop "
        "larger than the threshold is a regression only when chance would give it less "
        "often than this (docs/verdicts.md), else it is inconclusive.",
    )

    # --- suites ----------------------------------------------------------------
    max_input_bytes: int = Field(
        default=1_048_576,
        ge=1,
        le=1 << 30,
        description="Largest suite file read, in bytes: each input document and each "
        "ground-truth file (in a JSONL suite, each line). Larger files are refused.",
    )

    # --- model providers -------------------------------------------------------
    # Each credential also answers to the SDK's usual variable, so an existing
    # OPENAI_API_KEY or GEMINI_API_KEY works without a BENCHQ_ copy of it.
    registry_path: Path | None = Field(
        default=None,
        description="A models.toml merged over the default model registry "
        "(entries with a known name override its fields; new names add models).",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("BENCHQ_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="OpenAI API key (BENCHQ_OPENAI_API_KEY or OPENAI_API_KEY).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("BENCHQ_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI API base URL; unset means the SDK's default endpoint.",
    )
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("BENCHQ_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
        description="Gemini API key (BENCHQ_GEMINI_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY).",
    )
    gemini_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("BENCHQ_GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"),
        description="Gemini API base URL; unset means the SDK's default endpoint.",
    )
    medgemma_base_url: str | None = Field(
        default=None,
        description="Base URL of the OpenAI-compatible server serving MedGemma "
        "(vLLM, Ollama, TGI), e.g. http://gpu-host:8000/v1. Overrides the registry's.",
    )
    medgemma_api_key: SecretStr | None = Field(
        default=None,
        description="API key of the MedGemma server, if it asks for one (vLLM --api-key).",
    )
    provider_max_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Attempts per model call, first included, for 429, 5xx and timeouts.",
    )
    provider_retry_initial_delay: float = Field(
        default=1.0, ge=0.0, description="Seconds before the first retry (doubles each time)."
    )
    provider_retry_max_delay: float = Field(
        default=60.0, ge=0.0, description="Longest wait between two attempts, in seconds."
    )
    limit_defer_after: float | None = Field(
        default=2.0,
        ge=0.0,
        description="Seconds a job may wait inside a worker for a model's fleet-wide "
        "limit before it is requeued and its worker thread freed for other models' jobs.",
    )
    response_cache: bool = Field(
        default=True,
        description="Reuse a stored answer when provider, model, prompt, parameters and "
        "document are unchanged; false makes every case call the model.",
    )

    # --- notifications -------------------------------------------------------
    notify_urls: str = Field(
        default="",
        description="Comma-separated webhook URLs that get a JSON summary of every finished "
        "run (published, failed or regressed); the body has a Slack-compatible `text` field "
        "beside the structured one. Empty: no notifications.",
    )
    notify_timeout: float = Field(
        default=10.0,
        gt=0.0,
        le=120.0,
        description="Seconds one webhook request may take before it is tried again.",
    )

    # --- operations ----------------------------------------------------------
    flower_user: SecretStr | None = Field(
        default=None,
        description="User name for Flower's basic auth. `benchq flower` refuses to start "
        "without it (Flower shows every job and can revoke them).",
    )
    flower_password: SecretStr | None = Field(
        default=None,
        description="Password for Flower's basic auth (no commas: Flower splits on them). "
        "`benchq flower` refuses to start without it.",
    )
    schedule_time: str = Field(
        default="02:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Time of day, HH:MM in UTC, at which `benchq schedule` enqueues "
        "the nightly benchmark.",
    )
    schedule_models: str = Field(
        default="baseline",
        description="Comma-separated models the nightly run benchmarks (as `--models`), "
        "e.g. baseline,openai,gemini,medgemma.",
    )
    schedule_suite: Path | None = Field(
        default=None,
        description="Suite the nightly run uses (folder or .jsonl); unset: the bundled sample.",
    )
    schedule_catch_up: int = Field(
        default=21600,
        ge=0,
        description="Seconds after its time within which a missed nightly run (scheduler "
        "down at that moment) is still enqueued when the scheduler starts; 0 never catches up.",
    )

    # --- dashboard -------------------------------------------------------------
    dashboard_user: SecretStr | None = Field(
        default=None,
        description="User name of the dashboard's login. With BENCHQ_DASHBOARD_PASSWORD set, "
        "every page asks for it, and its writes (checkout, set baseline) are enabled; "
        "`benchq dashboard --host` beyond localhost refuses to start without both.",
    )
    dashboard_password: SecretStr | None = Field(
        default=None,
        description="Password of the dashboard's login (see BENCHQ_DASHBOARD_USER). Set it "
        "here or in the environment, never on the command line.",
    )
    dashboard_cookie_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the dashboard's login cookie. Unset: a random one per "
        "start, so a restart signs everyone out; set it (e.g. `openssl rand -hex 32`) to "
        "keep logins across restarts.",
    )
    dashboard_origins: str | None = Field(
        default=None,
        description="Comma-separated host:port a browser may open the dashboard from (the "
        "websocket's Origin), e.g. bench.example.org:443. Unset: the address it listens "
        "on and its localhost names (localhost, 127.0.0.1) at its port. Never `*`. "
        "Behind a proxy, or published on another address or port, list what the browser "
        "shows in its address bar.",
    )

    @model_validator(mode="after")
    def _batch_follows_concurrency(self) -> Settings:
        # Not set: a job fills a worker's calls; it runs one and holds the
        # next (`local.worker_pool.pool_slots`).
        if "batch_size" not in self.model_fields_set:
            self.batch_size = auto_batch_size(self.worker_concurrency)
            # Still "not set by the user": `benchq worker --concurrency` recomputes it.
            self.model_fields_set.discard("batch_size")
        return self

    @field_validator("dashboard_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: str | None) -> str | None:
        # Bokeh would take `*` (or `*:port`) as "any web page may open a session":
        # a page on another site could then drive the dashboard in a logged-in browser.
        if value is not None and "*" in value:
            raise ValueError(
                "`*` is not allowed: list the host:port browsers open the dashboard from"
            )
        return value


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and `.env`, with explicit overrides on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
