"""Matrix (BundesMessenger, Element) bridge: a separate process between a homeserver and Rasa.

Why a bridge and not a Rasa ``InputChannel``: every other messenger *pushes* updates to a webhook,
which is what an input channel is (a Sanic route in the engine). A Matrix client instead *pulls*:
it holds a long-polling ``/sync`` loop open against its homeserver and keeps the sync token, room
state and (for encryption) device keys. Inside the engine that loop would run once per Rasa
instance, so two instances behind the load balancer would both answer every message, and it would
share the engine's event loop and Python 3.10 pins (matrix-nio 0.24 needs ``aiofiles<24`` and
``h11<0.15``, the Rasa lock has 25.1 and 0.16 for httpx; 0.25+ needs ``aiohttp>=3.10``, Rasa pins
3.9.5). As its own process in its own venv (``.venv/matrix``) it runs exactly once per Matrix
account, restarts on its own, and talks to the engine only over the REST channel, so it gets the
same input rules (empty/too long -> polite reply, no NLU) as every other client.

What it does: logs in with an access token, accepts invites to direct chats (other invites are
declined: in a group room the bot would read and answer everyone), sends each text message to
``KUMPEL_RASA_URL/webhooks/rest/webhook`` with the sender id ``messenger.identity.conversation_id``
(a keyed hash: the Matrix id never reaches Rasa's tracker), and posts the replies with a plain and
an HTML body, options as numbered lines; a reply "2" picks option 2 (kept per room in memory, see
:class:`bot.bridges.matrix_messages.RememberedOptions`).

End-to-end encryption is NOT done: it needs libolm and matrix-nio's ``e2e`` extra with a device
key store. In an encrypted room the bridge cannot read a word; it answers once per room, in plain
text, that it cannot read encrypted messages and how to reach it unencrypted. Logs carry no message
bodies, no room or user ids, only ``identity.log_id`` hashes.

Settings: ``KUMPEL_MATRIX_HOMESERVER``, ``KUMPEL_MATRIX_USER``, ``KUMPEL_MATRIX_ACCESS_TOKEN``,
``KUMPEL_RASA_URL`` (default ``http://127.0.0.1:5005``), and the channel id secret of
:mod:`bot.channels.messenger.identity`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections import defaultdict
from typing import Any

import aiohttp

from bot.bridges.matrix_messages import (
    ENCRYPTED_NOTICE,
    FAILURE_NOTICE,
    BridgeSettings,
    RememberedOptions,
    last_options,
    matrix_contents,
    notice,
)
from bot.channels.messenger.identity import conversation_id, log_id

try:
    from nio import (
        AsyncClient,
        AsyncClientConfig,
        InviteMemberEvent,
        MatrixInvitedRoom,
        MatrixRoom,
        MegolmEvent,
        RoomEncryptionEvent,
        RoomMessageText,
        SyncResponse,
        UnknownEncryptedEvent,
        WhoamiResponse,
    )
except ImportError:  # the console script is installed in the Rasa venv too, where nio does not fit
    sys.exit("kumpel-matrix-bridge runs in .venv/matrix (make setup): .venv/matrix/bin/kumpel-matrix-bridge")

logger = logging.getLogger("kumpel.matrix_bridge")

RASA_TIMEOUT = aiohttp.ClientTimeout(total=60)
SYNC_TIMEOUT_MS = 30_000


class MatrixBridge:
    """One Matrix account answered by the bot; see the module docstring."""

    def __init__(self, settings: BridgeSettings, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.http = http
        self.client = AsyncClient(
            settings.homeserver,
            settings.user_id,
            config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False),
        )
        self.client.access_token = settings.access_token
        self.options = RememberedOptions()
        # One turn at a time per room (the citizen's order), rooms in parallel.
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._told_encrypted: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Check the token, skip the backlog, then answer until cancelled."""
        whoami = await self.client.whoami()
        if not isinstance(whoami, WhoamiResponse):
            raise SystemExit(f"kumpel-matrix-bridge: the access token was refused ({whoami.message})")
        self.client.user_id = whoami.user_id
        self.client.device_id = whoami.device_id or ""
        # Invites are answered even when they came while the bridge was down, so this callback is
        # there before the first sync; messages are not: the first sync only learns the rooms and
        # the position, so nothing sent hours ago is answered now, out of context.
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        first = await self.client.sync(timeout=0, full_state=True)
        if not isinstance(first, SyncResponse):
            raise SystemExit("kumpel-matrix-bridge: the first sync with the homeserver failed")
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_encrypted, (MegolmEvent, UnknownEncryptedEvent, RoomEncryptionEvent))
        logger.info("Matrix bridge ready for %s", log_id(whoami.user_id))
        await self.client.sync_forever(timeout=SYNC_TIMEOUT_MS, loop_sleep_time=100)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.client.close()

    # --- events -----------------------------------------------------------------------------------

    async def _on_invite(self, room: MatrixInvitedRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.client.user_id or event.membership != "invite":
            return
        # Element and BundesMessenger mark a direct chat in the invite; in a group room the bot
        # would read and answer everyone, so such an invite is declined.
        if event.content.get("is_direct") is True:
            await self.client.join(room.room_id)
            logger.info("joined a direct chat %s", log_id(room.room_id))
        else:
            await self.client.room_leave(room.room_id)
            logger.info("declined an invite to a group room %s", log_id(room.room_id))

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.client.user_id:
            return
        if room.member_count > 2:  # joined before it became a group: answer no one there
            return
        self._spawn(self._turn(room, event.sender, event.body))

    async def _on_encrypted(self, room: MatrixRoom, event: Any) -> None:
        if room.room_id in self._told_encrypted or getattr(event, "sender", None) == self.client.user_id:
            return
        self._told_encrypted.add(room.room_id)
        await self._send(room.room_id, notice(ENCRYPTED_NOTICE))

    # --- one turn ---------------------------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _turn(self, room: MatrixRoom, sender: str, text: str) -> None:
        async with self._room_locks[room.room_id]:
            if room.encrypted:
                await self._on_encrypted(room, None)
                return
            message = self.options.resolve(room.room_id, text)
            await self.client.room_typing(room.room_id, True, timeout=30_000)
            try:
                replies = await self._ask_rasa(conversation_id("matrix", sender), message)
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                logger.warning("Rasa did not answer for %s: %s", log_id(room.room_id), type(error).__name__)
                await self._send(room.room_id, notice(FAILURE_NOTICE))
                return
            finally:
                await self.client.room_typing(room.room_id, False)
            self.options.remember(room.room_id, last_options(replies))
            for content in matrix_contents(replies):
                await self._send(room.room_id, content)

    async def _ask_rasa(self, sender: str, text: str) -> list[dict[str, Any]]:
        async with self.http.post(
            self.settings.rest_webhook, json={"sender": sender, "message": text}, timeout=RASA_TIMEOUT
        ) as response:
            response.raise_for_status()
            replies = await response.json()
        if not isinstance(replies, list):
            raise ValueError("the REST channel did not answer with a list")
        return [reply for reply in replies if isinstance(reply, dict)]

    async def _send(self, room_id: str, content: dict[str, str]) -> None:
        # Without olm, nio sends in plain text even where the room is encrypted: only notices go there.
        await self.client.room_send(room_id, "m.room.message", content)


async def run(settings: BridgeSettings) -> None:
    async with aiohttp.ClientSession() as http:
        bridge = MatrixBridge(settings, http)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        runner = asyncio.create_task(bridge.start())
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
        runner.cancel()
        waiter.cancel()
        await bridge.close()
        for task in done:
            if task is runner and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]


def main() -> None:
    """``kumpel-matrix-bridge``: run the bridge until SIGTERM / Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # nio logs room and user ids at INFO; keep only its warnings.
    logging.getLogger("nio").setLevel(logging.WARNING)
    asyncio.run(run(BridgeSettings.from_environment()))


if __name__ == "__main__":
    main()
