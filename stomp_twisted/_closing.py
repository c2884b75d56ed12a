"""
Closing one connection's transport within a bound: L{TransportCloser}, for
L{StompProtocol<stomp_twisted.protocol.StompProtocol>}.
"""

from __future__ import annotations

from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITransport
from twisted.logger import Logger

__all__ = ["TransportCloser"]


class TransportCloser:
    """
    Closes a transport, letting it flush what it holds for at most a given
    time, then aborts it (a reset: whatever it still holds is discarded).
    A broker that stops reading would otherwise keep a full send buffer,
    and so the connection, open for good, with no loss reported.

    @ivar ended: whether the connection is gone (L{connection_lost}).
    """

    def __init__(self, clock: IReactorTime | None, log: Logger) -> None:
        """
        @param clock: runs the timer; without one, only an abort at once
            applies.
        @param log: where aborts are reported (the protocol's).
        """
        self._clock = clock
        self._log = log
        self._timer: IDelayedCall | None = None
        self.ended = False

    def close(self, transport: ITransport, flush_timeout: float) -> None:
        """
        Close C{transport}: let it flush for C{flush_timeout} seconds, then
        abort it; C{0} aborts at once.  Calling it again may shorten that
        bound, never lengthen it.
        """
        if self.ended:
            return
        transport.loseConnection()
        if flush_timeout <= 0:
            self.abort(transport, "closed with no time given to flush what is left to send")
            return
        if self._clock is None:
            return
        timer = self._timer
        if timer is not None and timer.active():
            if timer.getTime() <= self._clock.seconds() + flush_timeout:
                return
            timer.cancel()
        self._timer = self._clock.callLater(
            flush_timeout, self._flush_timed_out, transport, flush_timeout
        )

    def _flush_timed_out(self, transport: ITransport, seconds: float) -> None:
        self._timer = None
        self.abort(
            transport,
            f"the broker read nothing of what was left to send for {seconds:g} s after "
            "the connection was closed",
        )

    def abort(self, transport: ITransport, why: str) -> None:
        """
        Abort C{transport} now: C{connectionLost} follows at once
        (L{ConnectionAborted<twisted.internet.error.ConnectionAborted>}).

        @param why: for the log.
        """
        self._cancel_timer()
        if self.ended:
            return
        abort = getattr(transport, "abortConnection", None)
        if abort is None:
            self._log.warn(
                "cannot abort the STOMP connection ({why}): the transport cannot", why=why
            )
            return
        self._log.warn("aborting the STOMP connection: {why}", why=why)
        abort()

    def connection_lost(self) -> None:
        """
        The connection is gone: nothing is left to close.
        """
        self.ended = True
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
