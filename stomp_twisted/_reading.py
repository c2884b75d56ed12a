"""
When a connection reads from its transport, besides the layer above's
holds (L{stomp_twisted._flow.ReadHolds}, through the protocol's
C{pauseProducing}): L{ReadControl}.  Not API.

Two things pause reading here:

  - a busy read (many short frames): reading pauses for the protocol's
    C{read_pause}, so that the next read takes a whole batch rather than
    a frame or two (what depends on the broker is read off CONNECTED's
    C{server} header: L{tuned_for});
  - a backlog of acknowledgements: the broker does not drain what this
    side writes, and each MESSAGE read would add an ACK to that buffer,
    without bound (L{HOLD_READING_AFTER<stomp_twisted._writer.HOLD_READING_AFTER>}).
    Reading resumes once it drains; past L{STALL_WARNING} seconds a
    warning says so.  The heart-beat watch goes on meanwhile: a broker
    that neither reads nor can be read for its tolerance is dead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

if TYPE_CHECKING:
    from .protocol import StompProtocol

__all__ = [
    "ACTIVEMQ_BUSY_FRAME_SIZE",
    "BUSY_READ_FRAMES",
    "FULL_READ",
    "NO_DELAY_SERVERS",
    "STALL_WARNING",
    "ReadControl",
    "tuned_for",
]

#: A read that held this many frames or more is a busy stream, after which
#: reading pauses for L{StompProtocol.read_pause}, unless it was a full
#: read (L{FULL_READ} bytes, what Twisted's TCP transport reads at most):
#: then more is waiting already, and is read at once.
BUSY_READ_FRAMES = 4
FULL_READ = 64 * 1024

#: From ActiveMQ Classic (C{server:ActiveMQ/...}), only a busy read of
#: frames shorter than this on average pauses: it delivers longer frames
#: faster to a reader that never pauses (the benchmark's 2 KiB, 4 KiB and
#: 10 KiB bodies: 19-44% more messages a second, and less CPU per message,
#: without the pause), while RabbitMQ delivers faster with it at every size.
ACTIVEMQ_BUSY_FRAME_SIZE = 1024

#: Brokers (C{server} header prefixes) that disable Nagle's algorithm on
#: their STOMP connections by default, so that none of their frames waits
#: for the client's ACK of the one before (RabbitMQ's C{rabbitmq_stomp}
#: listens with C{{nodelay, true}}): reads from them are not acknowledged
#: at once (L{quick_ack<stomp_twisted._direct_send.quick_ack>}), which
#: costs a pure ACK segment a light read.
NO_DELAY_SERVERS = ("RabbitMQ/",)

#: Seconds reading may stay held for a backlog of acknowledgements (the
#: broker not reading, and this side not reading either) before a warning.
STALL_WARNING = 10.0


def tuned_for(server: str) -> tuple[int, bool]:
    """
    What depends on the broker, by CONNECTED's C{server} header (C{""}
    for a broker not yet known, or that does not say): the average frame
    size under which a busy read pauses, and whether light reads are
    acknowledged at once.
    """
    busy_frame_size = ACTIVEMQ_BUSY_FRAME_SIZE if server.startswith("ActiveMQ/") else FULL_READ
    return busy_frame_size, not server.startswith(NO_DELAY_SERVERS)


class ReadControl:
    """
    Pauses and resumes a protocol's reading for a busy read and for a
    backlog of acknowledgements.

    @ivar quick_ack: whether a light read is acknowledged at once.
    @ivar held: whether reading is held for that backlog.
    """

    def __init__(self, protocol: StompProtocol, clock: IReactorTime | None, log: Logger) -> None:
        self._protocol = protocol
        self._clock = clock
        self._log = log
        self._busy_frame_size, self.quick_ack = tuned_for("")
        self._resumer: IDelayedCall | None = None
        self._stall_warning: IDelayedCall | None = None
        self.held = False

    def tune(self, server: str) -> None:
        """
        CONNECTED named the broker (its C{server} header).
        """
        self._busy_frame_size, self.quick_ack = tuned_for(server)

    def _transport(self) -> Any:
        # The transport, while the connection is open and not closing.
        protocol = self._protocol
        return None if protocol._closing else protocol.transport

    def after_busy_read(self, frames: int, size: int) -> None:
        """
        A read held C{frames} frames (L{BUSY_READ_FRAMES} or more) in
        C{size} bytes: pause reading for C{read_pause} if they were short.
        """
        protocol = self._protocol
        transport = self._transport()
        if (
            size >= min(FULL_READ, frames * self._busy_frame_size)
            or self._clock is None
            or protocol.read_pause <= 0
            or self._resumer is not None
            or protocol.paused
            or transport is None
        ):
            return
        transport.pauseProducing()
        self._resumer = self._clock.callLater(protocol.read_pause, self._resume)

    def _resume(self) -> None:
        self._resumer = None
        # Unless the layer above paused reading meanwhile (flow control),
        # or the broker stopped reading.
        transport = self._transport()
        if not self._protocol.paused and not self.held and transport is not None:
            transport.resumeProducing()

    def hold_changed(self, held: bool) -> None:
        """
        The connection's writer holds reading (C{True}: acknowledgements
        pile up in a send buffer the broker does not drain) or releases it.
        """
        self.held = held
        transport = self._transport()
        if transport is None:
            return
        if held:
            transport.pauseProducing()
            if self._clock is not None and self._stall_warning is None:
                self._stall_warning = self._clock.callLater(STALL_WARNING, self._warn_stalled)
            return
        warning, self._stall_warning = self._stall_warning, None
        if warning is not None and warning.active():
            warning.cancel()
        elif warning is not None:
            self._log.info("the broker drained what this side sent: reading again")
        if not self._protocol.paused and self._resumer is None:
            transport.resumeProducing()

    def _warn_stalled(self) -> None:
        self._log.warn(
            "the broker has read nothing of this side's for {seconds:g} s while it sends: "
            "reading paused until it drains what was sent (heart-beats, if agreed, tell "
            "whether it is dead)",
            seconds=STALL_WARNING,
        )

    def stop(self) -> None:
        """
        The connection is gone: cancel the timers.
        """
        for timer in (self._resumer, self._stall_warning):
            if timer is not None and timer.active():
                timer.cancel()
        self._resumer = self._stall_warning = None
