"""
The send path, from a checked frame to the protocol.  Not API.

L{Sender.request} writes a frame on a connection, counts it and bounds
the wait for its receipt; L{Sender.send} decides where a frame goes while
the client is not connected (the queue of frames waiting for the first
CONNECTED, the outbox, or a failure); the outbox part keeps a message
until the broker confirms it and sends it again after a loss.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

from ._core import Core, log
from ._encoder import BODY_APART_FROM, send_head_start
from ._pending import Pending
from ._session import Session
from .arguments import HeaderValues, send_headers
from .errors import (
    ConnectionLost,
    LocalProtocolError,
    NotConnected,
    OutboxFull,
    ReceiptTimeout,
)
from .frame import Frame
from .outbox import Outbox, OutboxEntry
from .protocol import StompProtocol

__all__ = ["Sender"]


class Sender:
    """
    Writes the client's frames.

    @ivar outbox: the L{Outbox}, if the client keeps messages until
        confirmed.
    """

    def __init__(self, core: Core, pending: Pending, outbox: Outbox | None) -> None:
        self._core = core
        self._pending = pending
        self.outbox = outbox
        # send_plain's last SEND: its destination and headers (a copy),
        # its head (None if not plain) and its checked headers.
        self._kept: tuple[str, dict[str, str] | None, bytes | None, dict[str, str]] = (
            "",
            None,
            None,
            {},
        )

    def connected_protocol(self, operation: str = "send") -> StompProtocol:
        """
        The protocol of the current session.

        @raise ClientClosed: after C{disconnect()}.
        @raise NotConnected: while not connected.
        """
        core = self._core
        if core.lifecycle.left:
            raise core.lifecycle.refuse(operation)
        session = core.established
        if session is None:
            raise NotConnected(
                f"cannot {operation}: the client is {core.lifecycle.state.value}, "
                "not connected to a STOMP broker"
            )
        return session.protocol

    def request(
        self,
        frame: Frame,
        receipt: bool,
        protocol: StompProtocol | None = None,
        *,
        bounded: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Write C{frame} on C{protocol} (the current session's if C{None}).

        @param bounded: C{False} for the client's own frames (automatic
            ACKs, re-subscriptions, the outbox): C{max_send_buffer} pushes
            back on a caller who sends faster than the socket, not on them.
        """
        core = self._core
        if protocol is None:
            try:
                protocol = self.connected_protocol()
            except NotConnected as error:
                return fail(error)
        deferred = protocol.send_frame(frame, receipt, bounded=bounded)
        command = frame.command
        counters = core.counters
        if command == "SEND":
            counters.sent += 1
        elif command == "ACK":
            counters.acknowledged += 1
        elif command == "NACK":
            counters.nacked += 1
        if receipt:
            timeout = core.settings.receipt_timeout
            if timeout is not None:
                deferred.addTimeout(timeout, core.clock, onTimeoutCancel=_receipt_timed_out(frame))
        return deferred

    def send(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        """
        Send a checked frame now, or once the first CONNECTED arrives
        (as AnyEvent::STOMP buffers them, so that connect() then send()
        works as written), or fail it: once the client has been
        connected, a frame sent while disconnected fails at once.

        @raise ClientClosed: after C{disconnect()}.
        """
        core = self._core
        lifecycle = core.lifecycle
        if lifecycle.left:
            raise lifecycle.refuse("send")
        # (Core.established, inlined: this is every send's path.)
        session = core.session
        if session is not None:
            protocol = session.protocol
            if protocol.is_stomp_connected:
                return self.request(frame, receipt, protocol)
        pending = self._pending
        if pending.takes_early_frames and lifecycle.gave_up_error is None:
            return pending.add_early_frame(frame, receipt)
        return self.request(frame, receipt)

    def send_message(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        """
        L{send} for a C{SEND} frame, the usual one: on an established
        session without a receipt it goes straight to the protocol
        (L{StompProtocol.send_message}, which asks whether the connection
        is usable as it writes), with L{request}'s work (counting it)
        done here.

        @raise ClientClosed: after C{disconnect()}.
        """
        core = self._core
        session = core.session
        if not receipt and session is not None and not core.lifecycle.left:
            written = session.protocol.send_message(frame)
            if written is not None:
                core.counters.sent += 1
                return written
        return self.send(frame, receipt)

    def send_plain(
        self, destination: str, headers: HeaderValues | None, body: bytes
    ) -> Deferred[Frame | None]:
        """
        L{StompClient.send<stomp_twisted.client.StompClient.send>} of a
        bytes body without a receipt, a transaction or an outbox, the
        publisher's usual call, its destination already checked.

        Its C{SEND} head (L{send_head_start}) is kept: the next call with
        an equal destination and equal headers (a dict, compared as one:
        the same names and values in any order, or C{None}) reuses it,
        its headers not checked or encoded again, since equal to headers
        that were.

        @raise BadArgument: for bad headers, as L{send_headers}.
        @raise UnrepresentableHeader: as L{send_headers}.
        @raise ClientClosed: after C{disconnect()}.
        """
        kept_destination, kept_headers, head, frame_headers = self._kept
        if (
            destination != kept_destination
            or (headers is not None and type(headers) is not dict)
            or headers != kept_headers
        ):
            frame_headers = send_headers(headers, destination)
            head = send_head_start(frame_headers)
            if headers is None:
                self._kept = (destination, None, head, frame_headers)
            elif type(headers) is dict and _all_text(headers):
                self._kept = (destination, headers.copy(), head, frame_headers)
        core = self._core
        session = core.session
        if (
            head is not None
            and session is not None
            and 0 < len(body) < BODY_APART_FROM
            and not core.lifecycle.left
        ):
            written = session.protocol.send_message(b"%s%d\n\n%s\0" % (head, len(body), body))
            if written is not None:
                core.counters.sent += 1
                return written
        # (A copy: the kept headers are not the frame's to hold.)
        return self.send_message(Frame._received("SEND", frame_headers.copy(), body), False)

    # --- the outbox -----------------------------------------------------------

    def send_kept(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        """
        Send a message through the outbox: queued while disconnected, and
        sent again when a lost connection left it unconfirmed.

        @raise ClientClosed: after C{disconnect()}.
        """
        outbox = self.outbox
        assert outbox is not None
        lifecycle = self._core.lifecycle
        if lifecycle.left:
            raise lifecycle.refuse("send")
        if lifecycle.gave_up_error is not None:
            return fail(lifecycle.gave_up_error)
        try:
            entry = outbox.admit(frame, receipt)
        except OutboxFull as error:
            return fail(error)
        session = self._core.established
        if session is not None:
            self.transmit(entry, session)
        else:
            outbox.queue(entry)
        return entry.result

    def transmit(self, entry: OutboxEntry, session: Session) -> None:
        """
        Write an outbox entry on C{session}; on a loss before its receipt
        it goes back to the queue (or is dropped, see L{_blame_for_loss}).
        """
        outbox = self.outbox
        assert outbox is not None
        entry.attempts += 1
        try:
            written = self.request(entry.frame, entry.receipt, session.protocol, bounded=False)
        except LocalProtocolError as error:
            outbox.release(entry)
            entry.result.errback(error)
            return

        def confirmed(result: Frame | None) -> None:
            outbox.release(entry)
            entry.result.callback(result)

        def failed(failure: Failure) -> None:
            lost = failure.value
            lifecycle = self._core.lifecycle
            if (
                isinstance(lost, ConnectionLost)
                and not lifecycle.left
                and lifecycle.gave_up_error is None
            ):
                if self._blame_for_loss(entry, session, lost):
                    return
                # Its connection died before the receipt came: send it
                # again on the next one.
                outbox.queue(entry)
                return
            outbox.release(entry)
            entry.result.errback(failure)

        written.addCallbacks(confirmed, failed)

    def _blame_for_loss(self, entry: OutboxEntry, session: Session, lost: ConnectionLost) -> bool:
        # Receipts fail in the order they were asked for, so the first
        # entry failed by a connection's loss is the oldest the broker had
        # not confirmed: the likeliest cause when a broker ends the session
        # over a message it will not take (an ERROR without receipt-id).
        # Past the outbox policy's max_losses such losses in a row, it is
        # failed and dropped, so one poison message cannot make every
        # reconnection send it again for ever.  Returns whether it was.
        outbox = self.outbox
        assert outbox is not None
        if session.loss_blamed:
            return False
        session.loss_blamed = True
        entry.losses += 1
        if entry.losses < outbox.policy.max_losses:
            return False
        outbox.release(entry)
        cause = lost.error if lost.error is not None else lost
        log.warn(
            "dropping a message to {destination} from the outbox: it was the oldest unconfirmed "
            "one in {count} lost sessions in a row; last: {cause}",
            destination=entry.frame.headers.get("destination"),
            count=entry.losses,
            cause=cause,
        )
        entry.result.errback(cause)
        return True

    def fail_queued(self, error: Exception) -> None:
        """
        Fail what waits in the outbox for a connection.
        """
        if self.outbox is not None:
            self.outbox.fail_queued(error)


def _all_text(headers: HeaderValues) -> bool:
    # Whether send_plain may keep headers, to compare later ones with: if
    # every name and value is a str, which equals only an equal str (an
    # int equals the bool or float that would be written otherwise).
    return all(type(item) is str for item in (*headers, *headers.values()))


def _receipt_timed_out(frame: Frame) -> Callable[[object, float], Failure]:
    command = frame.command
    destination = frame.headers.get("destination")

    def timed_out(result: object, timeout: float) -> Failure:
        what = command if destination is None else f"{command} to {destination}"
        error = ReceiptTimeout(
            f"no RECEIPT for {what} within {timeout:g} s (receipt_timeout): the broker "
            "may or may not have acted on it"
        )
        log.warn("{error}", error=error)
        return Failure(error)  # type: ignore[no-untyped-call]

    return timed_out
