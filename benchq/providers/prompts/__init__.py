"""Versioned prompts: `v1.txt` is prompt version `v1`.

A prompt is a file, never a string in code, so that a change to it is a new
version that results are stored under (`prompt_version`), and the response
cache (keyed on the prompt's digest too) never serves an answer to old wording.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from benchq.errors import ConfigError

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Prompt:
    """The instructions sent before each document, and what identifies them."""

    version: str
    text: str

    @property
    def digest(self) -> str:
        """Short SHA-256 of the text: an edited file under the same version still differs."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]


def available_versions() -> list[str]:
    """Prompt versions shipped with benchq, sorted."""
    root = resources.files(__name__)
    return sorted(p.name[:-4] for p in root.iterdir() if p.name.endswith(".txt"))


@lru_cache(maxsize=16)
def load_prompt(version: str) -> Prompt:
    """The prompt of `version`; ConfigError naming the known versions if it is unknown."""
    if not _VERSION.match(version):
        raise ConfigError(f"prompt_version {version!r} is not a valid version name")
    res = resources.files(__name__).joinpath(f"{version}.txt")
    if not res.is_file():
        known = ", ".join(available_versions()) or "none"
        raise ConfigError(f"prompt_version {version!r} has no prompt file; known: {known}")
    return Prompt(version=version, text=res.read_text("utf-8").strip())
