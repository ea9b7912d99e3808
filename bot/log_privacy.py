"""No message text and no slot values in the engine's and the action server's logs (DSGVO).

Rasa, rasa-sdk and Sanic log what a citizen wrote in a few places even at the default level:
the "/intent" parser's warnings quote the whole message ("Failed to parse arguments in line
'/meine IBAN DE89... Erika Mustermann'"), structlog events carry ``text=`` and ``rasa_event=``,
a database error names its ``[parameters: ...]`` (a tracker's events), an exception's message can
quote a value ("invalid literal for int(): 'Erika'"), Sanic's error log and httpx's request line
name a URL with its query string, and Sanic's access log the client's address. ``install()``
redacts all of these where the line is made, so that no handler, format or log file can let them
through:

- log records, through ``logging.setLogRecordFactory``: by logger and message template
  (``record.msg`` before formatting) for %-style lines (`TEMPLATE_RULES`), by the fixed words
  around the value for Rasa's f-string lines (`TEXT_RULES`); the value becomes
  ``[redacted: 42 chars]``, the line itself stays;
- structlog's rendered JSON (``FORCE_JSON_LOGGING``: JSON on a terminal too): the personal keys;
- exception messages in tracebacks: type and frames stay, the message goes (OSError and
  ImportError keep theirs: they name files and addresses, never what a citizen wrote);
- warnings (``warnings.warn``, Rasa's ``raise_warning``), by message template;
- Sanic's access log (``sanic.access``): the path stays, the query string and the client go.

Standard library only, so that both processes of the Rasa venv (engine and action server) can
install it before anything else runs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

_installed = False


def redacted(value: object) -> str:
    """The placeholder that replaces a personal value: how long it was, not what it said."""
    return f"[redacted: {len(str(value))} chars]"


# ---------------------------------------------------------------- log records by template
_QUERY = re.compile(r"\?[^'\"\n]*")


def _strip_query(value: object) -> str:
    """A URL or request line without its query string: the path says what was called."""
    return _QUERY.sub("?[redacted]", str(value))


@dataclass(frozen=True)
class TemplateRule:
    """Records of ``logger`` (or a child of it) whose ``msg`` is ``template``: the arguments at
    ``urls`` lose their query string, those at ``values`` are redacted."""

    logger: str
    template: str
    urls: tuple[int, ...] = ()
    values: tuple[int, ...] = ()

    def matches(self, name: str, msg: str) -> bool:
        return msg == self.template and (name == self.logger or name.startswith(self.logger + "."))

    def apply(self, args: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(
            _strip_query(arg) if i in self.urls else redacted(arg) if i in self.values else arg
            for i, arg in enumerate(args)
        )


# Templates of %-style records that name a URL (its query string can carry what a channel or a
# client was sent) or a client's address. Rasa's own f-string lines reach the record already
# formatted; those are covered by `TEXT_RULES` below.
TEMPLATE_RULES: tuple[TemplateRule, ...] = (
    # Sanic's error log: "Exception occurred while handling uri: 'http://.../webhook?token=...'".
    TemplateRule("sanic.error", "Exception occurred while handling uri: %s", urls=(0,)),
    # httpx (the action server's client of the knowledge service): 'HTTP Request: GET http://...?q= ...'.
    TemplateRule("httpx", 'HTTP Request: %s %s "%s %d %s"', urls=(1,)),
    # uvicorn-style access lines, should a library log one through these processes' loggers.
    TemplateRule("uvicorn.access", '%s - "%s %s HTTP/%s" %d', urls=(2,), values=(0,)),
)


@dataclass(frozen=True)
class TextRule:
    """An already formatted message (an f-string in Rasa): ``pattern``'s group ``value`` is
    personal data wherever it matches."""

    pattern: re.Pattern[str]


def _quoted(prefix: str, close: str = "'") -> re.Pattern[str]:
    """``prefix`` followed by a value up to ``close``, as in ``line '...'. ``."""
    return re.compile(re.escape(prefix) + r"(?P<value>.*?)" + re.escape(close), re.DOTALL)


# Formatted texts (warnings and f-string log lines) that quote a message or a slot value.
TEXT_RULES: tuple[TextRule, ...] = (
    # rasa.shared.core.training_data.story_reader.yaml_story_reader: a message starting with "/".
    TextRule(_quoted("Failed to parse arguments in line '", "'. ")),
    TextRule(_quoted("Continuing without ", ". ")),
    TextRule(_quoted("Could not extract confidence value from `", "'")),
    # "... Expected the intent to be one of [...] but found <the words after '/'>.Continuing ...".
    TextRule(re.compile(r" but found (?P<value>.*?)\.\s?Continuing", re.DOTALL)),
    # rasa.core.processor: entities given after "/intent" by the citizen.
    TextRule(re.compile(r"Invalid entity specification: (?P<value>.*?)\. Assuming no entities", re.DOTALL)),
    TextRule(_quoted("Parsed an entity '")),
    # rasa.shared.core.slots: a categorical slot set to a value the domain does not know.
    TextRule(_quoted("is set to a value ('", "')")),
    TextRule(_quoted("created with an initial value ", ". This value")),
    # SQLAlchemy errors (tracker store) quote the statement's parameters: a tracker's events.
    TextRule(re.compile(r"\[parameters: (?P<value>.*?)\](?=\s*(?:\n|\(Background|$))", re.DOTALL)),
    # rasa.utils.endpoints.ClientResponseError: the action server's answer body.
    TextRule(_quoted(", body='")),
)


def redact_text(text: str) -> str:
    """``text`` with every value a `TEXT_RULES` pattern finds replaced by its placeholder."""
    for rule in TEXT_RULES:
        text = rule.pattern.sub(lambda m: _replace_group(m, "value"), text)
    return text


def _replace_group(match: re.Match[str], group: str) -> str:
    start, end = match.span(group)
    whole_start = match.start()
    text = match.group(0)
    return text[: start - whole_start] + redacted(match.group(group)) + text[end - whole_start :]


# ---------------------------------------------------------------- structlog events
# The keys Rasa's own structlog anonymizer names (rasa.utils.log_utils._anonymizer), which only
# acts with Rasa Pro's anonymization pipeline; here they are redacted always.
STRUCTLOG_PERSONAL_KEYS = frozenset(
    """text response_text user_text slot_values parse_data_text parse_data_entities prediction_events
    tracker_latest_message prefilled_slots message response slot_candidates rasa_event rasa_events
    tracker_states current_states old_states successes current_entity next_entity states entity
    token_text user_message json_message value slot_value""".split()
)


def redact_structlog_json(msg: str) -> str | None:
    """A structlog event rendered as JSON with its personal keys redacted; None if ``msg`` is none."""
    if not (msg.startswith("{") and msg.endswith("}") and '"event"' in msg):
        return None
    try:
        event = json.loads(msg)
    except ValueError:
        return None
    if not isinstance(event, dict) or "event" not in event:
        return None
    for key in STRUCTLOG_PERSONAL_KEYS & event.keys():
        value = event[key]
        event[key] = redacted(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return json.dumps(event, ensure_ascii=False)


# ---------------------------------------------------------------- exceptions
# These name files, hosts and modules, never a citizen's words: their message helps and stays.
_TELLING_EXCEPTIONS: tuple[type[BaseException], ...] = (OSError, ImportError, TimeoutError)
# rasa-sdk's own "no action named 'x'" and "action 'x' rejected execution": names of code, not text.
_TELLING_EXCEPTION_NAMES = frozenset({"ActionNotFoundException", "ActionExecutionRejection"})


def _is_telling(exc: BaseException) -> bool:
    return isinstance(exc, _TELLING_EXCEPTIONS) or type(exc).__name__ in _TELLING_EXCEPTION_NAMES


def private_message(message: str) -> str:
    """An exception's message as the log may show it: SQLAlchemy's keeps its statement and loses its
    parameters (the statement says what failed); any other is replaced by its placeholder."""
    return redact_text(message) if "[SQL: " in message else redacted(message)


def format_exception_privately(
    exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
) -> str:
    """A traceback as ``logging`` prints it, with each exception's message redacted."""
    if exc is None:
        return ""
    text = "".join(traceback.TracebackException(type(exc), exc, tb).format()).rstrip("\n")
    return _redact_exception_lines(text, exc)


def _redact_exception_lines(text: str, exc: BaseException) -> str:
    """Replace the message after "ExcType: " of every exception in the chain, keeping its type."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not _is_telling(current):
            message = str(current)
            if message:
                for name in (type(current).__name__, f"{type(current).__module__}.{type(current).__qualname__}"):
                    text = text.replace(f"{name}: {message}", f"{name}: {private_message(message)}")
        current = current.__cause__ or current.__context__
    return redact_text(text)


# ---------------------------------------------------------------- the record factory
def _redact_arg(arg: object) -> object:
    """A %-argument with what `redact_text` finds in it redacted; an exception becomes its text."""
    if isinstance(arg, str):
        return redact_text(arg)
    if isinstance(arg, BaseException):
        return redact_text(str(arg))
    return arg


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place: template rules on its arguments, text rules and structlog keys on
    its message, and its exception's message."""
    msg = record.msg
    if isinstance(msg, str):
        for rule in TEMPLATE_RULES:
            if isinstance(record.args, tuple) and rule.matches(record.name, msg):
                record.args = rule.apply(record.args)
                break
        structured = redact_structlog_json(msg) if not record.args else None
        if structured is not None:
            record.msg = structured
        elif not record.args:
            record.msg = redact_text(msg)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(msg, BaseException) and not _is_telling(msg):
        # logger.error(exception): the exception's text is the whole line.
        record.msg = f"{type(msg).__name__}: {redacted(msg)}"
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = format_exception_privately(*record.exc_info)


def _private_record_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            redact_record(record)
        except Exception:  # a log line must never break the request that writes it
            record.msg, record.args = "log line redacted (it could not be checked)", ()
        return record

    return factory


class SanicAccessFilter(logging.Filter):
    """Sanic's access line keeps method, path, status and size; the query string and the client go.

    Sanic passes these as ``extra`` fields, which are set after the record factory ran."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request"):
            record.request = _strip_query(record.request)
        if hasattr(record, "host"):
            record.host = "-"
        return True


# ---------------------------------------------------------------- warnings
def _private_showwarning(base: Callable[..., None]) -> Callable[..., None]:
    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        text = str(message)
        cleaned = redact_text(text)
        if cleaned != text:
            message = category(cleaned)
        base(message, category, filename, lineno, file, line)

    return showwarning


def install() -> None:
    """Redact personal data from every log line and warning of this process (idempotent)."""
    global _installed
    if _installed:
        return
    # Rasa renders structlog events as JSON unless stderr is a terminal; in a terminal its pretty
    # renderer would print `text='...'` where no JSON can be read. Rasa reads this once, on import.
    os.environ.setdefault("FORCE_JSON_LOGGING", "1")
    logging.setLogRecordFactory(_private_record_factory(logging.getLogRecordFactory()))
    logging.getLogger("sanic.access").addFilter(SanicAccessFilter())
    warnings.showwarning = _private_showwarning(warnings.showwarning)
    _installed = True
