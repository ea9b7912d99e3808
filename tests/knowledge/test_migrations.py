"""Alembic: one head, migrations equal the models, and the whole service on a real PostgreSQL 15.

The PostgreSQL fixture makes a throw-away cluster (initdb + pg_ctl on a free port, fsync off) and
removes it afterwards. It skips, saying why, only when the PostgreSQL 15 binaries are missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import Base, make_engine, make_session_factory
from kumpel_knowledge.core.migrations import alembic_config, current_revision, downgrade, head_revision, upgrade
from kumpel_knowledge.core.settings import SEED_DIR, Settings
from kumpel_knowledge.kb.interchange import export_document, import_path

PG_BIN = Path(os.environ.get("KUMPEL_PG_BIN", "/usr/lib/postgresql/15/bin"))
TABLES = {
    "services",
    "offices",
    "responsibilities",
    "faqs",
    "notices",
    "submissions",
    "feedback",
    "unanswered_questions",
    "staff_users",
    "audit_log",
}


def schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return differences


def test_the_migration_history_has_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert heads == [head_revision()]


def test_migrations_create_exactly_the_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert set(inspect(make_engine(url)).get_table_names()) >= TABLES
    assert schema_differences(url) == []
    downgrade(url)
    assert set(inspect(make_engine(url)).get_table_names()) <= {"alembic_version"}


def test_production_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        secret_key="s" * 32,
        action_token="t" * 32,
        search_mode="lexical",
    )
    with pytest.raises(RuntimeError, match="db upgrade"), TestClient(create_app(settings)):
        pass
    upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the 'postgres' system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL 15 server binaries not found in {PG_BIN} (apt-get install postgresql-15)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as a non-root user")
    base = Path(tempfile.mkdtemp(prefix="kumpel-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    data, port = base / "data", _free_port()
    subprocess.run(
        _as_postgres_user(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "kumpel", "--auth=trust", "-E", "UTF8", "--no-locale"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(
        _as_postgres_user(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        subprocess.run(
            _as_postgres_user(
                [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "kumpel", "kumpel_test"]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg://kumpel@127.0.0.1:{port}/kumpel_test"
    finally:
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_migrations_match_the_models_and_go_down_and_up(postgres_url: str) -> None:
    upgrade(postgres_url)
    assert current_revision(make_engine(postgres_url)) == head_revision()
    assert schema_differences(postgres_url) == []
    downgrade(postgres_url)
    assert set(inspect(make_engine(postgres_url)).get_table_names()) <= {"alembic_version"}
    upgrade(postgres_url)
    assert set(inspect(make_engine(postgres_url)).get_table_names()) >= TABLES


def test_postgres_holds_the_same_knowledge_base_as_sqlite(postgres_url: str, tmp_path: Path) -> None:
    upgrade(postgres_url)
    sqlite_url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(sqlite_url)
    documents = []
    for url in (postgres_url, sqlite_url):
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            import_path(session, SEED_DIR)
            import_path(session, SEED_DIR)  # idempotent on both
            documents.append(export_document(session))
        engine.dispose()
    assert documents[0] == documents[1]


def test_the_service_answers_and_curates_on_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    settings = Settings(
        env="production", database_url=postgres_url, search_mode="lexical", secret_key="s" * 32, action_token="t" * 32
    )
    engine = make_engine(postgres_url)
    with make_session_factory(engine)() as session:
        import_path(session, SEED_DIR)
        from kumpel_knowledge.staff.auth import add_user

        add_user(session, "pia", "postgres-password-1", "editor")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/api/v1/answer",
            json={
                "question": "Wann hat das Bürgerbüro geöffnet?",
                "topic": "opening_hours",
                "now": "2026-11-19T10:00:00+01:00",
            },
        ).json()
        assert answer["text"].startswith("Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.")
        token = client.post("/api/v1/auth/token", data={"username": "pia", "password": "postgres-password-1"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        office = client.get("/api/v1/kb/offices/off-standesamt", headers=headers).json()
        office["synonyms"] = [*office["synonyms"], "Trauzimmer für Straßenbahnfans 🚋"]
        assert client.put("/api/v1/kb/offices/off-standesamt", json=office, headers=headers).status_code == 200
        again = client.get("/api/v1/kb/offices/off-standesamt", headers=headers).json()
        assert again["synonyms"][-1] == "Trauzimmer für Straßenbahnfans 🚋"
