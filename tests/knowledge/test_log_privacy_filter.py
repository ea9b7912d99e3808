"""What the knowledge service's log lines say once kumpel_knowledge.core.log_privacy is installed.

Real `logging` into a buffer: uvicorn's access line keeps method, path and status; an SQLAlchemy
error keeps its statement and loses its parameters; a traceback keeps type and frames and loses
the message; ordinary lines stay as they are.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from kumpel_knowledge.core import log_privacy

NAME = "Erika Mustermann"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(log_privacy._private_record_factory(previous))
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("uvicorn.access.privacy_test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(previous)


def test_access_line_keeps_path_and_status_and_loses_query_and_client(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.info(
        '%s - "%s %s HTTP/%s" %d', "192.0.2.7:51234", "GET", "/api/v1/submissions?name=Erika+Mustermann", "1.1", 200
    )
    assert (
        buffer.getvalue() == 'INFO uvicorn.access.privacy_test: - - "GET /api/v1/submissions?[redacted] HTTP/1.1" 200\n'
    )


def test_a_database_error_keeps_its_statement_and_loses_its_parameters(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE submissions (reference TEXT UNIQUE, data TEXT)"))
        connection.execute(text("INSERT INTO submissions VALUES ('HST-1', '{}')"))
        try:
            connection.execute(text("INSERT INTO submissions VALUES (:ref, :data)"), {"ref": "HST-1", "data": NAME})
        except IntegrityError as error:
            logger.exception("storing the submission failed: %s", error)
    written = buffer.getvalue()
    assert "Mustermann" not in written
    assert "[parameters: [redacted:" in written
    assert "UNIQUE constraint failed: submissions.reference" in written and "INSERT INTO submissions" in written


def test_a_traceback_keeps_type_and_frames(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    citizen_text = NAME
    try:
        int(citizen_text)
    except ValueError:
        logger.exception("parsing failed")
    written = buffer.getvalue()
    assert "Mustermann" not in written
    assert "Traceback (most recent call last)" in written and "ValueError: [redacted:" in written


def test_ordinary_lines_stay_as_they_are(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.info("search index picked up %d changed entries", 3)
    logger.info("search index ready: %s", "HybridSearch(hybrid)")
    assert buffer.getvalue().splitlines() == [
        "INFO uvicorn.access.privacy_test: search index picked up 3 changed entries",
        "INFO uvicorn.access.privacy_test: search index ready: HybridSearch(hybrid)",
    ]
