"""
L{MemoryBroker}: the in-memory STOMP broker double, its endpoint, and
L{connect_client}.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import implementer

from ..client import StompClient
from ..errors import BadArgument, MemoryBrokerStuck, MemoryBrokerTimeout, NoMemoryConnection
from ..frame import VERSIONS, Frame
from ..heartbeat import check_heartbeat
from .behaviour import LIKE_RABBITMQ, BrokerBehaviour
from .destinations import AckMode, BrokerSubscription, Delivery, Message, Queue, is_topic
from .session import MemoryConnection
from .wire import Pipe

__all__ = ["MemoryBroker", "MemoryEndpoint", "connect_client"]

_T = TypeVar("_T")

#: The address the client's connections appear to go to.
BROKER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 61613)

# Headers that concern the SEND frame itself, not the message.
_SEND_ONLY = frozenset({"destination", "receipt", "transaction", "content-length"})


class MemoryBroker:
    """
    An in-memory STOMP 1.0-1.2 broker, for tests: a test double, not a
    broker to run anything on.

    Clients reach it through L{endpoint} (or L{connect_client}), over
    in-memory connections: no sockets, and no real time.  Bytes travel
    only when L{flush} (or L{advance}, or L{run_until}) is called, never
    inside the call that wrote them; the broker's heart-beat timers run on
    L{clock}.

    It keeps queues (C{/queue/...} and any name not under C{/topic/}: each
    message to one subscriber, round robin) and topics (C{/topic/...}:
    each message to every current subscriber), the acknowledgement modes
    C{auto}, C{client} (cumulative) and C{client-individual}, NACK,
    receipts, transactions and heart-beats, and answers protocol mistakes
    with C{ERROR} and a closed connection.  Where real brokers differ, it
    follows its L{BrokerBehaviour}.

    @ivar clock: the clock of heart-beats (and, through L{connect_client},
        of its clients).
    @ivar behaviour: the L{BrokerBehaviour} it follows.
    @ivar credentials: the logins and passcodes it accepts, or C{None} to
        accept any C{CONNECT}.
    @ivar versions: the STOMP versions it speaks.
    @ivar heartbeat: its own heart-beat offer C{(sx, sy)} in milliseconds,
        or C{None} to answer each client with its own offer reversed, as
        RabbitMQ and ActiveMQ do.
    @ivar connections: every connection made, oldest first.
    @ivar frames_received: every frame clients sent, in order.
    @ivar frames_sent: every frame the broker wrote, in order (heart-beats
        left out).
    @ivar heartbeats_stopped: whether L{stop_heartbeats} silenced it.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        behaviour: BrokerBehaviour = LIKE_RABBITMQ,
        credentials: Mapping[str, str] | None = None,
        versions: Iterable[str] = VERSIONS,
        heartbeat: tuple[int, int] | None = None,
    ) -> None:
        """
        @param clock: the clock to use; a new L{Clock} if omitted.
        @param behaviour: where real brokers differ, which way to go;
            L{LIKE_RABBITMQ} by default.
        @param credentials: C{{login: passcode}} to check C{CONNECT}
            against (a C{CONNECT} without a login is then refused); none
            checked if omitted.
        @param versions: the STOMP versions to accept.
        @param heartbeat: a fixed C{heart-beat} answer.
        """
        self.clock = clock if clock is not None else Clock()
        self.behaviour = behaviour
        self.credentials = dict(credentials) if credentials is not None else None
        self.versions = tuple(v for v in VERSIONS if v in set(versions))
        if not self.versions:
            raise BadArgument(f"versions must include some of {VERSIONS}")
        self.heartbeat = check_heartbeat(heartbeat) if heartbeat is not None else None
        self.connections: list[MemoryConnection] = []
        self.frames_received: list[Frame] = []
        self.frames_sent: list[Frame] = []
        self.heartbeats_stopped = False
        self._pipes: dict[MemoryConnection, Pipe] = {}
        self._queues: dict[str, Queue] = {}
        self._topics: dict[str, list[BrokerSubscription]] = {}
        self._sent: list[Message] = []
        self._sequence = itertools.count(1)
        self._ack_ids = itertools.count(1)
        self._refusals = 0
        self._receipts_delayed = False
        self._held_receipts: list[tuple[MemoryConnection, str, bool]] = []

    def __repr__(self) -> str:
        return f"<MemoryBroker {self.behaviour.name}: {len(self._pipes)} connection(s) open>"

    # --- connecting ----------------------------------------------------------

    def endpoint(self) -> MemoryEndpoint:
        """
        An endpoint whose connections lead to this broker, in memory.
        """
        return MemoryEndpoint(self)

    def _connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        if self._refusals:
            self._refusals -= 1
            refused = ConnectionRefusedError(  # type: ignore[no-untyped-call]
                "refused by MemoryBroker.refuse_next_connection()"
            )
            return fail(refused)
        protocol = factory.buildProtocol(BROKER_ADDRESS)
        if protocol is None:
            return fail(ConnectionRefusedError("no protocol"))  # type: ignore[no-untyped-call]
        connection = MemoryConnection(self, len(self.connections) + 1)
        self.connections.append(connection)
        client_address = IPv4Address("TCP", "127.0.0.1", 40000 + connection.number)
        pipe = Pipe(connection, protocol, BROKER_ADDRESS, client_address)
        self._pipes[connection] = pipe
        pipe.open()
        return succeed(protocol)

    def _pipe_of(self, connection: MemoryConnection) -> Pipe | None:
        return self._pipes.get(connection)

    # --- moving bytes and time ---------------------------------------------

    def flush(self, max_rounds: int = 10_000) -> int:
        """
        Deliver everything written on every connection, both ways, and
        what that causes in turn, until nothing moves.

        @param max_rounds: a bound, so that an endless exchange (a
            consumer that NACKs every delivery of a broker that requeues)
            fails instead of hanging.
        @return: the number of rounds in which something moved.
        @raise MemoryBrokerStuck: if it still moves after C{max_rounds}.
        """
        rounds = 0
        while True:
            progress = False
            for pipe in list(self._pipes.values()):
                if pipe.pump():
                    progress = True
            if not progress:
                return rounds
            rounds += 1
            if rounds >= max_rounds:
                raise MemoryBrokerStuck(
                    f"MemoryBroker.flush(): traffic still flowing after {max_rounds} rounds; "
                    "is a message NACKed and redelivered for ever?"
                )

    def advance(self, seconds: float, max_steps: int = 100_000) -> None:
        """
        Move L{clock} on by C{seconds}, one scheduled call at a time,
        flushing before and after each, so that bytes written by a timer
        (a heart-beat, say) arrive before the next timer runs, as on a
        network faster than the clock.

        @param max_steps: a bound on the scheduled calls run, so that a
            timer that keeps rescheduling itself at once fails instead of
            hanging.
        @raise MemoryBrokerStuck: past C{max_steps}.
        """
        deadline = self.clock.seconds() + seconds
        for _ in range(max_steps):
            self.flush()
            due = [c.getTime() for c in self.clock.getDelayedCalls() if c.active()]
            step_to = min([deadline, *due])
            self.clock.advance(max(0.0, step_to - self.clock.seconds()))
            if step_to >= deadline:
                self.flush()
                return
        raise MemoryBrokerStuck(f"MemoryBroker.advance(): more than {max_steps} scheduled calls")

    def run_until(self, deferred: Deferred[_T], timeout: float = 60.0) -> _T:
        """
        Flush, and move L{clock} from one scheduled call to the next
        (flushing after each, as L{advance} does), until C{deferred} has
        fired.

        @param timeout: the most simulated seconds to move the clock on.
        @return: C{deferred}'s result (which is consumed).
        @raise Exception: C{deferred}'s failure, if it fails.
        @raise MemoryBrokerTimeout: if it has not fired within C{timeout}
            simulated seconds, or nothing is left that could fire it.
        """
        outcome: list[object] = []
        deferred.addBoth(outcome.append)
        deadline = self.clock.seconds() + timeout
        while True:
            self.flush()
            if outcome:
                break
            due = [call.getTime() for call in self.clock.getDelayedCalls() if call.active()]
            if not due or min(due) > deadline:
                waited = timeout if due else self.clock.seconds() - (deadline - timeout)
                raise MemoryBrokerTimeout(
                    f"the Deferred did not fire within {waited:g} simulated seconds"
                    + ("" if due else ": nothing left is scheduled that could fire it")
                )
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
        result = outcome[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result  # type: ignore[return-value]

    # --- messages --------------------------------------------------------------

    def publish(
        self,
        destination: str,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Message:
        """
        Put a message in C{destination} as if some other producer had sent
        it; it travels to subscribers on the next L{flush}.

        @param body: bytes, or text to send as UTF-8.
        @return: the message.  Each subscriber of a topic gets a copy with
            its own id.
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
        frame_headers = dict(headers or {})
        frame_headers["destination"] = destination
        return self._store(Frame("SEND", frame_headers, body))

    def _accept(self, frame: Frame) -> None:
        self._sent.append(self._store(frame))

    def _store(self, frame: Frame) -> Message:
        destination = frame.headers["destination"]
        headers = {k: v for k, v in frame.headers.items() if k not in _SEND_ONLY}
        message = self._new_message(destination, frame.body, headers)
        if is_topic(destination):
            for subscription in list(self._topics.get(destination, [])):
                copy = self._new_message(destination, frame.body, dict(headers))
                subscription.queue.put(copy)
                self._dispatch(subscription.queue)
        else:
            queue = self._queue(destination)
            queue.put(message)
            self._dispatch(queue)
        return message

    def _new_message(self, destination: str, body: bytes, headers: dict[str, str]) -> Message:
        sequence = next(self._sequence)
        return Message(f"ID:memory:{sequence}", destination, body, headers, sequence=sequence)

    def _next_ack_id(self) -> str:
        return f"ack:{next(self._ack_ids)}"

    def _queue(self, destination: str) -> Queue:
        queue = self._queues.get(destination)
        if queue is None:
            queue = self._queues[destination] = Queue(destination)
        return queue

    def _dispatch(self, queue: Queue) -> None:
        while queue.waiting:
            subscription = queue.next_subscription()
            if subscription is None:
                return
            subscription.connection._deliver(subscription, queue.waiting.pop(0))

    def _subscribe(
        self,
        connection: MemoryConnection,
        sub_id: str,
        destination: str,
        ack: AckMode,
        prefetch: int | None,
        named: bool,
    ) -> BrokerSubscription:
        queue = Queue(destination) if is_topic(destination) else self._queue(destination)
        subscription = BrokerSubscription(
            connection, sub_id, destination, ack, prefetch, queue, named
        )
        queue.subscriptions.append(subscription)
        if is_topic(destination):
            self._topics.setdefault(destination, []).append(subscription)
        return subscription

    def _unsubscribe(self, subscription: BrokerSubscription) -> None:
        subscription.active = False
        subscription.queue.remove(subscription)
        if is_topic(subscription.destination):
            self._topics[subscription.destination].remove(subscription)
        if self.behaviour.unsubscribe_requeues:
            taken = subscription.connection._take_deliveries(subscription)
            self._settled(taken, refused=True, requeue=True)

    def _settled(self, deliveries: list[Delivery], *, refused: bool, requeue: bool = False) -> None:
        # ACKed deliveries are done with; refused ones (NACK, or a lost
        # connection when requeue is set) go back or to the dead letters.
        if not refused:
            for delivery in deliveries:
                self._dispatch(delivery.subscription.queue)
            return
        touched: list[Queue] = []
        for delivery in deliveries:
            message = delivery.message
            queue = delivery.subscription.queue
            if requeue or self.behaviour.nack == "requeue":
                if queue.subscriptions or not is_topic(queue.name):
                    message.redelivered = True
                    queue.put(message)
            elif message.persistent or not self.behaviour.dead_letter_persistent_only:
                headers = dict(message.headers)
                headers["original-destination"] = message.destination
                dead = Message(
                    message.id,
                    self.behaviour.dead_letter_queue,
                    message.body,
                    headers,
                    sequence=next(self._sequence),
                )
                dead_letters = self._queue(dead.destination)
                dead_letters.put(dead)
                touched.append(dead_letters)
            touched.append(queue)
        for queue in touched:
            self._dispatch(queue)

    def _connection_lost(self, connection: MemoryConnection) -> None:
        self._pipes.pop(connection, None)
        self._held_receipts = [held for held in self._held_receipts if held[0] is not connection]
        for subscription in connection.subscriptions.values():
            subscription.active = False
            subscription.queue.remove(subscription)
            if is_topic(subscription.destination):
                self._topics[subscription.destination].remove(subscription)
        self._settled(connection._take_deliveries(), refused=True, requeue=True)

    def _send_receipt(self, connection: MemoryConnection, receipt: str, close: bool) -> None:
        if self._receipts_delayed:
            self._held_receipts.append((connection, receipt, close))
            return
        connection._write_frame(Frame("RECEIPT", {"receipt-id": receipt}))
        if close and connection.transport is not None:
            connection.transport.loseConnection()

    # --- inspection ------------------------------------------------------------

    def sent(self, destination: str | None = None) -> list[Message]:
        """
        The messages clients sent (to C{destination}, or anywhere) that
        took effect, in order: those of aborted or unfinished transactions
        are not among them, nor those L{publish} put in.
        """
        return [m for m in self._sent if destination in (None, m.destination)]

    def queue(self, destination: str) -> list[Message]:
        """
        The messages waiting in queue C{destination} for a subscriber, in
        delivery order (for a topic, those waiting in its subscriptions).
        """
        if is_topic(destination):
            return [
                message
                for subscription in self._topics.get(destination, [])
                for message in subscription.queue.waiting
            ]
        queue = self._queues.get(destination)
        return list(queue.waiting) if queue is not None else []

    def dead_letters(self) -> list[Message]:
        """
        The messages waiting in the behaviour's dead-letter queue.
        """
        return self.queue(self.behaviour.dead_letter_queue)

    def unacknowledged(self, destination: str | None = None) -> list[Message]:
        """
        The messages delivered (from C{destination}, or anywhere) that
        still await an ACK or NACK, oldest delivery first.
        """
        return [
            delivery.message
            for connection in self.connections
            for delivery in connection.deliveries()
            if destination in (None, delivery.subscription.destination)
        ]

    def connection_of(self, client: StompClient) -> MemoryConnection:
        """
        The broker's side of C{client}'s current connection.

        @raise NoMemoryConnection: if C{client} is not connected to this broker.
        """
        frame = client.connected_frame
        session = frame.headers.get("session") if frame is not None else None
        for connection in self.connections:
            if connection.is_stomp_connected and connection.session == session:
                return connection
        raise NoMemoryConnection(f"{client!r} has no connection to {self!r}")

    @property
    def open_connections(self) -> list[MemoryConnection]:
        """
        The connections still up, oldest first.
        """
        return [c for c in self.connections if c.open]

    # --- fault injection -------------------------------------------------------

    def drop_connections(self, reason: str = "connection dropped by the broker") -> None:
        """
        Break every open connection at once, as a network failure would:
        what was in flight is lost, unacknowledged messages go back to
        their queues marked redelivered, and open transactions are rolled
        back.
        """
        for connection in self.open_connections:
            connection.drop(reason)

    def refuse_next_connection(self, count: int = 1) -> None:
        """
        Make the next C{count} connection attempts fail, as if nothing
        listened (L{ConnectionRefusedError}).
        """
        self._refusals += count

    def send_error(self, message: str, detail: str = "") -> None:
        """
        Send C{ERROR} (C{message} header, C{detail} body) on every open
        connection and close them, as a broker shutting down would.
        """
        for connection in self.open_connections:
            connection.send_error(message, detail)

    def stop_heartbeats(self) -> None:
        """
        Stop sending heart-beats (the broker still sends frames, and still
        checks the clients' heart-beats), so that clients expecting them
        presume the broker dead.
        """
        self.heartbeats_stopped = True

    def resume_heartbeats(self) -> None:
        """
        Send heart-beats again.
        """
        self.heartbeats_stopped = False

    def delay_receipts(self) -> None:
        """
        Hold every C{RECEIPT} (and the close that follows the receipt of a
        C{DISCONNECT}) until L{release_receipts}.
        """
        self._receipts_delayed = True

    def release_receipts(self) -> None:
        """
        Send the receipts held since L{delay_receipts} (to connections
        still open), in order, and stop holding them.
        """
        self._receipts_delayed = False
        held, self._held_receipts = self._held_receipts, []
        for connection, receipt, close in held:
            self._send_receipt(connection, receipt, close)


@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """
    A client endpoint whose connections lead to a L{MemoryBroker}.  A
    connection is made at once (the Deferred has fired when L{connect}
    returns) unless the broker was told to refuse it.
    """

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return self.broker._connect(protocolFactory)

    def __repr__(self) -> str:
        return f"<MemoryEndpoint to {self.broker!r}>"


def connect_client(broker: MemoryBroker, **options: Any) -> StompClient:
    """
    A started L{StompClient} of C{broker}, on the broker's clock, its
    C{CONNECT} already answered (unless the broker refused it).

    @param options: passed to L{StompClient} (C{login}, C{passcode},
        C{versions}, C{heartbeat}, C{reconnect}, ...).
    """
    client = StompClient(broker.endpoint(), reactor=broker.clock, **options)
    client.start()
    broker.flush()
    return client
