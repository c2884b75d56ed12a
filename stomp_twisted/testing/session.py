"""
The broker's side of one in-memory STOMP connection: L{MemoryConnection}
reads the client's frames with the package's own codec, checks them as a
broker would, and writes the broker's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from ..errors import BadArgument, RemoteProtocolError, UnrepresentableHeader
from ..frame import CLIENT_COMMANDS, HEARTBEAT, NEED_DATA, Frame, FrameDecoder, serialize_frame
from ..heartbeat import HeartbeatIntervals, HeartbeatMonitor, parse_offer
from .destinations import AckMode, BrokerSubscription, Delivery, Message

if TYPE_CHECKING:
    from .broker import MemoryBroker

__all__ = ["MemoryConnection"]

_ACK_MODES: dict[str, AckMode] = {
    "auto": "auto",
    "client": "client",
    "client-individual": "client-individual",
}


class Refusal(Exception):
    """
    A client frame the broker refuses: it answers C{ERROR} and closes.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _unknown_frame_receipt(data: bytes) -> str | None:
    # The receipt header of the first frame in data whose command STOMP
    # does not have.
    for chunk in data.split(b"\0"):
        lines = chunk.lstrip(b"\r\n").split(b"\n")
        if lines[0].rstrip(b"\r").decode("ascii", "replace") in CLIENT_COMMANDS:
            continue
        for line in lines[1:]:
            name, _, value = line.rstrip(b"\r").partition(b":")
            if not name:
                break
            if name == b"receipt":
                return value.decode("utf-8", "replace")
        return None
    return None


@dataclass
class _Transaction:
    frames: list[Frame] = field(default_factory=list)
    # Receipts of its SENDs, held until COMMIT ("on-commit" brokers).
    receipts: list[str] = field(default_factory=list)


class MemoryConnection(Protocol):
    """
    One client connection to a L{MemoryBroker}, from the broker's side.

    @ivar number: 1 for the broker's first connection, and so on.
    @ivar session: the C{session} header of its C{CONNECTED}.
    @ivar version: the negotiated STOMP version, C{None} before
        C{CONNECTED}.
    @ivar login: the C{login} the client gave, if any.
    @ivar heartbeat: the broker's heart-beat intervals on this connection
        (C{send}: how often it writes, C{receive}: how often it expects to
        hear from the client; milliseconds, C{0} for none), C{None} before
        C{CONNECTED}.
    @ivar open: whether the connection is still up.
    @ivar frames_received: every frame the client sent on it, in order.
    @ivar subscriptions: its subscriptions, by id.
    @ivar lost_reason: why it ended, once it has.
    """

    def __init__(self, broker: MemoryBroker, number: int) -> None:
        self._broker = broker
        self.number = number
        self.session = f"session:{number}"
        self.version: str | None = None
        self.login: str | None = None
        self.heartbeat: HeartbeatIntervals | None = None
        self.open = False
        self.frames_received: list[Frame] = []
        self.subscriptions: dict[str, BrokerSubscription] = {}
        self.lost_reason: Failure | None = None
        self._decoder = FrameDecoder("1.0", commands=CLIENT_COMMANDS)
        self._unacked: dict[str, Delivery] = {}
        self._transactions: dict[str, _Transaction] = {}
        self._monitor: HeartbeatMonitor | None = None
        self._refused = False

    def __repr__(self) -> str:
        state = "open" if self.open else "closed"
        return f"<MemoryConnection {self.number} {state} version={self.version}>"

    @property
    def is_stomp_connected(self) -> bool:
        """
        Whether the STOMP session is established and the connection up.
        """
        return self.open and self.version is not None and not self._refused

    def deliveries(self) -> Iterator[Delivery]:
        """
        The deliveries that await an ACK or NACK, oldest first.
        """
        return iter(list(self._unacked.values()))

    # --- the broker's controls -------------------------------------------

    def drop(self, reason: str = "connection dropped by the broker") -> None:
        """
        Break the connection at once, as a network failure would: both
        sides see it lost, and whatever was in flight is gone.
        """
        pipe = self._broker._pipe_of(self)
        if pipe is not None:
            pipe.drop(reason)

    def send_error(self, message: str, detail: str = "") -> None:
        """
        Send C{ERROR} with this C{message} header and C{detail} as its
        body, and close the connection.
        """
        self._error(message, detail, None)

    def _deliver(self, subscription: BrokerSubscription, message: Message) -> None:
        """
        Write C{message} as a C{MESSAGE} frame of C{subscription}.
        """
        behaviour = self._broker.behaviour
        headers = {"destination": message.destination, "message-id": message.id}
        if subscription.named:
            headers["subscription"] = subscription.id
        if subscription.ack != "auto":
            ack_id = message.id if self.version != "1.2" else self._broker._next_ack_id()
            if self.version == "1.2":
                headers["ack"] = ack_id
            self._unacked[ack_id] = Delivery(message, subscription, ack_id)
        if message.redelivered:
            headers["redelivered"] = "true"
        elif behaviour.marks_first_delivery:
            headers["redelivered"] = "false"
        for name, value in message.headers.items():
            headers.setdefault(name, value)
        self._write_frame(Frame("MESSAGE", headers, message.body))

    def _write_frame(self, frame: Frame) -> None:
        """
        Serialize C{frame} for the connection's version and write it.
        """
        if not self.open or self.transport is None:
            return
        self.transport.write(serialize_frame(frame, self._wire_version()))
        self._broker.frames_sent.append(frame)
        if self._monitor is not None:
            self._monitor.wrote()

    def _wire_version(self) -> str:
        # The escaping in force: the version's own, except for brokers
        # that escape as in 1.1 in 1.0 sessions too.
        version = self.version or "1.0"
        if version == "1.0" and self._broker.behaviour.escapes_1_0_headers:
            return "1.1"
        return version

    def _take_deliveries(self, subscription: BrokerSubscription | None = None) -> list[Delivery]:
        """
        Forget the deliveries (of C{subscription}, or all), oldest first.
        """
        taken = [d for d in self._unacked.values() if subscription in (None, d.subscription)]
        for delivery in taken:
            del self._unacked[delivery.ack_id]
        return taken

    # --- Twisted's side --------------------------------------------------

    def connectionMade(self) -> None:
        self.open = True

    def dataReceived(self, data: bytes) -> None:
        if self._monitor is not None:
            self._monitor.received()
        self._decoder.receive_data(data)
        while self.open and not self._refused:
            try:
                event = self._decoder.next_event()
            except RemoteProtocolError as error:
                if "unknown STOMP command" in str(error):
                    # The codec stops at the command line: read the
                    # receipt header from the bytes, so ERROR can name it.
                    receipt = _unknown_frame_receipt(data)
                    frame = Frame("UNKNOWN", {"receipt": receipt} if receipt else {})
                    self._error("Bad command", str(error), frame)
                else:
                    self._error("Bad frame", str(error), None)
                return
            if event is NEED_DATA:
                return
            if event is HEARTBEAT:
                continue
            assert isinstance(event, Frame)
            self._frame_received(event)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.open = False
        self.lost_reason = reason
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        self._transactions.clear()
        self._broker._connection_lost(self)

    # --- frames ----------------------------------------------------------

    def _frame_received(self, frame: Frame) -> None:
        self.frames_received.append(frame)
        self._broker.frames_received.append(frame)
        try:
            if self.version is None:
                if frame.command not in ("CONNECT", "STOMP"):
                    raise Refusal("Illegal command", f"{frame.command} before CONNECT")
                self._connect(frame)
                return
            handler = getattr(self, f"_on_{frame.command.lower()}")
            handler(frame)
        except Refusal as refusal:
            self._error(refusal.message, refusal.detail, frame)

    def _error(self, message: str, detail: str, frame: Frame | None) -> None:
        if self._refused or not self.open:
            return
        headers = {"message": message, "content-type": "text/plain"}
        receipt = frame.headers.get("receipt") if frame is not None else None
        if receipt is not None and self._broker.behaviour.error_names_receipt:
            headers["receipt-id"] = receipt
        body = (detail + "\n").encode("utf-8") if detail else b""
        try:
            self._write_frame(Frame("ERROR", headers, body))
        except UnrepresentableHeader:
            self._write_frame(Frame("ERROR", {"message": "Bad frame"}, body))
        self._refused = True
        if self.transport is not None:
            self.transport.loseConnection()

    def _receipt(self, frame: Frame, close: bool = False) -> None:
        receipt = frame.headers.get("receipt")
        if receipt is None:
            if close and self.transport is not None:
                self.transport.loseConnection()
            return
        self._broker._send_receipt(self, receipt, close)

    def _required(self, frame: Frame, name: str) -> str:
        value = frame.headers.get(name)
        if not value:
            raise Refusal(f"Missing {name}", f'"{frame.command}" must include a {name!r} header')
        return value

    def _connect(self, frame: Frame) -> None:
        broker = self._broker
        offered = frame.headers.get("accept-version", "1.0")
        accepted = [v.strip() for v in offered.split(",")]
        common = [v for v in broker.versions if v in accepted]
        if not common:
            supported = ",".join(broker.versions)
            self._error("Version mismatch", f"Supported versions are {supported}", frame)
            return
        login = frame.headers.get("login")
        if broker.credentials is not None and (
            login is None or broker.credentials.get(login) != frame.headers.get("passcode")
        ):
            self._error("Bad CONNECT", f"Access refused for user {login!r}", frame)
            return
        try:
            cx, cy = parse_offer(frame.headers.get("heart-beat"))
        except BadArgument as error:
            self._error("Bad CONNECT", str(error), frame)
            return
        sx, sy = broker.heartbeat if broker.heartbeat is not None else (cy, cx)
        self.heartbeat = HeartbeatIntervals(
            send=0 if sx == 0 or cy == 0 else max(sx, cy),
            receive=0 if sy == 0 or cx == 0 else max(sy, cx),
        )
        self.login = login
        self.version = common[-1]
        self._decoder.version = self._wire_version()
        self._write_frame(
            Frame(
                "CONNECTED",
                {
                    "version": self.version,
                    "session": self.session,
                    "server": f"stomp_twisted-MemoryBroker ({broker.behaviour.name})",
                    "heart-beat": f"{sx},{sy}",
                },
            )
        )
        if self.heartbeat.send or self.heartbeat.receive:
            self._monitor = HeartbeatMonitor(
                broker.clock,
                self.heartbeat,
                broker.behaviour.heartbeat_grace,
                self._send_heartbeat,
                self._client_silent,
            )
            self._monitor.start()

    def _send_heartbeat(self) -> None:
        if self.open and self.transport is not None and not self._broker.heartbeats_stopped:
            self.transport.write(b"\n")

    def _client_silent(self, silence: float) -> None:
        self.drop(f"the broker heard nothing from the client for {silence:g} s")

    def _transaction(self, frame: Frame) -> _Transaction | None:
        name = frame.headers.get("transaction")
        if name is None:
            return None
        transaction = self._transactions.get(name)
        if transaction is None:
            raise Refusal("Bad transaction", f"Invalid transaction identifier: {name!r}")
        return transaction

    def _on_connect(self, frame: Frame) -> None:
        raise Refusal("Already connected", "a second CONNECT on one connection")

    _on_stomp = _on_connect

    def _on_send(self, frame: Frame) -> None:
        self._required(frame, "destination")
        transaction = self._transaction(frame)
        if transaction is None:
            self._broker._accept(frame)
            self._receipt(frame)
            return
        transaction.frames.append(frame)
        receipt = frame.headers.get("receipt")
        held = self._broker.behaviour.transactional_send_receipts == "on-commit"
        if receipt is not None and held:
            transaction.receipts.append(receipt)
        else:
            self._receipt(frame)

    def _on_subscribe(self, frame: Frame) -> None:
        destination = self._required(frame, "destination")
        named = "id" in frame.headers
        if not named and self.version != "1.0":
            raise Refusal("Missing id", "SUBSCRIBE received without a subscription id")
        sub_id = frame.headers.get("id", destination)
        if sub_id in self.subscriptions:
            raise Refusal("Duplicated subscription identifier", f"A subscription {sub_id!r} exists")
        ack = frame.headers.get("ack", "auto")
        mode = _ACK_MODES.get(ack)
        if mode is None:
            raise Refusal("Invalid ack mode", f"ack:{ack} is not auto, client or client-individual")
        prefetch_header = frame.headers.get("prefetch-count") or frame.headers.get(
            "activemq.prefetchSize"
        )
        prefetch: int | None = None
        if prefetch_header is not None:
            if not prefetch_header.isdigit():
                raise Refusal("Invalid prefetch", f"prefetch {prefetch_header!r} is not a count")
            prefetch = int(prefetch_header) or None
        subscription = self._broker._subscribe(self, sub_id, destination, mode, prefetch, named)
        self.subscriptions[sub_id] = subscription
        self._receipt(frame)
        self._broker._dispatch(subscription.queue)

    def _on_unsubscribe(self, frame: Frame) -> None:
        sub_id = frame.headers.get("id")
        if sub_id is None and self.version == "1.0":
            sub_id = frame.headers.get("destination")
        if sub_id is None:
            raise Refusal("Missing id", "UNSUBSCRIBE must include an 'id' header")
        subscription = self.subscriptions.pop(sub_id, None)
        if subscription is None:
            raise Refusal("No subscription found", f"no subscription {sub_id!r}")
        self._broker._unsubscribe(subscription)
        self._receipt(frame)

    def _find_delivery(self, frame: Frame) -> Delivery:
        if self.version == "1.2":
            key = frame.headers.get("id")
            delivery = self._unacked.get(key) if key is not None else None
        else:
            key = frame.headers.get("message-id")
            sub_id = frame.headers.get("subscription")
            delivery = self._unacked.get(key) if key is not None else None
            if delivery is not None and sub_id is not None and delivery.subscription.id != sub_id:
                delivery = None
        if delivery is None:
            raise Refusal(
                "Unknown message",
                f"{frame.command} of {key!r}: no message delivered on this connection awaits "
                "acknowledgement under that id",
            )
        return delivery

    def _on_ack(self, frame: Frame) -> None:
        self._settle_frame(frame)

    def _on_nack(self, frame: Frame) -> None:
        if self.version == "1.0":
            raise Refusal("Bad command", "STOMP 1.0 has no NACK")
        self._settle_frame(frame)

    def _settle_frame(self, frame: Frame) -> None:
        self._find_delivery(frame)
        transaction = self._transaction(frame)
        if transaction is None:
            self._settle(frame)
        elif frame.command == "NACK" and not self._broker.behaviour.nack_in_transaction:
            raise Refusal("Poison ack cannot be transacted", "NACK inside a transaction")
        else:
            transaction.frames.append(frame)
        self._receipt(frame)

    def _settle(self, frame: Frame) -> None:
        try:
            delivery = self._find_delivery(frame)
        except Refusal:
            return  # settled since it was put in the transaction
        cumulative = delivery.subscription.ack == "client" and (
            frame.command == "ACK" or self._broker.behaviour.client_nack_cumulative
        )
        if cumulative:
            settled = []
            for other in list(self._unacked.values()):
                if other.subscription is delivery.subscription:
                    settled.append(other)
                if other is delivery:
                    break
        else:
            settled = [delivery]
        for each in settled:
            del self._unacked[each.ack_id]
        self._broker._settled(settled, refused=frame.command == "NACK")

    def _on_begin(self, frame: Frame) -> None:
        name = self._required(frame, "transaction")
        if name in self._transactions:
            raise Refusal("Bad transaction", f"The transaction was already started: {name}")
        self._transactions[name] = _Transaction()
        self._receipt(frame)

    def _on_commit(self, frame: Frame) -> None:
        transaction = self._end(frame)
        for buffered in transaction.frames:
            if buffered.command == "SEND":
                self._broker._accept(buffered)
            else:
                self._settle(buffered)
        for receipt in transaction.receipts:
            self._broker._send_receipt(self, receipt, close=False)
        self._receipt(frame)

    def _on_abort(self, frame: Frame) -> None:
        self._end(frame)
        self._receipt(frame)

    def _end(self, frame: Frame) -> _Transaction:
        name = self._required(frame, "transaction")
        transaction = self._transactions.pop(name, None)
        if transaction is None:
            raise Refusal("Bad transaction", f"Invalid transaction identifier: {name!r}")
        return transaction

    def _on_disconnect(self, frame: Frame) -> None:
        self._receipt(frame, close=True)
