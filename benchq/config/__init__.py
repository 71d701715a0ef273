"""Configuration: settings (pydantic-settings, `BENCHQ_` prefix) and the model registry."""
