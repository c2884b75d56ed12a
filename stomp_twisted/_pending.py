"""
What waits for CONNECTED, and the one order it is written in.  Not API.

While the client is not connected, four kinds of things wait for the
broker's CONNECTED: the subscriptions (those made before and those asked
for meanwhile), the outbox's messages, the frames sent before the first
connection, and the callers of C{when_connected()}.  L{Pending} holds the
last three kinds (the subscriptions are the registry's) and releases all
four in one place, L{Pending.flush}, in this order:

 1. every subscription, so that whoever waits on the connection can rely
    on them;
 2. the outbox's queued messages, oldest first;
 3. the frames sent before the first connection, in the order sent;
 4. the C{when_connected()} waiters.

When the client gives up or is disconnected, L{Pending.fail} fails them
all with the same error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, fail

from ._core import Core
from ._session import Session
from .errors import LocalProtocolError, NotConnected
from .frame import Frame

if TYPE_CHECKING:
    from ._sending import Sender
    from .client import StompClient

__all__ = ["MAX_EARLY_FRAMES", "Pending"]

#: Frames that may wait for the first connection before send() refuses more.
MAX_EARLY_FRAMES = 10_000

_Early = tuple[Frame, bool, Deferred[Frame | None]]


class Pending:
    """
    The queue of what waits for CONNECTED.

    @ivar takes_early_frames: whether frames sent now wait for CONNECTED
        (until the first connection; afterwards a frame sent while
        disconnected fails at once, or goes to the outbox).
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self.takes_early_frames = True
        self._early: list[_Early] = []
        self._waiters: list[Deferred[StompClient]] = []
        self._renew_subscriptions: Callable[[Session], None] = lambda session: None
        self._fail_subscriptions: Callable[[Exception], None] = lambda error: None
        self._sender: Sender | None = None

    def bind(
        self,
        sender: Sender,
        renew_subscriptions: Callable[[Session], None],
        fail_subscriptions: Callable[[Exception], None],
    ) -> None:
        """
        Wire the writers of what waits (made after this queue).
        """
        self._sender = sender
        self._renew_subscriptions = renew_subscriptions
        self._fail_subscriptions = fail_subscriptions

    def add_early_frame(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        """
        Keep C{frame} until the first CONNECTED; fail at once past
        L{MAX_EARLY_FRAMES}.
        """
        if len(self._early) >= MAX_EARLY_FRAMES:
            return fail(
                NotConnected(
                    f"not connected yet, and {MAX_EARLY_FRAMES} frames already wait for "
                    "the connection: wait on when_connected()"
                )
            )
        waiting: Deferred[Frame | None] = Deferred()
        self._early.append((frame, receipt, waiting))
        return waiting

    def add_waiter(self) -> Deferred[StompClient]:
        """
        A Deferred fired with the client at the next CONNECTED.
        """
        waiter: Deferred[StompClient] = Deferred()
        self._waiters.append(waiter)
        return waiter

    def flush(self, session: Session) -> None:
        """
        CONNECTED arrived on C{session}: write what waited, in the
        module's order, then fire the waiters.
        """
        sender = self._sender
        assert sender is not None
        self._renew_subscriptions(session)
        if sender.outbox is not None:
            for entry in sender.outbox.take_queued():
                sender.transmit(entry, session)
        self.takes_early_frames = False
        early, self._early = self._early, []
        for frame, receipt, waiting in early:
            try:
                sent = sender.request(frame, receipt, session.protocol, bounded=False)
            except LocalProtocolError as error:
                # Not representable in the version the broker chose.
                sent = fail(error)
            sent.chainDeferred(waiting)
        waiters, self._waiters = self._waiters, []
        client = self._core.client
        for waiter in waiters:
            waiter.callback(client)

    def fail_first_connection(self, error: Exception) -> None:
        """
        The attempt failed in a way its waiters must hear of at once (a
        refused CONNECT): fail the C{when_connected()} callers and the
        frames sent before the first CONNECTED.  Subscriptions and the
        outbox stay for the next attempt.
        """
        early, self._early = self._early, []
        for _, _, waiting in early:
            waiting.errback(error)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(error)

    def fail(self, error: Exception) -> None:
        """
        The client gave up or was disconnected: fail everything waiting.
        """
        if self._sender is not None:
            self._sender.fail_queued(error)
        self.fail_first_connection(error)
        self._fail_subscriptions(error)
