"""
Leaving: C{drain()} and C{disconnect()}.  Not API.

C{drain()} moves the client to DRAINING: reading pauses (no new message
reaches a callback), reconnection stops, and the returned Deferred fires
when the last running callback finishes, or at the timeout.
C{disconnect()} moves it to LEAVING: everything waiting for a connection
fails with L{ClientClosed}, the automatic ACKs of messages whose callbacks
still run go out first (within half of C{disconnect_timeout}), then
DISCONNECT with a receipt; the connection is closed when the receipt
comes, and aborted at C{disconnect_timeout} whatever the broker does.
The client is CLOSED once the connection is gone.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IDelayedCall

from . import arguments
from ._core import Core, log
from ._dispatch import Dispatcher
from ._flow import ReadHolds
from ._lifecycle import State
from ._pending import Pending
from ._session import Session
from .errors import ClientClosed
from .frame import Frame

__all__ = ["Leaving"]


def _cancel_call(result: object, call: IDelayedCall) -> object:
    if call.active():
        call.cancel()
    return result


class Leaving:
    """
    Drains and disconnects the client.
    """

    def __init__(
        self,
        core: Core,
        holds: ReadHolds,
        pending: Pending,
        stop_reconnecting: Callable[[], None],
    ) -> None:
        self._core = core
        self._holds = holds
        self._pending = pending
        self._stop_reconnecting = stop_reconnecting
        self._dispatcher: Dispatcher | None = None
        self._closed_waiters: list[Deferred[None]] = []

    def bind(self, dispatcher: Dispatcher) -> None:
        """
        Wire the dispatcher (made after this object).
        """
        self._dispatcher = dispatcher

    def drain(self, timeout: float) -> Deferred[int]:
        """
        See L{StompClient.drain<stomp_twisted.client.StompClient.drain>}.
        """
        arguments.check_number(timeout, "timeout")
        core = self._core
        self._stop_reconnecting()
        if not core.lifecycle.left:
            core.lifecycle.move(State.DRAINING)
        holds = self._holds
        if core.session is not None:
            holds.apply(core.session.protocol)
        log.info(
            "draining: taking no new message; {count} message(s) in flight, waiting at most "
            "{timeout:g} s for their callbacks",
            count=holds.in_flight,
            timeout=timeout,
        )
        if holds.in_flight <= 0:
            log.info("drained: no callback is running")
            return succeed(0)
        drained = holds.when_idle()

        def timed_out() -> None:
            holds.stop_waiting(drained)
            log.warn(
                "drain timeout ({timeout:g} s): {count} message(s) still in flight; "
                "unacknowledged, they will be delivered again",
                timeout=timeout,
                count=holds.in_flight,
            )
            drained.callback(holds.in_flight)

        drained.addBoth(_cancel_call, core.clock.callLater(timeout, timed_out))
        return drained

    def disconnect(self) -> Deferred[None]:
        """
        See L{StompClient.disconnect<stomp_twisted.client.StompClient.disconnect>}.
        """
        core = self._core
        lifecycle = core.lifecycle
        again = lifecycle.left
        session = core.session
        if not again:
            lifecycle.move(State.CLOSED if session is None else State.LEAVING)
        self._stop_reconnecting()
        self._pending.fail(ClientClosed("disconnect() was called"))
        if session is None:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._closed_waiters.append(closed)
        if again:
            return closed
        # However the broker behaves (it may stop reading, or never send
        # the RECEIPT), the connection is gone by the deadline.
        hard_stop = core.clock.callLater(
            core.settings.disconnect_timeout, self._abort_on_leaving, session
        )
        closed.addBoth(_cancel_call, hard_stop)
        dispatcher = self._dispatcher
        if not session.established:
            session.protocol.close()
        elif dispatcher is not None and dispatcher.delivering:
            # Called from a MESSAGE callback: say goodbye once that
            # message's automatic ACK is under way.
            dispatcher.after_delivery = lambda: self._say_goodbye(session)
        else:
            self._say_goodbye(session)
        return closed

    def connection_closed(self) -> None:
        """
        The connection is gone after C{disconnect()}: the client is
        CLOSED, and C{disconnect()}'s Deferreds fire.
        """
        lifecycle = self._core.lifecycle
        if lifecycle.state is State.LEAVING:
            lifecycle.move(State.CLOSED)
        waiters, self._closed_waiters = self._closed_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _abort_on_leaving(self, session: Session) -> None:
        core = self._core
        if session.protocol.transport is None or core.session is not session:
            return
        log.warn(
            "the connection to {broker} did not close within disconnect_timeout={timeout:g} s: "
            "aborting it",
            broker=core.broker,
            timeout=core.settings.disconnect_timeout,
        )
        session.protocol.close(flush_timeout=0)

    def _say_goodbye(self, session: Session) -> None:
        # Messages whose callbacks are still running get their automatic
        # ACK (or NACK) first, within half the time bound, so that a
        # graceful exit does not make the broker redeliver work already
        # done; DISCONNECT's RECEIPT has the rest.
        core = self._core
        clock = core.clock
        timeout = core.settings.disconnect_timeout
        deadline = clock.seconds() + timeout
        protocol = session.protocol

        def goodbye(result: object = None) -> None:
            if session.goodbye_sent:
                return
            if timer.active():
                timer.cancel()
            session.goodbye_sent = True
            if not protocol.is_stomp_connected:
                protocol.close()
                return
            sent = protocol.send_frame(Frame("DISCONNECT"), receipt=True, bounded=False)
            if protocol.paused:
                # The RECEIPT must be read, past any unread messages.
                protocol.resumeProducing()
            remaining = max(0.0, deadline - clock.seconds())
            sent.addTimeout(remaining, clock)
            sent.addBoth(lambda _: protocol.close())

        timer = clock.callLater(timeout / 2, goodbye)
        settling = self._dispatcher.settling if self._dispatcher is not None else set()
        if settling:
            DeferredList(list(settling)).addBoth(goodbye)
        else:
            goodbye()
