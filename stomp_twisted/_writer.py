"""
What one STOMP connection writes: L{ConnectionWriter}, between
L{StompProtocol<stomp_twisted.protocol.StompProtocol>} and its transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from twisted.internet.abstract import FileDescriptor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from ._direct_send import (
    DIRECT_TYPES,
    direct_socket,
    no_delay,
    send_at_once,
    send_more,
    send_now,
    widen_send_buffer,
    write_behind,
)
from ._encoder import FrameBytes
from ._frame_types import Frame
from .errors import SendBufferFull
from .heartbeat import HeartbeatMonitor

__all__ = [
    "BURST_GAP",
    "DEFAULT_SEND_BUFFER",
    "HOLD_READING_AFTER",
    "WRITE_BATCH",
    "ConnectionWriter",
    "Written",
]

#: The default bound on bytes written while the transport's buffer is full.
DEFAULT_SEND_BUFFER = 8 * 1024 * 1024

#: How many bytes of acknowledgements (exempt from that bound) may be
#: written while the transport's buffer is full before reading is held
#: until it drains: a broker that sends messages but reads nothing would
#: otherwise have the client keep an ACK, and its Deferred, for each.
HOLD_READING_AFTER = 256 * 1024

#: Frames written while the MESSAGEs of a read are dispatched (automatic
#: ACKs above all) go to the transport together, at the end of the read or
#: once this many bytes wait: one write instead of one per frame.
WRITE_BATCH = 64 * 1024

#: Seconds after a write handed to the socket at once (L{send_now}) within
#: which another, with no read between, is taken for the next of a burst
#: (a publisher's loop, thousands of frames in one reactor turn): it is
#: left to the transport, which sends all that follows in few system
#: calls on the next turn.  A read, or this long a quiet, starts afresh.
BURST_GAP = 0.001


# What awaiting a Written gives when it holds None: an iterator already
# exhausted, so that the await ends at once, with None.  Sharing one is
# safe: it holds nothing and stays exhausted.
_NOTHING_TO_WAIT_FOR: Iterator[Any] = iter(())


class Written(Deferred[Frame | None]):
    """
    A L{Deferred} that has fired with C{None}: a frame without a receipt
    handed to the transport, what C{succeed(None)} gives, made cheaper for
    the publisher's loop (C{await client.send(..., receipt=False)}), which
    builds and awaits one per message.

    It is fired from birth (its class says so, instead of each instance
    being told, as L{succeed<twisted.internet.defer.succeed>} does), and awaiting it while it holds
    C{None} returns at once, instead of running L{Deferred.__await__}'s
    generator to its end.  Otherwise it is a L{Deferred} like any: each
    send has its own, to which callbacks may be added; an await after they
    changed its result is L{Deferred}'s own.
    """

    called = True
    result = None

    def __await__(self) -> Generator[Any, None, Frame | None]:
        if self.result is None and not self.paused:
            return _NOTHING_TO_WAIT_FOR  # type: ignore[return-value]
        return super().__await__()


@implementer(IPushProducer)
class ConnectionWriter:
    """
    Writes a connection's bytes to its protocol's transport (whichever it
    is at the time of writing): gathered into one write while a batch is
    open (L{begin_batch}), and bounded while the transport's send buffer
    is full.  Bytes go to the socket at once when its transport holds
    nothing (L{direct_socket}): the first frame of a burst, the frames of
    a read's batch, a frame written on its own, or a large frame; the
    rest of a burst waits in the transport, as Twisted does.

    It registers itself with the transport as a streaming producer, so
    that the transport tells it when its buffer fills (L{pauseProducing})
    and drains (L{resumeProducing}).  (The protocol is a producer too, of
    what it reads: pausing it stops reading, which is another matter.)

    @ivar bytes_written: bytes written to the transport (or batched for
        it), heart-beats included.
    @ivar send_buffer_full: whether the transport has asked its producer
        to pause: the socket is slower than the sender.
    @ivar monitor: the connection's heart-beat monitor, told of every
        write (a heart-beat is due only after a silence), if any.
    """

    def __init__(self, protocol: Protocol, max_send_buffer: int = DEFAULT_SEND_BUFFER) -> None:
        """
        @param protocol: the connection's protocol, whose transport this
            writes to.
        @param max_send_buffer: how many bytes L{check_room} lets through
            while the transport's buffer is full.
        """
        self._protocol = protocol
        self._max_send_buffer = max_send_buffer
        self._registered = False
        self._batch: list[bytes] | None = None
        self._batch_size = 0
        self._written_while_full = 0
        self._writable_waiters: list[Deferred[Frame | None]] = []
        # When bytes last went to the socket at once, outside a read
        # (None: not since the last read began); see BURST_GAP.
        self._sent_at: float | None = None
        # Whether a large frame was written on this connection (whose
        # socket's send buffer was then widened).
        self._large_written = False
        self.bytes_written = 0
        self.send_buffer_full = False
        self.monitor: HeartbeatMonitor | None = None
        self._acks_while_full = 0
        #: Whether reading is held (L{count_acknowledgement}).
        self.reading_held = False
        #: Called with L{reading_held} whenever it changes.
        self.on_hold_changed: Callable[[bool], None] | None = None

    def attach(self) -> None:
        """
        Hear from the new transport when its send buffer fills and drains,
        if it can say; let a TCP transport send more a turn (L{send_more}),
        and send small writes at once (L{no_delay}).
        """
        no_delay(self._protocol.transport)
        send_more(self._protocol.transport)
        register = getattr(self._protocol.transport, "registerProducer", None)
        if register is not None:
            register(self, True)
            self._registered = True

    def detach(self) -> None:
        """
        Stop hearing from the transport about its send buffer.  Required
        before it can close: a transport with a producer registered closes
        only once that producer unregisters, and one paused on a full
        buffer would be resumed when the buffer drains, and the connection
        never closed.
        """
        unregister = getattr(self._protocol.transport, "unregisterProducer", None)
        if self._registered and unregister is not None:
            unregister()
        self._registered = False

    # --- writing ------------------------------------------------------------------

    def write(self, data: FrameBytes) -> None:
        """
        Write C{data}, or add it to the open batch.

        @param data: bytes, or a large frame's head, body and NUL
            (L{serialize_frame_pieces<stomp_twisted._encoder.serialize_frame_pieces>}).
        """
        if isinstance(data, tuple):
            self._write_pieces(data)
            return
        transport: Any = self._protocol.transport
        assert transport is not None, "not connected"
        self.bytes_written += len(data)
        batch = self._batch
        if batch is None:
            if type(transport) not in DIRECT_TYPES:
                # Not a socket to write to at once: direct_socket's first
                # question, asked here.
                transport.write(data)
            elif not transport._tempDataBuffer:
                self._write_out(transport, data)
            else:
                # The next of a burst (a publisher's loop comes here for
                # every message but the first of each): it waits in the
                # transport behind the frames before it.
                write_behind(transport, data)
            if self.monitor is not None:
                self.monitor.wrote()
            return
        batch.append(data)
        self._batch_size += len(data)
        if self._batch_size >= WRITE_BATCH:
            # Let the transport see it, and say if its buffer is full.
            self.end_batch()
            self._batch = []

    def _write_pieces(self, pieces: tuple[bytes, ...]) -> None:
        transport = self._protocol.transport
        if not isinstance(transport, FileDescriptor):
            # TLS, WebSocket and test transports may write each piece
            # apart (a WebSocket message each), or join them anyway: they
            # are given the frame joined, as before.
            self.write(b"".join(pieces))
            return
        # A transport built on FileDescriptor (TCP, UNIX sockets) keeps
        # what it is given in a list and joins it on its way to the
        # socket: given the pieces, that join is the body's one copy.
        size = sum(map(len, pieces))
        self.bytes_written += size
        if not self._large_written:
            self._large_written = True
            widen_send_buffer(transport)
        batch = self._batch
        if batch is None:
            # Sent at once whenever the transport holds nothing, burst or
            # not: what the socket takes is not copied at all (sendmsg),
            # and the rest is copied once, not joined whole first.
            self._write_sequence(transport, pieces)
            return
        batch.extend(pieces)
        self._batch_size += size
        if self._batch_size >= WRITE_BATCH:
            self.end_batch()
            self._batch = []

    def write_heartbeat(self) -> None:
        """
        Write a heart-beat EOL at once (the monitor, which asks for it,
        knows).
        """
        transport = self._protocol.transport
        if transport is not None:
            self.bytes_written += 1
            self._write_out(transport, b"\n")

    def _write_out(self, transport: Any, data: bytes) -> None:
        # One write outside a batch: to the socket at once if its
        # transport holds nothing and this is not the next of a burst.
        now = time.monotonic()
        sent_at = self._sent_at
        if (sent_at is None or now - sent_at >= BURST_GAP) and send_at_once(transport, data):
            self._sent_at = now
            return
        transport.write(data)

    def begin_batch(self) -> bool:
        """
        Gather what is written from now on into one write, until
        L{end_batch}.

        @return: whether this opened a batch (C{False}: one was open, as
            in a read dispatched from within another).
        """
        if self._batch is not None:
            return False
        self._batch = []
        # A read: the reactor has come back to this connection since any
        # burst written before.
        self._sent_at = None
        return True

    def end_batch(self) -> bool:
        """
        Write what the open batch holds, and close it.

        @return: whether a batch was open.
        """
        batch, self._batch = self._batch, None
        self._batch_size = 0
        transport = self._protocol.transport
        if batch and transport is not None:
            # A read's batch is already its turn's writes gathered: it
            # goes to the socket at once if nothing waits before it.
            self._write_sequence(transport, batch)
        return batch is not None

    def _write_sequence(self, transport: Any, pieces: Sequence[bytes]) -> None:
        # Pieces already gathered (a large frame's, a batch): to the socket
        # at once if its transport holds nothing, else to the transport.
        sock = direct_socket(transport)
        if sock is None:
            transport.writeSequence(pieces)
        else:
            self._sent_at = time.monotonic()
            send_now(transport, sock, pieces)
        if self.monitor is not None:
            self.monitor.wrote()

    # --- the send buffer ----------------------------------------------------------

    def check_room(self, data: FrameBytes) -> None:
        """
        Count C{data} (bytes, or a frame's pieces) against
        C{max_send_buffer} if the transport's buffer is full.

        @raise SendBufferFull: if C{data} would pass that bound; it is
            not counted then.
        """
        if not self.send_buffer_full:
            return
        size = sum(map(len, data)) if isinstance(data, tuple) else len(data)
        if self._written_while_full + size > self._max_send_buffer:
            raise SendBufferFull(
                f"the connection's send buffer is full and {self._written_while_full} bytes "
                f"were written since (max_send_buffer={self._max_send_buffer}): wait for "
                "earlier sends to fire before sending more"
            )
        self._written_while_full += size

    def count_acknowledgement(self, data: FrameBytes) -> None:
        """
        Count C{data}, an acknowledgement (exempt from C{max_send_buffer}),
        if the transport's buffer is full: past L{HOLD_READING_AFTER}
        bytes, reading is held (L{on_hold_changed}) until it drains.
        """
        if not self.send_buffer_full:
            return
        self._acks_while_full += sum(map(len, data)) if isinstance(data, tuple) else len(data)
        if self._acks_while_full > HOLD_READING_AFTER and not self.reading_held:
            self.reading_held = True
            if self.on_hold_changed is not None:
                self.on_hold_changed(True)

    def when_writable(self) -> Deferred[Frame | None]:
        """
        @return: a L{Deferred} that fires with C{None} once the transport's
            buffer has drained, so that a sender who waits on each send is
            paced by the network.
        """
        written: Deferred[Frame | None] = Deferred()
        self._writable_waiters.append(written)
        return written

    def fail_waiters(self, error: Exception) -> None:
        """
        Fail what L{when_writable} returned: the connection is gone.
        """
        waiters, self._writable_waiters = self._writable_waiters, []
        for waiter in waiters:
            waiter.errback(error)

    def pauseProducing(self) -> None:
        """
        The transport's send buffer is full.
        """
        self.send_buffer_full = True

    def resumeProducing(self) -> None:
        """
        The transport's send buffer has drained.
        """
        self.send_buffer_full = False
        self._written_while_full = 0
        self._acks_while_full = 0
        # A sender paced by the network (when_writable) writes its next
        # frames now, in a burst: left to the transport, they go out
        # together, rather than the first alone and the rest after it.
        self._sent_at = time.monotonic()
        waiters, self._writable_waiters = self._writable_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        if self.reading_held:
            self.reading_held = False
            if self.on_hold_changed is not None:
                self.on_hold_changed(False)

    def stopProducing(self) -> None:
        """
        Nothing to stop: the protocol closes the connection.
        """
