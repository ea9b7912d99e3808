"""Bridges: separate processes that connect a messenger to the engine's REST channel (Matrix)."""
