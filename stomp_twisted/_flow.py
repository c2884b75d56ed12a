"""
Incoming flow control: when the client stops reading.  Not API.

Three things pause reading from the connection: too many messages whose
callbacks still run (C{max_in_flight}), too many messages awaiting their
acknowledgement (C{max_unacked}), and leaving (C{drain}/C{disconnect}: no
new message may reach a callback).  L{ReadHolds} counts the first, is told
about the second, reads the third from the lifecycle, and pauses or
resumes the protocol to match.  It also wakes C{drain()} when the last
running callback finishes.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred

from ._core import Core, log
from ._session import Session
from .protocol import StompProtocol

__all__ = ["ReadHolds"]


class ReadHolds:
    """
    @ivar in_flight: messages whose callbacks are still running (or whose
        automatic NACK waits for its delay).
    @ivar for_unacked: whether reading is held for C{max_unacked}.
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self._max_in_flight = core.settings.max_in_flight
        self._max_unacked = core.settings.max_unacked
        self.in_flight = 0
        self._for_in_flight = False
        self.for_unacked = False
        # drain() calls waiting for the last running callback to finish.
        self._idle_waiters: list[Deferred[int]] = []

    def message_started(self, protocol: StompProtocol) -> None:
        """
        A message's callbacks are running.  Past C{max_in_flight} of them,
        reading stops, so a slow consumer's memory stays flat; the
        broker's prefetch holds the rest back.
        """
        self.in_flight += 1
        if self.in_flight >= self._max_in_flight and not self._for_in_flight:
            self._for_in_flight = True
            log.info(
                "{count} messages in flight: pausing reading until half are done",
                count=self.in_flight,
            )
        self.apply(protocol)

    def message_done(self, result: object, protocol: StompProtocol) -> object:
        """
        A message's callbacks have finished (a Deferred callback: passes
        C{result} on).
        """
        self.in_flight -= 1
        if self._for_in_flight and self.in_flight <= self._max_in_flight // 2:
            self._for_in_flight = False
            self.apply(protocol)
        if self.in_flight == 0 and self._idle_waiters:
            waiters, self._idle_waiters = self._idle_waiters, []
            log.info("drained: no callback is running")
            for waiter in waiters:
                waiter.callback(0)
        return result

    def unacked_went_up(self, session: Session) -> None:
        """
        A message was added to C{session.unacked}.
        """
        if len(session.unacked) >= self._max_unacked:
            # Each message is remembered until it is acknowledged: past
            # max_unacked, reading stops.
            if not self.for_unacked:
                self.for_unacked = True
                log.warn(
                    "{count} messages await acknowledgement (max_unacked): pausing reading "
                    "until acknowledgements bring them down to {half}",
                    count=len(session.unacked),
                    half=self._max_unacked // 2,
                )
            self.apply(session.protocol)
        elif self.for_unacked:
            # A lost connection took its unacknowledged messages.
            self.unacked_went_down(session)

    def unacked_went_down(self, session: Session) -> None:
        """
        A message left C{session.unacked}.
        """
        if self.for_unacked and len(session.unacked) <= self._max_unacked // 2:
            self.for_unacked = False
            log.info(
                "{count} messages await acknowledgement: reading again",
                count=len(session.unacked),
            )
            self.apply(session.protocol)

    def apply(self, protocol: StompProtocol) -> None:
        """
        Pause or resume C{protocol} as the holds say.
        """
        session = self._core.session
        if not protocol.is_stomp_connected or (session is not None and session.goodbye_sent):
            # Nothing to read for; or DISCONNECT is written, and its
            # RECEIPT must be read past anything unread.
            return
        held = self._for_in_flight or self.for_unacked or self._core.lifecycle.leaving
        if held and not protocol.paused:
            protocol.pauseProducing()
        elif not held and protocol.paused:
            protocol.resumeProducing()

    def when_idle(self) -> Deferred[int]:
        """
        A Deferred fired with C{0} when the last running callback
        finishes; cancelling it stops the wait.
        """
        waiter: Deferred[int] = Deferred(self._idle_waiters.remove)
        self._idle_waiters.append(waiter)
        return waiter

    def stop_waiting(self, waiter: Deferred[int]) -> None:
        """
        Stop C{waiter} from being fired when idle.
        """
        self._idle_waiters.remove(waiter)
