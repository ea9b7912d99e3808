"""A KnowledgeClient whose knowledge service is an httpx transport: it records each request body and
answers with a fixed body (None: the connection is refused). Only the network is fake; the client,
the actions and their replies are the real code."""

from __future__ import annotations

import json
from typing import Any

import httpx

from actions.knowledge_client import KnowledgeClient


def recording_client(body: dict[str, Any] | None, requests: list[dict[str, Any]], status: int = 200) -> KnowledgeClient:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        if body is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, json=body)

    return KnowledgeClient(base_url="http://kb.test", token="t", transport=httpx.MockTransport(handler))
