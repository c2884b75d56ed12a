"""
The STOMP wire protocol over one Twisted connection.

L{StompProtocol} turns bytes into frames with the codec in
L{stomp_twisted.frame}, performs the CONNECT/CONNECTED handshake, and keeps
the receipts of its own connection: each request made with a receipt gets a
L{Deferred} that the broker's C{RECEIPT} fires, that an C{ERROR} naming the
receipt fails, and that the loss of the connection fails.  It also keeps
the heart-beats negotiated in the handshake (L{stomp_twisted.heartbeat}):
an EOL whenever it has written nothing for the send interval, and the
connection closed with L{HeartbeatTimeout<stomp_twisted.errors.HeartbeatTimeout>}
when the broker has sent nothing for too long.  Closing never waits on
the broker for good: what is left to send is flushed for at most
L{StompProtocol.close_timeout} seconds, then the connection is aborted.
A broker's bytes never raise out of C{dataReceived}: a malformed frame,
absurd C{heart-beat} numbers or a second C{CONNECTED} close the
connection with a L{RemoteProtocolError<stomp_twisted.errors.RemoteProtocolError>}.
Everything else (subscriptions, observers, reconnection) lives in the
layers above, which see this protocol through the L{ConnectionHandler}
interface.
"""

from __future__ import annotations

import itertools
from typing import Protocol as TypingProtocol

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from ._closing import TransportCloser
from ._direct_send import quick_ack
from ._encoder import serialize_frame_pieces
from ._reading import BUSY_READ_FRAMES, ReadControl
from ._secrets import masked
from ._writer import DEFAULT_SEND_BUFFER, WRITE_BATCH, ConnectionWriter, Written
from .errors import (
    BadArgument,
    BrokerError,
    ConnectionLost,
    HeartbeatTimeout,
    RemoteProtocolError,
    StompError,
)
from .frame import (
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    VERSIONS,
    Frame,
    FrameDecoder,
    FrameLimits,
    serialize_frame,
)
from .heartbeat import (
    DEFAULT_TOLERANCE,
    HeartbeatIntervals,
    HeartbeatMonitor,
    check_tolerance,
    negotiate,
    parse_offer,
)

# The send path's constants are documented here, where they apply.
__all__ = ["DEFAULT_SEND_BUFFER", "WRITE_BATCH", "ConnectionHandler", "StompProtocol"]


class ConnectionHandler(TypingProtocol):
    """
    What a L{StompProtocol} tells the layer above it.
    """

    def connection_made(self, protocol: StompProtocol) -> None:
        """
        The transport is connected and CONNECT has been sent.
        """

    def stomp_connected(self, protocol: StompProtocol, frame: Frame) -> None:
        """
        The broker answered CONNECTED; C{protocol.version} is negotiated.
        """

    def frame_received(self, protocol: StompProtocol, frame: Frame) -> None:
        """
        A frame other than the first CONNECTED arrived.
        """

    def heartbeat_received(self, protocol: StompProtocol) -> None:
        """
        An EOL arrived between frames.
        """

    def connection_lost(
        self, protocol: StompProtocol, reason: Failure, error: StompError | None
    ) -> None:
        """
        The connection is gone.  C{error} says why when the protocol knows
        better than the transport: the broker's C{ERROR} (a L{BrokerError})
        or a malformed frame (a L{RemoteProtocolError}).
        """


#: The frames exempt from max_send_buffer that reading makes (what the
#: outbox re-sends, also exempt, is not): too many of them in a full send
#: buffer hold reading (HOLD_READING_AFTER).
_READ_REPLIES = frozenset({"ACK", "NACK"})


def shown_header(value: str) -> str:
    """
    A header value for a message, quoted, and cut short: a hostile broker
    may send a long one.
    """
    if len(value) <= 40:
        return repr(value)
    return f"{value[:40]!r}... ({len(value)} characters)"


def _settle_receipt(receipts: dict[str, Deferred[Frame]], frame: Frame, log: Logger) -> None:
    """
    Fire the Deferred that a C{RECEIPT} answers; log one that answers
    nothing (the observers still see it).
    """
    receipt_id = frame.headers.get("receipt-id")
    if receipt_id is None:
        log.warn("the broker sent a RECEIPT without a receipt-id header")
        return
    deferred = receipts.pop(receipt_id, None)
    if deferred is not None:
        deferred.callback(frame)
    else:
        # Late (its request timed out), or never asked for.
        log.info("nothing waits for RECEIPT {id!r}", id=receipt_id[:80])


class StompProtocol(LineReceiver):
    """
    One STOMP connection.

    A L{LineReceiver}: its line mode reads a frame's command and header
    lines, its raw mode the body.  A L{FrameDecoder} scans the whole
    received buffer, not L{LineReceiver.dataReceived} (which copies the
    rest of its buffer per line: quadratic in the frames of a read);
    C{line_mode}, C{paused} and L{pauseProducing}/L{resumeProducing} keep
    their L{LineReceiver} meaning.

    @ivar version: the negotiated STOMP version, C{None} before CONNECTED.
    @ivar connected_frame: the broker's CONNECTED frame, once received.
    @ivar heartbeat: the negotiated heart-beat intervals (C{send},
        C{receive}, in milliseconds, C{0} for none), C{None} before
        CONNECTED.
    """

    delimiter = b"\n"
    _log = Logger()

    #: Seconds to stop reading after a busy read (L{BUSY_READ_FRAMES} frames
    #: or more, under L{FULL_READ} bytes; from ActiveMQ Classic, of frames
    #: under L{ACTIVEMQ_BUSY_FRAME_SIZE} bytes on average), so that the next
    #: read takes a batch: a client that wakes for every few frames takes CPU
    #: time a local broker needs, and pays a read for each.  Light traffic is
    #: read at once.  C{0} reads eagerly always.  Only with a clock.
    read_pause = 0.001

    #: Seconds that L{close} lets the transport flush what it holds before
    #: aborting the connection: a broker that stops reading would otherwise
    #: keep it open for good, with no loss reported.  Only with a clock.
    close_timeout = 5.0

    def __init__(
        self,
        handler: ConnectionHandler,
        connect_frame: Frame,
        limits: FrameLimits | None = None,
        *,
        clock: IReactorTime | None = None,
        heartbeat_tolerance: float = DEFAULT_TOLERANCE,
        max_send_buffer: int = DEFAULT_SEND_BUFFER,
    ) -> None:
        """
        @param handler: told of everything that happens on this connection.
        @param connect_frame: the C{CONNECT} (or C{STOMP}) frame to send
            once connected; its C{accept-version} header lists the versions
            this side accepts (C{1.0} if absent, as in STOMP 1.0), its
            C{heart-beat} header the heart-beats it offers (none if absent).
        @param limits: bounds on received frames.
        @param clock: runs the heart-beat timers; required if
            C{connect_frame} offers heart-beats.
        @param heartbeat_tolerance: how many receive intervals of silence
            make the broker dead.
        @param max_send_buffer: how many bytes of frames may be written
            while the transport has asked its producer to pause (its
            buffer is full: the socket is slower than the sender); past
            that, L{send_frame} raises
            L{SendBufferFull<stomp_twisted.errors.SendBufferFull>}.
        @raise BadArgument: for a malformed C{heart-beat} header, a
            heart-beat offer without a clock, or a bad tolerance.
        """
        self._handler = handler
        self._connect_frame = connect_frame
        # Masked in the errors kept and logged: a broker may quote it.
        self._secret = connect_frame.headers.get("passcode")
        accepted = connect_frame.headers.get("accept-version", "1.0")
        self._accepted_versions = [v.strip() for v in accepted.split(",") if v.strip()]
        self._heartbeat_offer = parse_offer(connect_frame.headers.get("heart-beat"))
        if self._heartbeat_offer != (0, 0) and clock is None:
            raise BadArgument("a CONNECT frame offering heart-beats needs a clock")
        self._clock = clock
        self._heartbeat_tolerance = check_tolerance(heartbeat_tolerance)
        self._heartbeats: HeartbeatMonitor | None = None
        self._decoder = FrameDecoder("1.0", limits, commands=SERVER_COMMANDS)
        self._writer = ConnectionWriter(self, max_send_buffer)
        self._reading = ReadControl(self, clock, self._log)
        self._writer.on_hold_changed = self._reading.hold_changed
        self._closer = TransportCloser(clock, self._log)
        self._receipt_ids = itertools.count(1)
        self._receipts: dict[str, Deferred[Frame]] = {}
        self._error: StompError | None = None
        self._closing = False
        self.version: str | None = None
        self.connected_frame: Frame | None = None
        self.heartbeat: HeartbeatIntervals | None = None
        #: Bytes received from the broker, for L{stomp_twisted.stats}.
        self.bytes_received = 0

    @property
    def bytes_written(self) -> int:
        """
        Bytes written to the broker, for L{stomp_twisted.stats}.
        """
        return self._writer.bytes_written

    @property
    def limits(self) -> FrameLimits:
        """
        The bounds on received frames.
        """
        return self._decoder.limits

    @property
    def send_buffer_full(self) -> bool:
        """
        Whether the transport has asked us to stop writing for now.
        """
        return self._writer.send_buffer_full

    # --- Twisted's side -------------------------------------------------------

    def connectionMade(self) -> None:
        self.line_mode = 1
        self._writer.attach()
        self._writer.write(serialize_frame(self._connect_frame))
        self._handler.connection_made(self)

    def dataReceived(self, data: bytes) -> None:
        self.bytes_received += len(data)
        if data and self._heartbeats is not None:
            # Any byte shows the broker alive, not only heart-beat EOLs.
            self._heartbeats.received()
        decoder = self._decoder
        decoder.receive_data(data)
        handler = self._handler
        # (Bound once per read: RabbitMQ's EOLs make two events a MESSAGE.)
        next_event = decoder.next_event
        frame_received = handler.frame_received
        heartbeat_received = handler.heartbeat_received
        frames = 0
        # Batch what this read's MESSAGEs make the layer above write
        # (WRITE_BATCH).  A read dispatched within another (a callback
        # resuming reading) adds to its batch: frames keep their order.
        batching = self._writer.begin_batch()
        try:
            while not self.paused and not self._closing:
                try:
                    event = next_event()
                except RemoteProtocolError as error:
                    self._fail(error)
                    break
                if event is NEED_DATA:
                    break
                if event is HEARTBEAT:
                    heartbeat_received(self)
                    continue
                assert isinstance(event, Frame)
                frames += 1
                if event.command == "MESSAGE" and self.version is not None:
                    # The usual frame, straight to the layer above.
                    frame_received(self, event)
                else:
                    self._frame_received_unbatched(event)
        finally:
            if batching:
                self._writer.end_batch()
        self.line_mode = 0 if decoder.in_body else 1
        if frames >= BUSY_READ_FRAMES:
            self._reading.after_busy_read(frames, len(data))
        elif frames and self._reading.quick_ack:
            quick_ack(self.transport)

    def _frame_received_unbatched(self, frame: Frame) -> None:
        # The handshake, receipts and errors: what their callers write in
        # return (SUBSCRIBEs on CONNECTED, the next SEND on a RECEIPT) is
        # handed to the transport at once, as they may expect.
        batching = self._writer.end_batch()
        try:
            self._frame_received(frame)
        finally:
            if batching and not self._closing:
                self._writer.begin_batch()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closing = True
        self._closer.connection_lost()
        self._stop_heartbeats()
        self._reading.stop()
        error = self._error
        lost = ConnectionLost(
            f"connection lost before the broker answered: {error or reason.getErrorMessage()}",
            error,
        )
        receipts, self._receipts = self._receipts, {}
        for deferred in receipts.values():
            deferred.errback(lost)
        self._writer.fail_waiters(lost)
        self._handler.connection_lost(self, reason, error)

    # --- the layer above's side ----------------------------------------------

    @property
    def is_stomp_connected(self) -> bool:
        """
        Whether CONNECTED has arrived and the connection is still usable.
        """
        return self.version is not None and self._error is None and not self._closing

    def close(self, error: StompError | None = None, *, flush_timeout: float | None = None) -> None:
        """
        Close the connection; nothing more is sent or dispatched.

        What the transport still holds is flushed first, for at most
        C{flush_timeout} seconds: a broker that does not read within that
        time gets the connection aborted instead, so that its loss is
        reported (C{connection_lost}) whatever the broker does.  Calling
        it again may shorten that bound, never lengthen it.

        @param error: why, if this is a failure (a handshake that took too
            long, a dead peer); the handler's C{connection_lost} gets it.
        @param flush_timeout: the bound, in seconds; L{close_timeout} if
            C{None}, an abort at once if C{0}.  Without a clock, only
            C{0} applies (there is no timer to run).
        """
        if error is not None and self._error is None:
            self._error = masked(error, self._secret)
            self._log.warn("closing STOMP connection: {error}", error=error)
        self._closing = True
        self._stop_heartbeats()
        self._writer.end_batch()
        transport = self.transport
        if transport is None or self._closer.ended:
            return
        self._writer.detach()
        self._closer.close(
            transport, self.close_timeout if flush_timeout is None else flush_timeout
        )

    def pauseProducing(self) -> None:
        # Silence while this side does not read says nothing of the broker.
        if self._heartbeats is not None:
            self._heartbeats.pause_receiving()
        super().pauseProducing()  # type: ignore[no-untyped-call]

    def resumeProducing(self) -> None:
        if self._heartbeats is not None:
            self._heartbeats.resume_receiving()
        self.paused = False
        if not self._reading.held and self.transport is not None:
            self.transport.resumeProducing()  # type: ignore[attr-defined]
        self.dataReceived(b"")

    def send_frame(
        self, frame: Frame, receipt: bool = False, *, bounded: bool = True
    ) -> Deferred[Frame | None]:
        """
        Write C{frame}, serialized for the negotiated version.

        @param receipt: ask the broker for a receipt.
        @return: a L{Deferred} that fires with the C{RECEIPT} frame when
            C{receipt} is true, or with C{None} once the frame is written
            otherwise.  It fails with L{BrokerError} if the broker answers
            the receipt with C{ERROR}, and with L{ConnectionLost} if the
            connection goes first.  Cancelling it forgets the receipt.
        @param bounded: apply C{max_send_buffer} (callers that bound what
            they hold themselves, such as the outbox, may skip it).
        @raise UnrepresentableHeader: if C{frame} cannot be written in the
            negotiated version; nothing is written then.
        @raise SendBufferFull: if the transport's buffer is full and
            C{max_send_buffer} bytes were written since; nothing is
            written then.
        """
        version = self.version or "1.0"
        if self._closing:
            # Serialize anyway, so that bad input is reported as such.
            serialize_frame(frame, version)
            return fail(ConnectionLost("the connection is closed"))
        writer = self._writer
        if not receipt:
            data = serialize_frame_pieces(frame, version)
            if writer.send_buffer_full:
                if bounded:
                    writer.check_room(data)
                elif frame.command in _READ_REPLIES:
                    writer.count_acknowledgement(data)
            writer.write(data)
            if writer.send_buffer_full:
                return writer.when_writable()
            return Written()
        receipt_id = f"r-{next(self._receipt_ids)}"
        headers = dict(frame.headers)
        headers["receipt"] = receipt_id
        data = serialize_frame_pieces(Frame(frame.command, headers, frame.body), version)
        if bounded:
            writer.check_room(data)
        elif frame.command in _READ_REPLIES:
            writer.count_acknowledgement(data)

        def forget(deferred: Deferred[Frame]) -> None:
            self._receipts.pop(receipt_id, None)

        deferred: Deferred[Frame] = Deferred(forget)
        self._receipts[receipt_id] = deferred
        writer.write(data)
        return deferred  # type: ignore[return-value]

    def send_message(self, message: Frame | bytes) -> Deferred[Frame | None] | None:
        """
        L{send_frame}C{(message)} (no receipt, bounded) if the connection
        L{is_stomp_connected}: both asked in one call, for every message
        of a publisher's loop.  C{message} may come encoded, as bytes.

        @return: what L{send_frame} returns, or C{None} if the connection
            is not usable; nothing is checked or written then.
        @raise UnrepresentableHeader: as L{send_frame}.
        @raise SendBufferFull: as L{send_frame}.
        """
        # is_stomp_connected and send_frame's branch, inlined (a shared method
        # cost 1.3k instructions a message); test_fast_paths holds them alike.
        version = self.version
        if version is None or self._error is not None or self._closing:
            return None
        writer = self._writer
        data = message if isinstance(message, bytes) else serialize_frame_pieces(message, version)
        if writer.send_buffer_full:
            writer.check_room(data)
        writer.write(data)
        if writer.send_buffer_full:
            return writer.when_writable()
        return Written()

    @property
    def pending_receipts(self) -> int:
        """
        The number of receipts this connection still waits for.
        """
        return len(self._receipts)

    # --- frames -------------------------------------------------------------

    def _frame_received(self, frame: Frame) -> None:
        if self.version is None:
            if frame.command == "CONNECTED":
                self._negotiate(frame)
                return
            if frame.command != "ERROR":
                self._fail(RemoteProtocolError(f"broker sent {frame.command} before CONNECTED"))
                return
        elif frame.command == "CONNECTED":
            # The session is negotiated once; a second CONNECTED (perhaps
            # claiming another version) would leave the two sides
            # disagreeing on how frames are written.
            self._fail(
                RemoteProtocolError(
                    f"broker sent a second CONNECTED (version "
                    f"{shown_header(frame.headers.get('version', '1.0'))}) in a STOMP "
                    f"{self.version} session"
                )
            )
            return
        if frame.command == "RECEIPT":
            _settle_receipt(self._receipts, frame, self._log)
        elif frame.command == "ERROR":
            self._error = masked(BrokerError(frame), self._secret)
            deferred = self._receipts.pop(frame.headers.get("receipt-id", ""), None)
            if deferred is not None:
                deferred.errback(self._error)
        self._handler.frame_received(self, frame)
        if frame.command == "ERROR":
            # The spec has the broker close the connection after ERROR, but
            # some keep it open for seconds (RabbitMQ after a failed login):
            # closing it from here means no caller waits on a dead session.
            self.close()

    def _negotiate(self, frame: Frame) -> None:
        # Everything that can fail is checked before self.version is set:
        # the layer above tells a failed handshake (a failed attempt, for
        # the reconnect policy) from a lost session by that attribute.
        version = frame.headers.get("version", "1.0")
        if version not in VERSIONS or version not in self._accepted_versions:
            self._fail(
                RemoteProtocolError(
                    f"broker chose STOMP version {shown_header(version)}, which was not offered "
                    f"(accept-version:{','.join(self._accepted_versions)})"
                )
            )
            return
        try:
            intervals = negotiate(self._heartbeat_offer, frame.headers.get("heart-beat"))
        except RemoteProtocolError as error:
            self._fail(error)
            return
        monitor = None
        if intervals.send or intervals.receive:
            assert self._clock is not None
            monitor = HeartbeatMonitor(
                self._clock,
                intervals,
                self._heartbeat_tolerance,
                self._send_heartbeat,
                self._peer_dead,
            )
        self.version = version
        self._decoder.version = version
        self.connected_frame = frame
        self.heartbeat = intervals
        self._reading.tune(frame.headers.get("server", ""))
        if monitor is not None:
            self._heartbeats = self._writer.monitor = monitor
            if self.paused:
                monitor.pause_receiving()
            monitor.start()
        self._handler.stomp_connected(self, frame)

    # --- heart-beats --------------------------------------------------------

    def _send_heartbeat(self) -> None:
        if not self._closing:
            self._writer.write_heartbeat()

    def _peer_dead(self, silence: float) -> None:
        assert self.heartbeat is not None
        stalled = ""
        if self._reading.held:
            stalled = ", nor has it taken what this side sent (reading paused meanwhile)"
        error = HeartbeatTimeout(
            f"nothing received from the broker for {silence:g} s (heart-beat interval "
            f"{self.heartbeat.receive} ms x tolerance {self._heartbeat_tolerance:g}){stalled}: "
            "presumed dead"
        )
        self._log.warn("closing STOMP connection: {error}", error=error)
        if self._error is None:
            self._error = error
        # A dead peer may never read what is still buffered for it: do
        # not wait for that to be flushed.
        self.close(flush_timeout=0)

    def _stop_heartbeats(self) -> None:
        monitor, self._heartbeats = self._heartbeats, None
        self._writer.monitor = None
        if monitor is not None:
            monitor.stop()

    def _fail(self, error: StompError) -> None:
        self._error = masked(error, self._secret)
        self._log.error("closing STOMP connection: {error}", error=error)
        self.close()
