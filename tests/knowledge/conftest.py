"""Shared fixtures of the knowledge-service tests: a seeded SQLite knowledge base per test.

The seed is imported once per session into a template file; each test gets its own copy, so
tests stay independent and fast. Search runs lexical-only here (one test loads the real model).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import SEED_DIR, Settings
from kumpel_knowledge.kb.interchange import import_path
from kumpel_knowledge.schema import create_schema

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the seed knowledge base, made once per test session."""
    path = tmp_path_factory.mktemp("kb-template") / "seed.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with make_session_factory(engine)() as session:
        import_path(session, SEED_DIR)
    engine.dispose()
    return path


@pytest.fixture()
def kb_settings(tmp_path: Path, seeded_template: Path) -> Settings:
    """Settings for a private copy of the seeded knowledge base."""
    db = tmp_path / "kb.db"
    shutil.copy(seeded_template, db)
    return Settings(
        env="test",
        database_url=f"sqlite:///{db}",
        search_mode="lexical",
        seed_on_start=False,
        secret_key="test-secret-key-0123456789",
        action_token="test-action-token-0123456789",
    )


@pytest.fixture()
def kb_client(kb_settings: Settings) -> Iterator[TestClient]:
    """A TestClient on the app with the seeded knowledge base (lifespan run: index built)."""
    with TestClient(create_app(kb_settings)) as client:
        yield client
