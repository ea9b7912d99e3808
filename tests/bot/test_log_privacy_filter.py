"""What the engine's and the action server's log lines say once bot.log_privacy is installed.

Each test writes through real `logging` (or `warnings`) into a buffer and reads the line an
operator would see: the citizen's words and values are gone, the line and its meaning stay.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest

from bot import log_privacy

IBAN = "DE89370400440532013000"
NAME = "Erika Mustermann"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing formatted lines to a buffer, with the private record factory in force."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(log_privacy._private_record_factory(previous))
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s - %(message)s"))
    logger = logging.getLogger("rasa.core.channels.rest.privacy_test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(previous)


def test_a_structlog_event_keeps_its_name_and_loses_the_text(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    event = {"event": "rest.message.received.failure", "text": f"/meine IBAN {IBAN} {NAME}", "level": "error"}
    logger.error(json.dumps(event))
    line = buffer.getvalue()
    assert IBAN not in line and "Mustermann" not in line
    assert json.loads(line.split(" - ", 1)[1]) == {
        "event": "rest.message.received.failure",
        "text": "[redacted: 51 chars]",
        "level": "error",
    }


def test_an_exception_keeps_type_and_frames_and_loses_its_message(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    citizen_text = NAME.split()[0]  # a value typed where a number was expected
    try:
        int(citizen_text)
    except ValueError:
        logger.exception("Exception occurred during execution of request %s", "<Request: POST /webhook>")
    text = buffer.getvalue()
    assert "Erika" not in text
    assert "Traceback (most recent call last)" in text and "int(citizen_text)" in text
    assert "ValueError: [redacted:" in text and "<Request: POST /webhook>" in text


def test_a_connection_error_keeps_its_message(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 8000)")
    except OSError:
        logger.exception("knowledge service unreachable")
    assert "Connect call failed ('127.0.0.1', 8000)" in buffer.getvalue()


def test_sql_parameters_of_a_tracker_store_error_are_redacted(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    error = (
        "(sqlite3.OperationalError) database is locked\n"
        "[SQL: INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)]\n"
        f"[parameters: ('abc', 'user', '{{\"text\": \"{NAME}\"}}')]\n"
        "(Background on this error at: https://sqlalche.me/e/14/e3q8)"
    )
    logger.error(f"Please investigate the following error: {error}.")
    line = buffer.getvalue()
    assert "Mustermann" not in line
    assert "database is locked" in line and "INSERT INTO events" in line and "[parameters: [redacted:" in line


def test_sanic_error_log_names_the_path_without_its_query(log: tuple[logging.Logger, io.StringIO]) -> None:
    _, buffer = log
    logger = logging.getLogger("sanic.error")
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    try:
        logger.error(
            "Exception occurred while handling uri: %s", f"'http://127.0.0.1:5005/webhooks/rest/webhook?q={NAME}'"
        )
    finally:
        logger.removeHandler(handler)
    line = buffer.getvalue()
    assert "Mustermann" not in line and "/webhooks/rest/webhook?[redacted]" in line


def test_sanic_access_line_keeps_method_path_and_status() -> None:
    """Sanic's own access format, fed the way sanic.http does (fields as ``extra``)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(host)s]: %(request)s %(message)s %(status)d %(byte)d"))
    logger = logging.getLogger("sanic.access")
    privacy = log_privacy.SanicAccessFilter()
    logger.addFilter(privacy)
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        logger.info(
            "",
            extra={
                "status": 200,
                "byte": 42,
                "host": "192.0.2.7:51234",
                "request": f"GET http://127.0.0.1:5005/conversations/x/tracker?token=secret&name={NAME}",
            },
        )
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(privacy)
        logger.level = level
    assert buffer.getvalue() == "[-]: GET http://127.0.0.1:5005/conversations/x/tracker?[redacted]  200 42\n"


def test_httpx_request_line_names_the_path_without_its_query(log: tuple[logging.Logger, io.StringIO]) -> None:
    """httpx's own INFO line (the action server's client of the knowledge service)."""
    _, buffer = log
    logger = logging.getLogger("httpx")
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client:
            client.get("http://127.0.0.1:8000/api/v1/forms/dog_tax_registration/town", params={"name": NAME})
    finally:
        logger.removeHandler(handler)
        logger.level = level
    assert buffer.getvalue() == (
        'HTTP Request: GET http://127.0.0.1:8000/api/v1/forms/dog_tax_registration/town?[redacted] "HTTP/1.1 200 OK"\n'
    )


def test_ordinary_lines_stay_as_they_are(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.info("Rasa patch %s applied: %s", "event_type_lookup", "stored event types resolved through a cache")
    logger.warning("knowledge service failed for topic %s: %s", "fees", "POST /api/v1/answer: HTTP 503")
    assert buffer.getvalue().splitlines() == [
        "INFO rasa.core.channels.rest.privacy_test - Rasa patch event_type_lookup applied: stored event types resolved through a cache",
        "WARNING rasa.core.channels.rest.privacy_test - knowledge service failed for topic fees: POST /api/v1/answer: HTTP 503",
    ]


def test_rasa_s_own_warnings_and_structlog_events_name_no_text_and_no_slot_value() -> None:
    """The real Rasa parser of "/intent" messages and Rasa's structlog set-up, in a fresh interpreter
    with install() applied."""
    script = textwrap.dedent(
        f"""
        import warnings
        warnings.simplefilter("always")
        from bot import log_privacy
        log_privacy.install()
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
        from rasa.shared.nlu.training_data.message import Message
        domain = Domain.from_yaml("version: '3.1'\\nintents: [greet, choose_entry]\\nentities: [entity_id]")
        YAMLStoryReader.unpack_regex_message(Message(data={{"text": "/meine IBAN {IBAN} {NAME}"}}), domain)
        YAMLStoryReader.unpack_regex_message(Message(data={{"text": '/choose_entry{{"nachname": "{NAME}"}}'}}), domain)
        from rasa.shared.core.slots import CategoricalSlot
        slot = CategoricalSlot("tax_relief_reason", [], values=["assistance", "rescue"])
        slot.value = "{NAME}"
        slot.as_feature()
        import logging, structlog
        from rasa.utils.log_utils import configure_structlog
        configure_structlog(logging.INFO)
        structlog.get_logger().error("rest.message.received.failure", text="/meine IBAN {IBAN} {NAME}")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    output = result.stdout + result.stderr
    assert "Failed to parse arguments in line '[redacted: 51 chars]'" in output, output
    assert "Categorical slot 'tax_relief_reason' is set to a value ('[redacted: 16 chars]')" in output
    assert '"event": "rest.message.received.failure"' in output and '"text": "[redacted: 51 chars]"' in output
    assert IBAN not in output and "Mustermann" not in output
