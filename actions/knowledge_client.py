"""HTTP client for the knowledge service (the action server holds no data itself)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import httpx

from actions.settings import ActionSettings, get_settings

# The knowledge service accepts questions up to 2,000 characters; longer ones are cut here
# so that a pasted essay still gets an answer instead of an error.
MAX_QUESTION_CHARS = 2000
MAX_CONVERSATION_ID_CHARS = 200  # the knowledge service's limit; a sender id is far shorter

logger = logging.getLogger(__name__)


class KnowledgeServiceError(Exception):
    """The knowledge service could not be reached or answered with an error."""


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    last_reviewed: str | None = None


@dataclass(frozen=True)
class Choice:
    type: str
    id: str
    title: str


@dataclass(frozen=True)
class FormMatch:
    """Whether a message that asks to start a form is about that form's service (``yes``,
    ``unclear``, ``no``), and that service in the town's knowledge base."""

    decision: str
    service_id: str | None = None
    service_title: str | None = None


@dataclass(frozen=True)
class Answer:
    status: str  # "answer" | "clarify" | "unknown"
    text: str
    choices: list[Choice] = field(default_factory=list)
    source: Source | None = None
    entry: dict[str, str] | None = None
    context: dict[str, str | None] = field(default_factory=dict)
    confidence: float = 0.0
    # The knowledge base counts the question as not answered (and has recorded it for the staff).
    unanswered: bool = False
    form_match: FormMatch | None = None
    # The knowledge service's random id of this answer: a rating sent under it reaches the staff's
    # inbox with the question it was about (None: the reply makes up an id of its own).
    message_id: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        source = data.get("source")
        return cls(
            status=str(data.get("status", "unknown")),
            text=str(data.get("text", "")),
            choices=[
                Choice(type=str(c["type"]), id=str(c["id"]), title=str(c["title"])) for c in data.get("choices") or []
            ],
            source=Source(
                title=str(source.get("title", "")),
                url=str(source.get("url", "")),
                last_reviewed=source.get("last_reviewed"),
            )
            if source
            else None,
            entry=data.get("entry"),
            context=dict(data.get("context") or {}),
            confidence=float(data.get("confidence") or 0.0),
            unanswered=bool(data.get("unanswered")),
            form_match=_form_match(data.get("form_match")),
            message_id=str(data["message_id"]) if data.get("message_id") else None,
        )


def _form_match(data: Any) -> FormMatch | None:
    if not isinstance(data, dict) or data.get("decision") not in ("yes", "unclear", "no"):
        return None
    service = data.get("service")
    if not isinstance(service, dict):
        service = {}
    return FormMatch(str(data["decision"]), service.get("id"), service.get("title"))


class KnowledgeClient:
    """Async client; one instance per action, injected into actions for tests.

    ``base_url`` and ``token`` default to the settings (``KUMPEL_KNOWLEDGE_URL``, ``KUMPEL_ACTION_TOKEN``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        settings: ActionSettings | None = None,
    ) -> None:

        def configured() -> ActionSettings:  # read only for what the caller left out
            return settings or get_settings()

        self.base_url = (base_url or configured().knowledge_url).rstrip("/")
        self._token = token if token is not None else configured().action_token
        self._timeout = timeout
        self._transport = transport
        # One pooled client per event loop, kept for the loop's life. A client per call (its TLS
        # context, a new connection, the teardown) made the REST slice's median turn 139 ms
        # instead of 113 ms. Keyed weakly by loop: an httpx client must not be shared across
        # loops (tests run one loop per test).
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            # retries=1 re-dials a refused connection once (the knowledge service restarting).
            transport = self._transport or httpx.AsyncHTTPTransport(retries=1)
            client = httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, headers=headers, transport=transport
            )
            self._clients[loop] = client
        return client

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the JSON body; raise KnowledgeServiceError on any failure."""
        try:
            response = await self._client().request(method, path, json=json, headers=headers, params=params)
        except httpx.HTTPError as error:
            raise KnowledgeServiceError(f"{method} {path}: {type(error).__name__}") from error
        if response.status_code >= 400:
            raise KnowledgeServiceError(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code == 204:  # done, nothing to say (a counted form event)
            return {}
        try:
            body = response.json()
        except ValueError as error:
            raise KnowledgeServiceError(f"{method} {path}: invalid JSON") from error
        return body if isinstance(body, dict) else {"items": body}

    async def answer(
        self,
        question: str,
        topic: str,
        context: dict[str, Any] | None = None,
        entity_id: str | None = None,
        now: str | None = None,
        form: str | None = None,
        conversation_id: str | None = None,
        out_of_scope: bool = False,
        small_talk: bool = False,
    ) -> Answer:
        """Ask one question. ``conversation_id`` (the sender id) is stored only as an HMAC under a key
        of the day, to count conversations; ``out_of_scope``: the NLU took the message as out of scope;
        ``small_talk``: it took it for small talk it does not look like (only an answer is recorded)."""
        payload: dict[str, Any] = {
            "question": (question or "").strip()[:MAX_QUESTION_CHARS] or topic,
            "topic": topic,
            "context": context or {},
            "entity_id": entity_id,
            "now": now,
            "language": "de",
        }
        if form:
            payload["form"] = form  # the answer then says whether the message is about the form's service
        if conversation_id:
            payload["conversation_id"] = conversation_id[:MAX_CONVERSATION_ID_CHARS]
        if out_of_scope:
            payload["out_of_scope"] = True
        if small_talk:
            payload["small_talk"] = True
        return Answer.from_json(await self.request("POST", "/api/v1/answer", json=payload))

    async def form_event(self, form: str, event: str) -> bool:
        """Report a form ``started`` or ``cancelled`` for the staff dashboard; False when it failed.

        Counting must never disturb the citizen's form: a failure is logged (no content) and dropped.
        """
        try:
            await self.request("POST", "/api/v1/events/form", json={"form": form, "event": event})
        except KnowledgeServiceError as error:
            logger.warning("form event %s of %s not counted: %s", event, form, error)
            return False
        return True
