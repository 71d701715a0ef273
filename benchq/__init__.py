"""benchq: continuous, event-driven benchmarking of language models on billing documents."""

__version__ = "0.1.0"
