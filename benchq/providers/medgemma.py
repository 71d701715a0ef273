"""MedGemma behind any OpenAI-compatible server (vLLM, Ollama, TGI): the `medgemma` provider.

Same protocol as OpenAI's chat completions, with the differences such servers
have: the key is optional, the length parameter is `max_tokens`, and the prompt
goes into the user turn because some Gemma chat templates reject a system role.
"""

from __future__ import annotations

from benchq.providers.openai_chat import OpenAIChatProvider


class MedGemmaProvider(OpenAIChatProvider):
    """MedGemma on a self-hosted OpenAI-compatible server (base URL from settings or registry)."""

    kind = "medgemma"
    system_role = False
    max_tokens_param = "max_tokens"
