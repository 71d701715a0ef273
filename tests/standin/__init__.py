"""A local stand-in for the model APIs (OpenAI chat completions, Gemini generateContent)."""

from .server import Call, Fault, StandinServer

__all__ = ["Call", "Fault", "StandinServer"]
