"""One settings class for the knowledge service, read from ``KUMPEL_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository the package is installed from (editable): seed data, widget files, models.
REPO_ROOT = Path(__file__).resolve().parents[3]
KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
SEED_DIR = KNOWLEDGE_DIR / "data" / "seed"
SCHEMA_PATH = KNOWLEDGE_DIR / "data" / "schema" / "kumpel-kb.schema.json"

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret-change-me"})


class Settings(BaseSettings):
    """Configuration of the knowledge service (see docs/contracts.md)."""

    model_config = SettingsConfigDict(env_prefix="KUMPEL_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'kumpel.db'}"
    embedding_model: str = str(KNOWLEDGE_DIR / "models" / "multilingual-e5-small")
    # "hybrid" (embeddings + lexical), "lexical" (no model: fast tests) or "dense".
    search_mode: str = "hybrid"
    secret_key: str = "dev-secret-change-me"
    action_token: str = "dev-secret-change-me"
    token_max_age_seconds: int = 8 * 3600
    timezone: str = "Europe/Berlin"
    holiday_region: str = "NW"
    seed_on_start: bool | None = None
    # Build the search index in a background thread, so the server answers /health (503) at once
    # while the model loads; `serve` switches it on, tests keep the start synchronous.
    index_in_background: bool = False
    # Pick up edits made through other replicas or a CLI import (seconds; 0 = off).
    index_refresh_seconds: float = 10.0
    # Entry embeddings kept across restarts: a restart re-embeds only changed texts, which turns
    # a cold index build of minutes on a busy machine into seconds. Empty: no cache.
    embedding_cache: str = str(REPO_ROOT / "var" / "search-embeddings.npz")
    seed_path: Path = SEED_DIR
    submission_retention_days: int = 180
    # Web pages (origins) that embed the widget and may send ratings cross-origin; space or comma
    # separated. The launcher sets the knowledge service's own origins.
    cors_origins: str = ""
    # Where the widget finds Rasa's socket.io channel: the public URL behind a proxy, else the Rasa
    # URL the launcher sets; empty: the host the visitor used, on Rasa's default port.
    webchat_socket_url: str = ""
    rasa_url: str = ""
    # Who can help when the bot does not know, used only while the knowledge base has no town
    # profile (kumpel-kb/1 `municipality`), which otherwise says it with the town's own contacts.
    city_contact_text: str = Field(
        default=("Bitte wenden Sie sich an Ihre Stadtverwaltung oder an die Behördennummer 115 (Mo-Fr 8-18 Uhr).")
    )

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The origins of ``cors_origins``, without trailing slashes."""
        raw = self.cors_origins.replace(",", " ").split()
        return frozenset(item.strip().rstrip("/") for item in raw if item.strip())

    @property
    def should_seed(self) -> bool:
        """Seed an empty database on start: by default only in development."""
        if self.seed_on_start is None:
            return self.env == "development"
        return self.seed_on_start

    def check_production_safety(self) -> None:
        """Refuse to run in production with a placeholder secret.

        Raises:
            RuntimeError: when a secret is missing or a known placeholder.
        """
        if self.env != "production":
            return
        weak = [
            name
            for name, value in (("KUMPEL_SECRET_KEY", self.secret_key), ("KUMPEL_ACTION_TOKEN", self.action_token))
            if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16
        ]
        if weak:
            raise RuntimeError(
                "Refusing to start with KUMPEL_ENV=production and a placeholder secret: "
                + ", ".join(weak)
                + " must be set to a random value of at least 16 characters."
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, built once per process."""
    return Settings()
