"""Masking secrets in text that may reach logs, stored results or error messages.

A provider's error message is stored with the case it failed (and shown by
the dashboard and in run summaries), so it must never carry a credential.
Exact matching is not enough: providers echo keys truncated, with a few
characters cut or starred ("Incorrect API key provided: sk-proj-abc...xy"),
and a message may carry another key than the one configured (a key from the
environment of a proxy, a bearer token in an echoed header). So `Redactor`
masks

- every run of at least `MIN_RUN` characters (or the whole secret, if it is
  shorter) that also occurs in one of the secrets it was given: a key echoed
  minus a few characters, or split around an elision, is still masked piece
  by piece;
- every string shaped like a known provider credential (`KEY_PATTERNS`),
  whether or not it is one of ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import SecretStr

MASK = "***"
#: Shortest run of a secret's characters that is masked wherever it appears.
#: Eight characters of a random key are about 48 bits: enough to tell which
#: key it was, and long enough that ordinary words rarely match by chance.
MIN_RUN = 8

#: Credentials recognised by shape. Each match is replaced whole by `MASK`;
#: for a bearer token, only the token (the scheme word stays, so the message
#: still says what was sent).
KEY_PATTERNS: tuple[re.Pattern[str], ...] = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...), Anthropic (sk-ant-...)
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),
    # Google API keys (Gemini, Vertex express mode)
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),
    # Hugging Face access tokens (a self-hosted MedGemma behind TGI)
    re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    # JSON Web Tokens, such as Supabase API keys: header.payload.signature
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    # An Authorization header's credentials, whatever issued them
    re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)(?<=\bbasic )[A-Za-z0-9+/=]{8,}"),
)


def _runs(text: str, secret: str) -> list[tuple[int, int]]:
    """Spans of `text` that are maximal runs of at least `min(MIN_RUN, len(secret))`
    characters occurring in `secret`."""
    shortest = min(MIN_RUN, len(secret))
    seeds = {secret[i : i + shortest] for i in range(len(secret) - shortest + 1)}
    spans: list[tuple[int, int]] = []
    i = 0
    while i <= len(text) - shortest:
        if text[i : i + shortest] not in seeds:
            i += 1
            continue
        end = i + shortest
        # grow the run while it is still a piece of the secret
        while end < len(text) and text[i : end + 1] in secret:
            end += 1
        spans.append((i, end))
        i = end
    return spans


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Redactor:
    """Removes secrets from text that may reach logs, results or error messages."""

    def __init__(self, secrets: Iterable[SecretStr | str | None]) -> None:
        values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
        self._values = sorted({v for v in values if v}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """`text` with every piece of a known secret, and every key-shaped string, masked."""
        spans: list[tuple[int, int]] = []
        for value in self._values:
            spans += _runs(text, value)
        for pattern in KEY_PATTERNS:
            spans += [m.span() for m in pattern.finditer(text)]
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in _merge(spans):
            out += [text[last:start], MASK]
            last = end
        out.append(text[last:])
        return "".join(out)

    def exception(self, exc: BaseException) -> BaseException:
        """Mask the string arguments of `exc` in place (its type and attributes are kept)."""
        exc.args = tuple(self(a) if isinstance(a, str) else a for a in exc.args)
        return exc
