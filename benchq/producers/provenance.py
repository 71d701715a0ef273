"""Where a run comes from: commit, branch and trigger, for the push metadata."""

from __future__ import annotations

import os
import subprocess

from pydantic import BaseModel


class Provenance(BaseModel):
    """The code and trigger behind a run; every published figure traces to a commit."""

    commit_sha: str
    branch_name: str | None = None
    triggered_by: str | None = None
    ci_run_id: str | None = None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def detect_provenance(environ: dict[str, str] | None = None) -> Provenance:
    """Commit and branch from CI variables, else from git in the working directory.

    Outside a git checkout and CI the commit is `unknown`: the store requires
    a commit, and a visible placeholder is more honest than a guess.
    """
    env = dict(os.environ if environ is None else environ)
    sha = env.get("BENCHQ_COMMIT_SHA") or env.get("GITHUB_SHA") or _git("rev-parse", "HEAD")
    branch = (
        env.get("BENCHQ_BRANCH_NAME")
        or env.get("GITHUB_REF_NAME")
        or _git("rev-parse", "--abbrev-ref", "HEAD")
    )
    trigger = env.get("BENCHQ_TRIGGERED_BY") or env.get("GITHUB_EVENT_NAME") or "manual"
    return Provenance(
        commit_sha=sha or "unknown",
        branch_name=branch,
        triggered_by=trigger,
        ci_run_id=env.get("GITHUB_RUN_ID"),
    )
