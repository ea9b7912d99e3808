"""Rasa input channels that extend the engine (loaded by class path from credentials.yml)."""
