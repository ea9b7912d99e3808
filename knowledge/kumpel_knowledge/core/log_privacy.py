"""No request body, query string or client address in the knowledge service's log (DSGVO).

Our own code logs no text of a question or a submission. What could still carry one: uvicorn's
access line (the query string and the client's address), an SQLAlchemy error (its
``[parameters: ...]`` are a submission's data or a question), and an exception's message in a
traceback ("invalid literal for int(): 'Erika'"). ``install()`` redacts those where the record is
made (``logging.setLogRecordFactory``), so that no handler or format can let them through; the
line itself stays ("[redacted: 42 chars]" says how long the value was).

Kept apart from the Rasa venv's ``bot.log_privacy`` on purpose: the two services share no code.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

_installed = False

# uvicorn.protocols.http: '%s - "%s %s HTTP/%s" %d' with (client, method, path + query, version, status).
_ACCESS_TEMPLATE = '%s - "%s %s HTTP/%s" %d'
_QUERY = re.compile(r"\?\S*")
# SQLAlchemy's error text: "[SQL: ...]\n[parameters: (...)]\n(Background on this error at: ...)".
_SQL_PARAMETERS = re.compile(r"\[parameters: (?P<value>.*?)\](?=\s*(?:\n|\(Background|$))", re.DOTALL)
# These name files, hosts and modules, never what a citizen wrote: their message helps and stays.
_TELLING_EXCEPTIONS: tuple[type[BaseException], ...] = (OSError, ImportError, TimeoutError)


def redacted(value: object) -> str:
    """The placeholder that replaces a personal value: how long it was, not what it said."""
    return f"[redacted: {len(str(value))} chars]"


def redact_text(text: str) -> str:
    """``text`` without the parameters an SQLAlchemy error quotes."""
    return _SQL_PARAMETERS.sub(lambda m: f"[parameters: {redacted(m.group('value'))}]", text)


def private_message(message: str) -> str:
    """An exception's message as the log may show it: SQLAlchemy's keeps its statement and loses its
    parameters (the statement says what failed); any other is replaced by its placeholder."""
    return redact_text(message) if "[SQL: " in message else redacted(message)


def format_exception_privately(exc: BaseException, tb: TracebackType | None) -> str:
    """The traceback ``logging`` would print, with each exception's message redacted (type and
    frames stay)."""
    text = "".join(traceback.TracebackException(type(exc), exc, tb).format()).rstrip("\n")
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current)
        if message and not isinstance(current, _TELLING_EXCEPTIONS):
            for name in (type(current).__name__, f"{type(current).__module__}.{type(current).__qualname__}"):
                text = text.replace(f"{name}: {message}", f"{name}: {private_message(message)}")
        current = current.__cause__ or current.__context__
    return redact_text(text)


def _redact_arg(arg: object) -> object:
    """A %-argument with what `redact_text` finds in it redacted; an exception becomes its text."""
    if isinstance(arg, str):
        return redact_text(arg)
    if isinstance(arg, BaseException):
        return redact_text(str(arg))
    return arg


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place (access line, SQL parameters, exception messages)."""
    if record.msg == _ACCESS_TEMPLATE and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        record.args = ("-", method, _QUERY.sub("?[redacted]", str(path)), version, status)
    elif isinstance(record.msg, str):
        if not record.args:
            record.msg = redact_text(record.msg)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = format_exception_privately(record.exc_info[1], record.exc_info[2])


def _private_record_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            redact_record(record)
        except Exception:  # a log line must never break the request that writes it
            record.msg, record.args = "log line redacted (it could not be checked)", ()
        return record

    return factory


def install() -> None:
    """Redact personal data from every log record of this process (idempotent)."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_private_record_factory(logging.getLogRecordFactory()))
        _installed = True
