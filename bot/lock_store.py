"""Conversation locks that hold across processes: one atomic Redis lock per conversation, or a file lock.

``FileLockStore`` (end of this module) is for one host without Redis: several Sanic workers of one
Rasa (``KUMPEL_RASA_WORKERS``) share the SQLite tracker store and take the conversation's lock as an
``flock`` on a file. The rest of this docstring is about Redis.

Rasa 3.6's ``RedisLockStore`` keeps a *ticket list* per conversation in one Redis key and updates it
with GET, change in Python, SET: two instances that take a ticket at the same moment both read the
old list, both write, and one ticket is lost, so both believe they are being served and process the
same conversation at once (RasaHQ/rasa#9213; the fix was reverted). Two turns of one citizen then run
in parallel on two instances, and the later tracker save overwrites the earlier one: a form answer
or a whole turn vanishes.

``AtomicRedisLockStore`` replaces the ticket list with redis-py's own lock (``redis.asyncio.lock.Lock``):
``SET key token NX PX lifetime`` with a random token, so taking the lock is one atomic command, and
release and extension are Lua scripts that check the token, so an instance can only free or extend the
lock it holds. The lock has a lifetime, so one held by an instance that died (``kill -9``, a lost
host) frees itself; while a slow turn runs (an action server call, a busy machine), a background task
extends it, so a living holder does not lose it. A waiter blocks (asyncio, polling) up to a timeout and
then raises Rasa's ``LockError``; ``bot.patches`` turns that into a polite apology.

Why a lock and not sticky routing at the load balancer: Rasa's REST channel carries the conversation id
in the JSON *body*, which a load balancer cannot hash without scripting each channel's payload; and
stickiness breaks exactly when it matters, since a dead instance's conversations move to another one
while a retried or resent message may still be in flight. Sticky routing is still used where a protocol
needs it (socket.io's polling transport, see ``deploy/haproxy/haproxy.cfg.template``); correctness
comes from this lock.

Configure it in the endpoints file (``bot/endpoints.redis.yml``)::

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: ${KUMPEL_REDIS_HOST}
      port: ${KUMPEL_REDIS_PORT}
      db: ${KUMPEL_REDIS_DB}
      password: ${KUMPEL_REDIS_PASSWORD}
      key_prefix: kumpel
      lock_lifetime_seconds: 20
      wait_timeout_seconds: 30
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError as RedisLockError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# A dead holder blocks its conversation for at most this long; a living one extends it.
DEFAULT_LOCK_LIFETIME_SECONDS = 20.0
# How long a turn waits for the turn before it of the same conversation (then: LockError).
DEFAULT_WAIT_TIMEOUT_SECONDS = 30.0
# How often a waiter asks Redis again; short, since a citizen's second message waits on it.
POLL_INTERVAL_SECONDS = 0.05
# How often a waiter tries a file lock again: the turn before it usually ends within tens of ms.
FILE_LOCK_POLL_SECONDS = 0.01
# Never wait forever on a Redis that stopped answering.
SOCKET_TIMEOUT_SECONDS = 5.0


class _WithoutTickets(LockStore):
    """Rasa's ticket API, kept working for callers outside ``lock()``: these stores keep no ticket list."""

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return None

    def delete_lock(self, conversation_id: str) -> None:
        return None

    def save_lock(self, lock: TicketLock) -> None:
        return None

    def is_someone_waiting(self, conversation_id: str) -> bool:
        return False


class AtomicRedisLockStore(_WithoutTickets):
    """Rasa lock store whose lock for a conversation is one atomic Redis lock (see the module docstring)."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        key_prefix: str = "",
        lock_lifetime_seconds: float = DEFAULT_LOCK_LIFETIME_SECONDS,
        wait_timeout_seconds: float = DEFAULT_WAIT_TIMEOUT_SECONDS,
    ) -> None:
        """Rasa builds the store from the endpoints file (``endpoint_config``); tests pass the fields."""
        if endpoint_config is not None:
            settings: dict[str, Any] = dict(endpoint_config.kwargs)
            host = endpoint_config.url or host
            port = int(settings.get("port") or port)
            db = int(settings.get("db") or db)
            password = settings.get("password") or None
            key_prefix = str(settings.get("key_prefix") or key_prefix)
            lock_lifetime_seconds = float(settings.get("lock_lifetime_seconds") or lock_lifetime_seconds)
            wait_timeout_seconds = float(settings.get("wait_timeout_seconds") or wait_timeout_seconds)
        if lock_lifetime_seconds <= 0 or wait_timeout_seconds <= 0:
            raise ValueError("lock_lifetime_seconds and wait_timeout_seconds must be positive")
        self.lock_lifetime_seconds = lock_lifetime_seconds
        self.wait_timeout_seconds = wait_timeout_seconds
        # Same rule as Rasa's Redis stores: letters and digits, so keys cannot collide across prefixes.
        prefix = key_prefix if key_prefix.isalnum() else ""
        self.key_prefix = f"{prefix}:atomiclock:" if prefix else "atomiclock:"
        # The client connects on first use, inside Rasa's event loop (nothing heavy at import or build).
        self.redis = Redis(
            host=host,
            port=port,
            db=db,
            password=password,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            # After a Redis restart the pooled connections are closed: each is re-dialled once
            # instead of failing the citizen's next turn.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        super().__init__()

    def key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the body of the ``async with``.

        Rasa's callers pass only the conversation id; ``lock_lifetime`` and ``wait_time_in_seconds``
        (Rasa's ticket lifetime and polling interval) are accepted for its signature and ignored: this
        store's own lifetime and wait timeout apply.

        Raises:
            LockError: the lock stayed taken for ``wait_timeout_seconds``.
            redis.exceptions.RedisError: Redis cannot be reached (``bot.patches`` apologises for both).
        """
        redis_lock = Lock(
            self.redis,
            self.key(conversation_id),
            timeout=self.lock_lifetime_seconds,
            sleep=POLL_INTERVAL_SECONDS,
            blocking_timeout=self.wait_timeout_seconds,
            # One Lock object per turn, used by one asyncio task: the token lives on the object.
            thread_local=False,
        )
        if not await redis_lock.acquire():
            raise LockError(
                f"Could not acquire lock for conversation_id '{conversation_id}' "
                f"within {self.wait_timeout_seconds:.0f} s."
            )
        keeper = asyncio.create_task(self._keep_alive(redis_lock))
        try:
            yield TicketLock(conversation_id)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self._release(redis_lock)

    async def _keep_alive(self, redis_lock: Lock) -> None:
        """Reset the lock's lifetime every third of it while the turn runs."""
        while True:
            await asyncio.sleep(self.lock_lifetime_seconds / 3)
            try:
                await redis_lock.reacquire()
            except (RedisLockError, RedisError) as error:
                # Lost (expired while the event loop was blocked) or Redis gone: the turn goes on,
                # its tracker save will say whether Redis is there; nothing more to do here.
                logger.warning("conversation lock could not be extended: %s", type(error).__name__)
                return

    @staticmethod
    async def _release(redis_lock: Lock) -> None:
        try:
            await redis_lock.release()
        except RedisLockError:
            # It expired and someone else may hold it now; the Lua check left their lock alone.
            logger.warning("conversation lock had expired before its turn ended")
        except RedisError as error:
            # Redis went away during the turn; the lock frees itself after its lifetime.
            logger.warning("conversation lock could not be released: %s", type(error).__name__)


# Conversations share this many lock files (by a hash of their id): a bounded directory, no file
# ever deleted (deleting a lock file would let a waiter and a newcomer lock two different inodes).
FILE_LOCK_STRIPES = 1024


class FileLockStore(_WithoutTickets):
    """Rasa lock store whose lock for a conversation is an ``flock`` on a file, for processes of one host.

    ``flock`` locks belong to an open file, so two turns of one conversation exclude each other
    whether they run in two Sanic workers or as two tasks of one; the kernel frees the lock of a
    process that died, so there is no lifetime to tune. Two conversations whose ids hash to the same
    stripe wait for each other's turn (one in ``FILE_LOCK_STRIPES`` pairs): slower, never wrong. File
    names are hashes: a conversation id (a messenger's user id) is not written to the disk.

    Configure it in endpoints.yml::

        lock_store:
          type: bot.lock_store.FileLockStore
          directory: ${KUMPEL_RASA_LOCK_DIR}
          wait_timeout_seconds: 30
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        directory: str | os.PathLike[str] | None = None,
        wait_timeout_seconds: float = DEFAULT_WAIT_TIMEOUT_SECONDS,
    ) -> None:
        if endpoint_config is not None:
            settings: dict[str, Any] = dict(endpoint_config.kwargs)
            directory = settings.get("directory") or directory
            wait_timeout_seconds = float(settings.get("wait_timeout_seconds") or wait_timeout_seconds)
        if not directory or not str(directory).strip():
            raise ValueError("lock store: directory must name a directory for the conversation locks")
        if wait_timeout_seconds <= 0:
            raise ValueError("wait_timeout_seconds must be positive")
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.wait_timeout_seconds = wait_timeout_seconds
        super().__init__()

    def path(self, conversation_id: str) -> str:
        digest = hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).digest()
        stripe = int.from_bytes(digest[:4], "big") % FILE_LOCK_STRIPES
        return os.path.join(self.directory, f"conversation-{stripe:04d}.lock")

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the body of the ``async with`` (Rasa's timing arguments are ignored).

        Raises:
            LockError: the lock stayed taken for ``wait_timeout_seconds``.
        """
        descriptor = os.open(self.path(conversation_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await self._acquire_file_lock(descriptor, conversation_id)
            try:
                yield TicketLock(conversation_id)
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    async def _acquire_file_lock(self, descriptor: int, conversation_id: str) -> None:
        # Non-blocking tries, polled: a blocking flock would stop this worker's event loop.
        deadline = asyncio.get_running_loop().time() + self.wait_timeout_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if asyncio.get_running_loop().time() >= deadline:
                    raise LockError(
                        f"Could not acquire lock for conversation_id '{conversation_id}' "
                        f"within {self.wait_timeout_seconds:.0f} s."
                    ) from None
                await asyncio.sleep(FILE_LOCK_POLL_SECONDS)
