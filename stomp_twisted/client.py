"""
The public STOMP client: L{connect} and L{StompClient}.

The names follow Perl's AnyEvent::STOMP (C{connect}, C{send},
C{send_frame}, C{ack}, C{reg_cb}); requests return L{Deferred}s tied to the
broker's receipts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any, Literal

from twisted.internet.defer import CancelledError, Deferred, DeferredList, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import ClientFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from . import arguments
from .endpoints import (
    DEFAULT_CONNECT_TIMEOUT,
)
from .errors import (
    AckError,
    BadArgument,
    BrokerError,
    ClientClosed,
    ConnectionLost,
    HeartbeatTimeout,
    LocalProtocolError,
    NotConnected,
    OutboxFull,
    ReceiptTimeout,
    RemoteProtocolError,
    StompError,
    TransactionAborted,
)
from .failover import (
    DEFAULT_RECONNECT,
    FailoverEndpoint,
    ReconnectPolicy,
)
from .frame import VERSIONS, Frame, FrameLimits
from .heartbeat import (
    DEFAULT_TOLERANCE,
    HeartbeatIntervals,
    check_tolerance,
    format_heartbeat,
    parse_offer,
)
from .observers import CLIENT_EVENTS, CallbackHandle, Observers, check_event
from .outbox import Outbox, OutboxEntry, OutboxPolicy
from .protocol import DEFAULT_SEND_BUFFER, StompProtocol
from .reconnect import Reconnector
from .redelivery import DEFAULT_REDELIVERY, DeliveryCounter, RedeliveryPolicy
from .stats import ClientStats, Counters

__all__ = ["AckMode", "StompClient", "Subscription", "Transaction"]

#: The client's acknowledgement policies: C{None} (the broker considers a
#: message delivered once sent), C{"auto"} (the client acknowledges each
#: message after its callbacks succeed) and C{"manual"} (the caller does).
AckMode = Literal["auto", "manual"] | None

Body = bytes | bytearray | memoryview | str
HeaderValues = Mapping[str, str | int]

_log = Logger()

# Frames that may wait for the first connection before send() refuses more.
_MAX_EARLY_FRAMES = 10_000

#: Seconds a request waits for its receipt unless told otherwise: some
#: servers never send receipts, and a caller must not wait on them for ever.
DEFAULT_RECEIPT_TIMEOUT = 30.0


def _body_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            flaw = arguments.describe_flaw(body, "")
            raise BadArgument(
                f"body {flaw}: text bodies are sent as UTF-8; pass bytes to send other data"
            ) from None
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise BadArgument(f"body must be bytes or str, not {type(body).__name__}")


def _headers(headers: HeaderValues | None, what: str = "headers") -> dict[str, str]:
    # Names and values are checked for what no version can write (NUL, a
    # lone surrogate) here, at the call; what depends on the version is
    # checked when the frame is written.  (CONNECT's headers, whose
    # messages must not quote a passcode, were checked before this.)
    if headers is None:
        return {}
    # (A dict is checked first: isinstance against an ABC is slow.)
    if type(headers) is not dict and not isinstance(headers, Mapping):
        raise BadArgument(f"{what} must be a mapping, not {type(headers).__name__}")
    result: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str):
            raise BadArgument(f"{what}: a header name must be a str, not {type(name).__name__}")
        if not name or "\0" in name or not name.isascii():
            arguments.check_header_name(name)
        text = (
            value
            if type(value) is str
            else arguments.header_value_text(value, f"{what}: header {name!r}")
        )
        if "\0" in text or not text.isascii():
            arguments.check_header_text(text, "header value")
        result[name] = text
    return result


def _endpoint_name(endpoint: object) -> str:
    # HostnameEndpoint and TCP4ClientEndpoint keep their address privately.
    host = getattr(endpoint, "_hostText", None) or getattr(endpoint, "_host", None)
    port = getattr(endpoint, "_port", None)
    return f"{host}:{port}" if host is not None and port is not None else repr(endpoint)


def _peer(protocol: StompProtocol) -> tuple[str | None, int | None]:
    # The address the transport connected to, for the "connect" event.
    transport = protocol.transport
    peer = transport.getPeer() if transport is not None else None
    return getattr(peer, "host", None), getattr(peer, "port", None)


def _cancel_call(result: object, call: IDelayedCall) -> object:
    if call.active():
        call.cancel()
    return result


def _automatic_settle_failed(failure: Failure, command: str, key: str) -> None:
    if isinstance(failure.value, ConnectionLost):
        # Written while the send buffer was full, and the connection went
        # first: the broker redelivers the message.  Not a bug: no traceback.
        _log.warn(
            "automatic {command} of message {key} was lost with its connection; "
            "the broker redelivers it",
            command=command,
            key=key,
        )
        return
    _log.failure("automatic {command} failed", failure, command=command)


def _callback_outcome(result: object) -> Deferred[object]:
    # What a MESSAGE callback returned, as a Deferred.  A callback that
    # raised was logged when it was called; one whose Deferred fails is
    # logged here, once, and the failure passed on.
    if isinstance(result, CoroutineType):
        # An async def callback: run as Twisted runs coroutines (awaiting
        # Deferreds; asyncio code wraps its futures, see the asyncio guide).
        result = Deferred.fromCoroutine(result)
    if isinstance(result, Deferred):
        return result.addErrback(_log_and_pass, "MESSAGE callback failed")
    if isinstance(result, Failure):
        return fail(result)
    return succeed(result)


def _log_and_pass(failure: Failure, what: str) -> Failure:
    _log.failure("{what}", failure, what=what)
    return failure


def _ack_mode(ack: object) -> AckMode:
    if ack is None or ack == 0:
        return None
    if ack in ("auto", "manual"):
        return ack
    raise BadArgument(f"ack must be None, 0, 'auto' or 'manual', not {arguments.shown_value(ack)}")


@dataclass(eq=False)
class Subscription:
    """
    An active subscription.

    @ivar id: its C{id} header, unique within the client.
    @ivar destination: where it listens.
    @ivar ack: the client's acknowledgement policy for it.
    @ivar callback: called as C{callback(client, body, headers)} for each
        message, before the C{MESSAGE} observers; may be C{None}.
    @ivar headers: extra C{SUBSCRIBE} headers.
    @ivar redelivery: under C{ack="auto"}, what happens to a message whose
        callbacks failed (see L{RedeliveryPolicy}).
    """

    id: str
    destination: str
    ack: AckMode
    callback: Callable[[StompClient, bytes, dict[str, str]], object] | None
    headers: dict[str, str] = field(default_factory=dict)
    redelivery: RedeliveryPolicy = DEFAULT_REDELIVERY
    # Whether a message this subscription cannot acknowledge was reported
    # already: once per subscription, not once per message.
    _unackable_reported: bool = field(default=False, repr=False)


# The SUBSCRIBE ack header's values, as STOMP defines them.
_WIRE_ACK_MODES = ("auto", "client", "client-individual")

# What each version cannot write in a header value (see stomp_twisted.frame):
# an ack id holding one cannot be sent back in ACK.
_UNWRITABLE_IN_HEADERS = {"1.0": "\0\n\r", "1.1": "\0\r", "1.2": "\0"}


def _nack_dead_letters(protocol: StompProtocol) -> bool:
    # ActiveMQ Classic moves a NACKed message to its dead-letter queue at
    # once, where RabbitMQ requeues it.
    frame = protocol.connected_frame
    return frame is not None and frame.headers.get("server", "").startswith("ActiveMQ/")


def _destination(frame: Frame, delivery: _Delivery) -> str:
    return frame.headers.get("destination", delivery.subscription.destination)


#: How many received messages may await their acknowledgement before the
#: client stops reading (see the C{max_unacked} of L{StompClient}).
DEFAULT_MAX_UNACKED = 10_000


@dataclass(eq=False)
class _Delivery:
    # A received message that still waits for an ACK or NACK.
    protocol: StompProtocol
    subscription: Subscription
    headers: dict[str, str]


@dataclass(eq=False)
class Transaction:
    """
    A transaction begun with L{StompClient.begin}.  It belongs to the
    connection it began on: if that connection is lost the broker rolls it
    back, and using it afterwards fails with L{ConnectionLost}.

    @ivar id: its C{transaction} header.
    @ivar state: C{"open"}, C{"committed"} or C{"aborted"}.
    """

    id: str
    protocol: StompProtocol = field(repr=False)
    state: str = "open"


class StompClient(ClientFactory):
    """
    A STOMP client: the L{ClientFactory} of its connections, which holds
    the configuration, the observers and the subscriptions, and keeps
    reconnecting (to the next broker of a list) until told to stop.

    Make one with L{connect}.  Observers registered with L{reg_cb} see
    every frame and connection event: each frame command (C{"MESSAGE"},
    C{"RECEIPT"}, C{"ERROR"}, C{"CONNECTED"}, ...) as
    C{callback(client, body, headers)}, then C{"frame"} as
    C{callback(client, command, body, headers)}; C{"prepare"} (a
    connection is up, nothing written on it yet) as
    C{callback(client, protocol)} and C{"connect"} (CONNECT sent) as
    C{callback(client, protocol, host, port, retry)}, in AnyEvent::STOMP's
    order (C{retry()} drops the connection and tries the next broker);
    C{"connect_error"} (an attempt failed) and C{"io_error"} (a malformed
    frame, an unusable ack id, or an established connection lost without
    the client asking) as C{callback(client, message)}; C{"disconnect"}
    (a connection closed, or the client gave up) as
    C{callback(client, reason)}; C{"heartbeat"} (an EOL from the broker)
    as C{callback(client)}; C{"poison"} (a message given up on after its
    redelivery policy's C{max_deliveries}) as
    C{callback(client, body, headers, failure)}.

    @ivar limits: the L{FrameLimits} applied to received frames.
    @ivar broker: the name of the broker of the latest connection attempt
        (C{"tcp://host:port"}), or C{None} before the first.
    """

    noisy = False

    def __init__(
        self,
        endpoint: IStreamClientEndpoint,
        *,
        reactor: IReactorTime,
        connect_headers: HeaderValues | None = None,
        versions: Iterable[str] = VERSIONS,
        vhost: str = "/",
        login: str | None = None,
        passcode: str | None = None,
        reconnect: ReconnectPolicy | None = DEFAULT_RECONNECT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        receipt_timeout: float | None = DEFAULT_RECEIPT_TIMEOUT,
        disconnect_timeout: float = 10.0,
        limits: FrameLimits | None = None,
        heartbeat: tuple[int, int] = (0, 0),
        heartbeat_tolerance: float = DEFAULT_TOLERANCE,
        outbox: OutboxPolicy | None = None,
        max_in_flight: int = 1000,
        max_send_buffer: int = DEFAULT_SEND_BUFFER,
        max_unacked: int = DEFAULT_MAX_UNACKED,
        redelivery: RedeliveryPolicy = DEFAULT_REDELIVERY,
    ) -> None:
        """
        @param endpoint: where to connect: one endpoint, or a
            L{FailoverEndpoint} over several brokers.
        @param reactor: supplies the clock for retries and timeouts.
        @param connect_headers: extra C{CONNECT} headers; they override the
            ones the client writes (C{accept-version}, C{host}, C{login},
            C{passcode}, C{heart-beat}).
        @param versions: the STOMP versions to offer.
        @param vhost: the C{host} header: RabbitMQ's virtual host.
        @param login: the C{login} header.
        @param passcode: the C{passcode} header.
        @param reconnect: the back-off between connection attempts, or
            C{None} to make a single attempt and never reconnect.
        @param connect_timeout: seconds to wait for CONNECTED once the
            transport is up, before the attempt counts as failed.
        @param receipt_timeout: seconds after which a Deferred still
            waiting for a receipt fails with L{ReceiptTimeout} (the broker
            may or may not have acted on the request); C{None} waits for
            ever.  The default, L{DEFAULT_RECEIPT_TIMEOUT} (30 s), keeps a
            broker that never sends receipts from hanging its callers.
        @param disconnect_timeout: seconds L{disconnect} waits for the
            broker's receipt before closing anyway.
        @param limits: bounds on received frames.
        @param outbox: keep messages sent with L{send} until the broker
            confirms them, and send them again after a reconnection
            (at-least-once: a message whose receipt was lost may arrive
            twice), within these bounds; while disconnected, L{send} then
            queues instead of failing.  C{None} (the default): a send
            while disconnected fails at once with L{NotConnected}, and one
            in flight when the connection is lost fails with
            L{ConnectionLost}.
        @param max_in_flight: how many received messages may have
            callbacks still running (Deferreds not yet fired) before the
            client stops reading from the connection; it reads again once
            half of them are done.  This keeps a slow consumer's memory
            flat; the broker's own prefetch (C{prefetch-count} on
            RabbitMQ, C{activemq.prefetchSize} on ActiveMQ, as SUBSCRIBE
            headers) bounds what it sends ahead.
        @param max_send_buffer: outgoing flow control: how many bytes the
            caller may send while the connection's send buffer is full
            (the socket is slower than the sender) before L{send} raises
            L{SendBufferFull}.  Meanwhile a send without a receipt fires
            only once the buffer has drained, so a caller who waits on
            each send is paced by the network.
        @param max_unacked: how many received messages may wait for their
            acknowledgement (C{ack="manual"} messages not yet acknowledged,
            C{ack="auto"} ones whose callbacks still run) before the client
            stops reading from the connection, logging a warning; it reads
            again once acknowledgements bring them down to half.  The
            default, L{DEFAULT_MAX_UNACKED} (10,000), keeps a caller who
            never acknowledges from growing without bound; a caller who
            acknowledges in batches must keep its batches below it.
        @param redelivery: the default L{RedeliveryPolicy} of the
            C{ack="auto"} subscriptions: how long to wait before refusing
            a message whose callbacks failed, and after how many
            deliveries to give up on it (C{"poison"} event).  The default
            allows about five deliveries in four seconds;
            C{RedeliveryPolicy(initial_delay=0, max_deliveries=None)}
            refuses at once, every time.
        @param heartbeat: the heart-beats to offer in C{CONNECT}, as
            C{(cx, cy)} in milliseconds: the smallest interval at which the
            client can send, and the interval at which it wants to hear
            from the broker; C{0} for none (the default, C{(0, 0)}, asks
            for no heart-beats).  The broker's C{CONNECTED} settles the
            actual intervals (see L{stomp_twisted.heartbeat}).  A
            C{heart-beat} in C{connect_headers} replaces this offer.
        @param heartbeat_tolerance: how many of the broker's heart-beat
            intervals may pass without anything received before the
            broker is presumed dead: the connection is then closed with
            L{HeartbeatTimeout<stomp_twisted.errors.HeartbeatTimeout>}
            and, as after any lost connection, re-established; at least
            C{1}.  The default, C{3}, allows for ActiveMQ, whose gaps
            between heart-beats reach two intervals.
        @raise BadArgument: for a malformed C{heartbeat} (or C{heart-beat}
            header) or C{heartbeat_tolerance}, among others: every setting
            is checked here (types, ranges, finite numbers).
        @raise UnrepresentableHeader: for a C{login}, C{passcode},
            C{vhost} or C{connect_headers} name or value that cannot be
            written (C{CONNECT} is not escaped: no NUL, CR or LF in any
            version); the message says where, never the value.
        """
        # Every setting is checked before anything is built, so that a
        # wrong one fails here, once, and not on each connection attempt.
        versions = arguments.check_client_settings(
            endpoint=endpoint,
            reactor=reactor,
            connect_headers=connect_headers,
            versions=versions,
            vhost=vhost,
            login=login,
            passcode=passcode,
            reconnect=reconnect,
            connect_timeout=connect_timeout,
            receipt_timeout=receipt_timeout,
            disconnect_timeout=disconnect_timeout,
            limits=limits,
            heartbeat=heartbeat,
            heartbeat_tolerance=heartbeat_tolerance,
            outbox=outbox,
            max_in_flight=max_in_flight,
            max_send_buffer=max_send_buffer,
        )
        headers = {"accept-version": ",".join(versions), "host": vhost}
        headers["heart-beat"] = format_heartbeat(heartbeat)
        if login is not None:
            headers["login"] = login
        if passcode is not None:
            headers["passcode"] = passcode
        headers.update(_headers(connect_headers, "connect_headers"))
        self._connect_headers = headers
        # connect_headers may replace the offer: check the one to be sent.
        parse_offer(headers["heart-beat"])
        self._heartbeat_tolerance = check_tolerance(heartbeat_tolerance)
        if not isinstance(endpoint, FailoverEndpoint):
            endpoint = FailoverEndpoint([endpoint], [_endpoint_name(endpoint)])
        self._clock = reactor
        self._reconnector = Reconnector(
            endpoint,
            self,
            reactor,
            reconnect,
            before_attempt=self._before_attempt,
            attempt_failed=self._attempt_failed,
            gave_up=self._give_up,
        )
        self._connect_timeout = connect_timeout
        self.limits = limits if limits is not None else FrameLimits()
        self._receipt_timeout = receipt_timeout
        self._disconnect_timeout = disconnect_timeout
        self._observers = Observers()
        self._protocol: StompProtocol | None = None
        self._connected_waiters: list[Deferred[StompClient]] = []
        self._disconnected_waiters: list[Deferred[None]] = []
        self._subscriptions: dict[str, Subscription] = {}
        self._subscription_ids = itertools.count(1)
        self._queued_subscribes: dict[str, tuple[Deferred[Frame | None], bool]] = {}
        self._transaction_ids = itertools.count(1)
        self._unacked: dict[str, _Delivery] = {}
        # ACKs and NACKs sent in a transaction, by transaction id: ABORT
        # makes their messages unacknowledged again.
        self._settled_in: dict[str, dict[str, _Delivery]] = {}
        # Receipts of SENDs in a transaction that are still awaited.
        self._transaction_receipts: dict[str, set[Deferred[Frame | None]]] = {}
        self._aborted: set[str] = set()
        # Frames sent before the first CONNECTED, waiting for it.
        self._before_connected: list[tuple[Frame, bool, Deferred[Frame | None]]] = []
        self._ever_connected = False
        self._closed = False
        self._gave_up: NotConnected | None = None
        self.broker: str | None = None
        self._loss_reported = False
        # DISCONNECT is written: not even automatic ACKs may follow it.
        self._goodbye_sent = False
        # disconnect() was called from a MESSAGE callback: say goodbye once
        # that message's own automatic ACK is under way.
        self._goodbye_pending: StompProtocol | None = None
        self._dispatching = 0
        self._settling: set[Deferred[None]] = set()
        if max_in_flight < 1:
            raise BadArgument("max_in_flight must be at least 1")
        self._max_in_flight = max_in_flight
        self._max_send_buffer = max_send_buffer
        self._in_flight = 0
        self._outbox = Outbox(outbox) if outbox is not None else None
        self._handshake_timers: dict[StompProtocol, IDelayedCall] = {}
        if isinstance(max_unacked, bool) or not isinstance(max_unacked, int) or max_unacked < 1:
            raise BadArgument(f"max_unacked must be an int of at least 1, not {max_unacked!r}")
        self._max_unacked = max_unacked
        # Whether reading is held back by max_in_flight, by max_unacked.
        self._held_for_in_flight = False
        self._held_for_unacked = False
        if not isinstance(redelivery, RedeliveryPolicy):
            raise BadArgument(f"redelivery must be a RedeliveryPolicy, not {redelivery!r}")
        self._redelivery = redelivery
        self._deliveries = DeliveryCounter()
        # ack="auto" messages whose NACK waits for their redelivery delay.
        self._delayed_settlements: dict[str, tuple[StompProtocol, IDelayedCall]] = {}
        self._counters = Counters()
        # drain() or disconnect() began: no new message reaches a callback.
        self._leaving = False
        self._left_undispatched = 0
        # drain() calls waiting for the last running callback to finish.
        self._idle_waiters: list[Deferred[int]] = []
        # The connection whose loss has already been blamed on its oldest
        # unconfirmed outbox message (_blame_for_loss).
        self._blamed_connection: StompProtocol | None = None

    # --- connection ---------------------------------------------------------

    def buildProtocol(self, addr: object) -> StompProtocol:
        """
        A L{StompProtocol} for a new connection, reporting to this client.
        """
        protocol = StompProtocol(
            self,
            Frame("CONNECT", self._connect_headers),
            self.limits,
            clock=self._clock,
            max_send_buffer=self._max_send_buffer,
            heartbeat_tolerance=self._heartbeat_tolerance,
        )
        # AnyEvent::STOMP's "prepare" hands over the connection's handle
        # before anything is written on it: here, the protocol.
        self._observers.fire("prepare", self, protocol)
        return protocol

    def start(self) -> None:
        """
        Start connecting in the background (L{connect} calls this for
        you).  After the client gave up, this starts it afresh.
        """
        if self._closed:
            raise ClientClosed("this client was disconnected; make a new one")
        self._gave_up = None
        self._reconnector.start()

    def _before_attempt(self, broker: str) -> None:
        self.broker = broker
        _log.info("connecting to {broker}", broker=broker)

    def _attempt_failed(self, message: str) -> None:
        self._observers.fire("connect_error", self, message)

    def _give_up(self, reason: str) -> None:
        self._gave_up = NotConnected(reason)
        self._fail_connected_waiters(self._gave_up)
        if not self._loss_reported:
            self._observers.fire("disconnect", self, reason)

    def _fail_connected_waiters(self, error: Exception) -> None:
        if self._outbox is not None:
            self._outbox.fail_queued(error)
        self._fail_first_connection_waiters(error)
        queued, self._queued_subscribes = self._queued_subscribes, {}
        for sub_id, (subscribed, _) in queued.items():
            self._subscriptions.pop(sub_id, None)
            subscribed.errback(error)

    @property
    def _session(self) -> StompProtocol | None:
        # The current connection, if it has a STOMP session.
        protocol = self._protocol
        if protocol is None or not protocol.is_stomp_connected:
            return None
        return protocol

    @property
    def version(self) -> str | None:
        """
        The STOMP version negotiated with the broker, or C{None} while not
        connected.
        """
        session = self._session
        return None if session is None else session.version

    @property
    def heartbeat(self) -> HeartbeatIntervals | None:
        """
        The heart-beat intervals negotiated on the current connection, or
        C{None} while not connected.
        """
        session = self._session
        return None if session is None else session.heartbeat

    @property
    def connected_frame(self) -> Frame | None:
        """
        The broker's CONNECTED frame on the current connection (its
        C{server}, C{session}, C{heart-beat} headers), or C{None} while
        not connected.
        """
        session = self._session
        return None if session is None else session.connected_frame

    @property
    def is_connected(self) -> bool:
        """
        Whether the client has a STOMP session (CONNECTED received) that
        it may use: C{False} from the moment L{disconnect} is called.
        """
        return not self._closed and self.version is not None

    @property
    def stats(self) -> ClientStats:
        """
        The client's counters (messages received, acknowledged, refused,
        redelivered; sends and receipts pending; reconnections; bytes in
        and out; messages in flight), for a health check.  Counting is
        always on and costs an addition per message or frame; each read of
        this property builds a new snapshot.
        """
        counters = self._counters
        protocol = self._protocol
        session = self._session
        return ClientStats(
            messages_received=counters.messages_received,
            redelivered=counters.redelivered,
            acknowledged=counters.acknowledged,
            nacked=counters.nacked,
            sent=counters.sent,
            receipts=counters.receipts,
            receipts_pending=protocol.pending_receipts if protocol is not None else 0,
            outbox_queued=self._outbox.queued if self._outbox is not None else 0,
            unacknowledged=len(self._unacked),
            in_flight=self._in_flight,
            connections=counters.connections,
            reconnects=max(0, counters.connections - 1),
            connected=session is not None and not self._closed,
            bytes_in=counters.bytes_in + (protocol.bytes_received if protocol else 0),
            bytes_out=counters.bytes_out + (protocol.bytes_written if protocol else 0),
        )

    def when_connected(self) -> Deferred[StompClient]:
        """
        @return: a L{Deferred} that fires with this client once CONNECTED
            has been received (at once if it already has).  It fails with
            L{NotConnected} if the client gives up (after the reconnect
            policy's C{max_attempts}, or at the first failure without
            reconnection), and with L{ClientClosed} after L{disconnect}.
        """
        if self._closed:
            return fail(ClientClosed("this client was disconnected"))
        if self.is_connected:
            return succeed(self)
        if self._gave_up is not None:
            return fail(self._gave_up)
        waiter: Deferred[StompClient] = Deferred()
        self._connected_waiters.append(waiter)
        return waiter

    # ConnectionHandler, as StompProtocol calls it.

    def connection_made(self, protocol: StompProtocol) -> None:
        if self._closed:
            # disconnect() was called while the endpoint was connecting.
            protocol.close()
            return
        self._protocol = protocol
        timer = self._clock.callLater(
            self._connect_timeout,
            protocol.close,
            NotConnected(f"no CONNECTED within {self._connect_timeout} s"),
        )
        self._handshake_timers[protocol] = timer
        host, port = _peer(protocol)
        self._observers.fire("connect", self, protocol, host, port, self._retry_callable(protocol))

    def _retry_callable(self, protocol: StompProtocol) -> Callable[[], None]:
        # AnyEvent::STOMP's "connect" event passes a $retry that drops this
        # connection and tries the next broker: here, a callable that
        # does the same (counted as a failed attempt before CONNECTED).
        def retry() -> None:
            if self._protocol is protocol and not self._closed:
                _log.info("a connect callback asked to retry: leaving {b}", b=self.broker)
                protocol.close(NotConnected("a connect callback asked for the next broker"))

        return retry

    def _stop_handshake_timer(self, protocol: StompProtocol) -> None:
        timer = self._handshake_timers.pop(protocol, None)
        if timer is not None and timer.active():
            timer.cancel()

    def stomp_connected(self, protocol: StompProtocol, frame: Frame) -> None:
        self._stop_handshake_timer(protocol)
        self._reconnector.connected()
        self._counters.connections += 1
        heartbeat = protocol.heartbeat
        _log.info(
            "connected to {broker} ({server}, STOMP {version}, heart-beats {send}/{receive} ms)",
            broker=self.broker,
            server=frame.headers.get("server", "no server header"),
            version=protocol.version,
            send=heartbeat.send if heartbeat is not None else 0,
            receive=heartbeat.receive if heartbeat is not None else 0,
        )
        renewed = 0
        # Subscriptions first, so that whoever waits on when_connected()
        # can rely on them; those made while disconnected have a caller
        # waiting on the SUBSCRIBE itself.
        queued, self._queued_subscribes = self._queued_subscribes, {}
        for subscription in list(self._subscriptions.values()):
            subscribed, receipt = queued.get(subscription.id, (None, False))
            if subscribed is None:
                renewed += 1
            try:
                written = self._write_subscribe(protocol, subscription, receipt, bounded=False)
            except LocalProtocolError as error:
                # Representable only under another version than this one.
                del self._subscriptions[subscription.id]
                written = fail(error)
                if subscribed is None:
                    _log.error("cannot re-subscribe {sub}: {error}", sub=subscription, error=error)
            if subscribed is not None:
                written.chainDeferred(subscribed)
        if renewed:
            _log.info("re-subscribed {count} subscription(s)", count=renewed)
        if self._outbox is not None:
            for entry in self._outbox.take_queued():
                self._transmit(entry)
        self._ever_connected = True
        early, self._before_connected = self._before_connected, []
        for early_frame, receipt, waiting in early:
            try:
                sent = self._request(early_frame, receipt, protocol, bounded=False)
            except LocalProtocolError as error:
                # Not representable in the version the broker chose.
                sent = fail(error)
            sent.chainDeferred(waiting)
        waiters, self._connected_waiters = self._connected_waiters, []
        for waiter in waiters:
            waiter.callback(self)
        self._fire_frame(frame)

    def frame_received(self, protocol: StompProtocol, frame: Frame) -> None:
        if frame.command == "MESSAGE":
            self._message_received(protocol, frame)
            return
        if frame.command == "RECEIPT":
            self._counters.receipts += 1
        self._fire_frame(frame)
        if frame.command == "ERROR" and protocol.version is None:
            refusal = BrokerError(frame)
            # Some brokers quote the CONNECT frame, passcode included.
            refusal.args = (self._redact(str(refusal)),)
            self._connect_refused(refusal)

    def _connect_refused(self, error: BrokerError) -> None:
        # The broker answered CONNECT with ERROR.  Whoever waits for the
        # connection learns it now, with the broker's reason, whatever the
        # reconnect policy does next (some brokers keep the socket open
        # for seconds after refusing); later callers wait for the next
        # attempt.  Subscriptions and the outbox stay for that attempt.
        # (The reconnect loop logs the refusal, once, as a failed attempt.)
        self._fail_first_connection_waiters(error)

    def _redact(self, text: str) -> str:
        # The broker's words may quote the passcode (an echoed CONNECT):
        # no message or log line of the client's may hold it.
        return arguments.redact(text, self._connect_headers.get("passcode"))

    def _fail_first_connection_waiters(self, error: Exception) -> None:
        # when_connected() callers and the frames sent before the first
        # CONNECTED.
        early, self._before_connected = self._before_connected, []
        for _, _, waiting in early:
            waiting.errback(error)
        waiters, self._connected_waiters = self._connected_waiters, []
        for waiter in waiters:
            waiter.errback(error)

    def heartbeat_received(self, protocol: StompProtocol) -> None:
        # RabbitMQ ends every frame with an EOL: fire only when observed.
        if self._observers.has("heartbeat"):
            self._observers.fire("heartbeat", self)

    def connection_lost(
        self, protocol: StompProtocol, reason: Failure, error: StompError | None
    ) -> None:
        self._stop_handshake_timer(protocol)
        if self._protocol is protocol:
            self._protocol = None
        for key in [k for k, d in self._unacked.items() if d.protocol is protocol]:
            del self._unacked[key]
        self._drop_delayed_settlements(protocol)
        for tx_id, settled in list(self._settled_in.items()):
            if any(d.protocol is protocol for d in settled.values()):
                del self._settled_in[tx_id]
        established = protocol.version is not None
        if error is not None:
            why = self._redact(str(error))
        elif self._closed:
            why = "closed by disconnect()"
        elif isinstance(reason.value, ConnectionDone):
            why = "the broker closed the connection"
        else:
            why = reason.getErrorMessage()
        # Whenever the client closes a connection itself it says why
        # (error), except in disconnect(): anything else was the broker's
        # or the network's doing.
        unexpected = not self._closed and error is None
        peer_failed = isinstance(error, (RemoteProtocolError, HeartbeatTimeout))
        self._counters.bytes_in += protocol.bytes_received
        self._counters.bytes_out += protocol.bytes_written
        if established:
            if self._closed:
                _log.info("disconnected from {broker}: {why}", broker=self.broker, why=why)
            elif error is None or isinstance(error, BrokerError):
                # (The protocol has logged the other errors when it closed.)
                _log.warn("connection to {broker} lost: {why}", broker=self.broker, why=why)
        if peer_failed or (established and unexpected):
            self._observers.fire("io_error", self, why)
        if self._closed:
            if established:
                self._observers.fire("disconnect", self, why)
            waiters, self._disconnected_waiters = self._disconnected_waiters, []
            for waiter in waiters:
                waiter.callback(None)
        elif established:
            # One "disconnect" for the loss: if it makes the client give up
            # (a session too short to count as working, past max_attempts),
            # it says so, with the loss's reason inside.
            self._loss_reported = True
            try:
                self._reconnector.lost(why)
            finally:
                self._loss_reported = False
            gave_up = self._gave_up
            self._observers.fire("disconnect", self, why if gave_up is None else str(gave_up))
        elif isinstance(error, BrokerError):
            self._reconnector.handshake_failed(f"broker refused CONNECT: {why}", refused=True)
        else:
            self._reconnector.handshake_failed(
                f"connection lost before CONNECTED: {why}", refused=False
            )

    # --- observers ----------------------------------------------------------

    def reg_cb(
        self, event: str, callback: Callable[..., Any], *, priority: int = 0
    ) -> CallbackHandle:
        """
        Call C{callback} whenever C{event} happens (see the class
        docstring for events and their arguments).  Callbacks of one event
        run by C{priority}, lower first, then in registration order; one
        that raises is logged and never stops the others.

        @return: a handle for L{unreg_cb}.
        @raise BadArgument: for an event the client never fires (a
            misspelt one: the message lists those of
            L{CLIENT_EVENTS<stomp_twisted.observers.CLIENT_EVENTS>}), a
            C{callback} that is not callable, or a C{priority} that is not
            an C{int}.
        """
        check_event(event, CLIENT_EVENTS)
        return self._observers.register(event, callback, priority)

    def unreg_cb(self, handle: CallbackHandle) -> None:
        """
        Remove a callback registered with L{reg_cb}; removing it twice
        does nothing.

        @raise BadArgument: if C{handle} is not what L{reg_cb} returned.
        """
        self._observers.unregister(handle)

    def _fire_frame(self, frame: Frame) -> list[object]:
        # The command's own event first, then "frame", as AnyEvent::STOMP.
        results = self._observers.fire(frame.command, self, frame.body, frame.headers)
        results.extend(
            self._observers.fire("frame", self, frame.command, frame.body, frame.headers)
        )
        return results

    # --- sending ------------------------------------------------------------

    def _connected_protocol(self) -> StompProtocol:
        if self._closed:
            raise ClientClosed("this client was disconnected; nothing can be sent")
        protocol = self._protocol
        if protocol is None or not protocol.is_stomp_connected:
            raise NotConnected("not connected to a STOMP broker")
        return protocol

    def _request(
        self,
        frame: Frame,
        receipt: bool,
        protocol: StompProtocol | None = None,
        *,
        bounded: bool = True,
    ) -> Deferred[Frame | None]:
        # bounded=False for the client's own frames (automatic ACKs,
        # re-subscriptions, the outbox): max_send_buffer is there to push
        # back on a caller who sends faster than the socket, not on them.
        try:
            if protocol is None:
                protocol = self._connected_protocol()
        except NotConnected as error:
            return fail(error)
        deferred = protocol.send_frame(frame, receipt, bounded=bounded)
        command = frame.command
        if command == "SEND":
            self._counters.sent += 1
        elif command == "ACK":
            self._counters.acknowledged += 1
        elif command == "NACK":
            self._counters.nacked += 1
        if receipt and self._receipt_timeout is not None:
            deferred.addTimeout(
                self._receipt_timeout, self._clock, onTimeoutCancel=self._receipt_timed_out(frame)
            )
        return deferred

    def _receipt_timed_out(self, frame: Frame) -> Callable[[object, float], Failure]:
        command = frame.command
        destination = frame.headers.get("destination")

        def timed_out(result: object, timeout: float) -> Failure:
            what = command if destination is None else f"{command} to {destination}"
            error = ReceiptTimeout(
                f"no RECEIPT for {what} within {timeout:g} s (receipt_timeout): the broker "
                "may or may not have acted on it"
            )
            _log.warn("{error}", error=error)
            return Failure(error)  # type: ignore[no-untyped-call]

        return timed_out

    def send(
        self,
        body: Body,
        destination: str,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
        transaction: Transaction | str | None = None,
    ) -> Deferred[Frame | None]:
        """
        Send a message.

        @param body: bytes, or text to be sent as UTF-8.
        @param destination: where to send it.
        @param headers: extra C{SEND} headers.
        @param receipt: ask for a receipt (the default), so that the
            returned Deferred fires only once the broker has the message.
        @param transaction: the transaction to send it in.
        @return: a L{Deferred} firing with the C{RECEIPT} frame (or
            C{None} without a receipt).
        @raise BadArgument: for arguments of the wrong type, a text body
            that cannot be encoded as UTF-8, or a C{receipt} header (the
            client numbers receipts: pass C{receipt=True}).
        @raise UnrepresentableHeader: for a header that cannot be written.
        @raise ClientClosed: after L{disconnect}.
        """
        if not isinstance(destination, str) or not destination:
            raise BadArgument(
                f"destination must be a non-empty str, not {arguments.shown_value(destination)}"
            )
        if "\0" in destination or not destination.isascii():
            arguments.check_header_text(destination, "destination")
        if receipt is not True and receipt is not False:
            arguments.check_bool(receipt, "receipt")
        frame_headers = _headers(headers)
        if "receipt" in frame_headers:
            arguments.refuse_receipt_header(frame_headers)
        frame_headers["destination"] = destination
        if transaction is not None:
            try:
                frame_headers["transaction"] = self._transaction_id(transaction)
            except ConnectionLost as error:
                return fail(error)
        if self._outbox is not None and transaction is None:
            return self._send_kept(Frame("SEND", frame_headers, _body_bytes(body)), receipt)
        # As send_frame("SEND", ...), without checking the checked headers again.
        frame = Frame._received("SEND", frame_headers, _body_bytes(body))
        sent = self._send_checked(frame, receipt)
        if transaction is not None and receipt and not sent.called:
            self._track_in_transaction(frame_headers["transaction"], sent)
        return sent

    def _track_in_transaction(self, transaction_id: str, sent: Deferred[Frame | None]) -> None:
        # RabbitMQ holds the receipt of a SEND in a transaction until
        # COMMIT, and never sends it after ABORT: abort() must end the wait.
        pending = self._transaction_receipts.setdefault(transaction_id, set())
        pending.add(sent)

        def answered(result: object) -> object:
            pending.discard(sent)
            if (
                isinstance(result, Failure)
                and isinstance(result.value, CancelledError)
                and transaction_id in self._aborted
            ):
                return Failure(  # type: ignore[no-untyped-call]
                    TransactionAborted(f"transaction {transaction_id} was aborted")
                )
            return result

        sent.addBoth(answered)

    def _send_kept(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        # With an outbox: queue while disconnected, and send again what a
        # lost connection left unconfirmed.
        assert self._outbox is not None
        if self._closed:
            raise ClientClosed("this client was disconnected; nothing can be sent")
        if self._gave_up is not None:
            return fail(self._gave_up)
        try:
            entry = self._outbox.admit(frame, receipt)
        except OutboxFull as error:
            return fail(error)
        if self.is_connected:
            self._transmit(entry)
        else:
            self._outbox.queue(entry)
        return entry.result

    def _transmit(self, entry: OutboxEntry) -> None:
        assert self._outbox is not None and self._protocol is not None
        outbox = self._outbox
        entry.attempts += 1
        try:
            written = self._request(entry.frame, entry.receipt, self._protocol, bounded=False)
        except LocalProtocolError as error:
            outbox.release(entry)
            entry.result.errback(error)
            return

        def confirmed(result: Frame | None) -> None:
            outbox.release(entry)
            entry.result.callback(result)

        protocol = self._protocol

        def failed(failure: Failure) -> None:
            lost = failure.value
            if isinstance(lost, ConnectionLost) and not self._closed and not self._gave_up:
                if self._blame_for_loss(entry, protocol, lost):
                    return
                # Its connection died before the receipt came: send it
                # again on the next one.
                outbox.queue(entry)
                return
            outbox.release(entry)
            entry.result.errback(failure)

        written.addCallbacks(confirmed, failed)

    def _blame_for_loss(
        self, entry: OutboxEntry, protocol: StompProtocol, lost: ConnectionLost
    ) -> bool:
        # Receipts fail in the order they were asked for, so the first
        # entry failed by a connection's loss is the oldest the broker had
        # not confirmed: the likeliest cause when a broker ends the session
        # over a message it will not take (an ERROR without receipt-id).
        # Past the outbox policy's max_losses such losses in a row, it is
        # failed and dropped, so one poison message cannot make every
        # reconnection send it again for ever.  Returns whether it was.
        assert self._outbox is not None
        if self._blamed_connection is protocol:
            return False
        self._blamed_connection = protocol
        entry.losses += 1
        limit = self._outbox.policy.max_losses
        if entry.losses < limit:
            return False
        self._outbox.release(entry)
        cause = lost.error if lost.error is not None else lost
        _log.warn(
            "dropping a message to {destination} from the outbox: it was the oldest unconfirmed "
            "one in {count} lost sessions in a row; last: {cause}",
            destination=entry.frame.headers.get("destination"),
            count=entry.losses,
            cause=cause,
        )
        entry.result.errback(cause)
        return True

    def send_frame(
        self,
        command: str,
        body: Body = b"",
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Send a frame of any command a client may send mid-session
        (C{SEND}, C{SUBSCRIBE}, C{ACK}, C{BEGIN}, ..., or a broker's own
        extension), with the headers as given.

        @return: as for L{send}.
        @raise BadArgument: for a command that is not an upper-case ASCII
            word, one the broker sends (C{MESSAGE}, C{CONNECTED}, ...),
            one the client writes itself (C{CONNECT}, C{STOMP}; and
            C{DISCONNECT}: use L{disconnect}), a C{receipt} header (pass
            C{receipt=True}), or arguments of the wrong type.
        @raise UnrepresentableHeader: for a header that cannot be written.
        """
        arguments.check_sendable_command(command)
        arguments.check_bool(receipt, "receipt")
        arguments.refuse_receipt_header(headers)
        return self._send_checked(Frame(command, _headers(headers), _body_bytes(body)), receipt)

    def _send_checked(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        # send_frame() and send(), once their arguments are checked.
        if self._closed:
            raise ClientClosed("this client was disconnected; nothing can be sent")
        if not self._ever_connected and not self.is_connected and self._gave_up is None:
            return self._send_when_connected(frame, receipt)
        return self._request(frame, receipt)

    def _send_when_connected(self, frame: Frame, receipt: bool) -> Deferred[Frame | None]:
        # Before the first CONNECTED, frames wait for it, as AnyEvent::STOMP
        # buffers them, so that connect() then send() works as written.
        # Once the client has been connected, a send while disconnected
        # fails at once (or goes to the outbox).
        if len(self._before_connected) >= _MAX_EARLY_FRAMES:
            return fail(
                NotConnected(
                    f"not connected yet, and {_MAX_EARLY_FRAMES} frames already wait for "
                    "the connection: wait on when_connected()"
                )
            )
        waiting: Deferred[Frame | None] = Deferred()
        self._before_connected.append((frame, receipt, waiting))
        return waiting

    # --- subscriptions ------------------------------------------------------

    def subscribe(
        self,
        destination: str,
        callback: Callable[[StompClient, bytes, dict[str, str]], object] | None = None,
        ack: AckMode | Literal[0] = None,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
        redelivery: RedeliveryPolicy | None = None,
    ) -> Deferred[Subscription]:
        """
        Subscribe to C{destination}.

        @param callback: called as C{callback(client, body, headers)} for
            each message of this subscription.
        @param ack: the acknowledgement policy, as for L{connect}.
        @param headers: extra C{SUBSCRIBE} headers (C{prefetch-count},
            C{selector}, ...).  The client writes C{ack:auto} for C{ack=None}
            and C{ack:client-individual} otherwise, in every version; an
            C{ack} header here replaces that: C{"client"} (with C{"auto"}
            or C{"manual"}) asks for STOMP's cumulative mode, which some
            STOMP 1.0 servers need before they give messages an id to
            acknowledge (stompserver), but where acknowledging a message
            acknowledges every earlier one of the subscription too,
            including one whose callback is still running or failed.
        @param redelivery: under C{ack="auto"}, how to treat a message
            whose callbacks failed (see L{RedeliveryPolicy}); the client's
            C{redelivery} if C{None}.
        @return: a L{Deferred} firing with the L{Subscription} once the
            broker has confirmed it (or once written, without C{receipt}).
            While the client is still connecting, C{SUBSCRIBE} is written
            as soon as CONNECTED arrives, before L{when_connected} fires;
            if the connection attempt fails, so does the Deferred.
        @raise BadArgument: for an C{ack} header that is not C{auto},
            C{client} or C{client-individual}, or that does not go with
            C{ack}, among others.
        """
        if not isinstance(destination, str) or not destination:
            raise BadArgument(
                f"destination must be a non-empty str, not {arguments.shown_value(destination)}"
            )
        if callback is not None and not callable(callback):
            raise BadArgument(f"callback must be callable, not {arguments.shown_value(callback)}")
        arguments.refuse_receipt_header(headers, "subscribe headers")
        if redelivery is None:
            redelivery = self._redelivery
        elif not isinstance(redelivery, RedeliveryPolicy):
            raise BadArgument(f"redelivery must be a RedeliveryPolicy or None, not {redelivery!r}")
        subscription = Subscription(
            id=f"sub-{next(self._subscription_ids)}",
            destination=destination,
            ack=_ack_mode(ack),
            callback=callback,
            headers=_headers(headers, "subscribe headers"),
            redelivery=redelivery,
        )
        wire_ack = subscription.headers.get("ack")
        if wire_ack is not None and wire_ack not in _WIRE_ACK_MODES:
            raise BadArgument(
                f"an 'ack: {wire_ack}' header is none of STOMP's modes: "
                f"{', '.join(_WIRE_ACK_MODES)}"
            )
        if wire_ack is not None and (wire_ack == "auto") != (subscription.ack is None):
            raise BadArgument(
                f"an 'ack: {wire_ack}' header does not go with ack={subscription.ack!r}: "
                "the broker would wait for acknowledgements the client never sends, or "
                "the other way round"
            )
        # Refused now rather than when CONNECTED comes, where it could only
        # be logged: representable in the session's version, or in every
        # version offered while there is none yet.
        session = self._session
        versions = [session.version] if session is not None and session.version else None
        arguments.check_representable(
            "SUBSCRIBE",
            {**subscription.headers, "destination": destination, "id": subscription.id},
            versions or self._connect_headers["accept-version"].split(","),
            "subscribe",
        )
        if self._closed:
            raise ClientClosed("this client was disconnected; nothing can be sent")
        protocol = self._protocol
        if protocol is None or not protocol.is_stomp_connected:
            # Sent as soon as the client is connected.
            waiter: Deferred[Frame | None] = Deferred()
            self._queued_subscribes[subscription.id] = (waiter, receipt)
            self._subscriptions[subscription.id] = subscription
            return waiter.addCallback(lambda _: subscription)
        written = self._write_subscribe(protocol, subscription, receipt)
        self._subscriptions[subscription.id] = subscription
        return written.addCallback(lambda _: subscription)

    def _write_subscribe(
        self,
        protocol: StompProtocol,
        subscription: Subscription,
        receipt: bool,
        *,
        bounded: bool = True,
    ) -> Deferred[Frame | None]:
        headers = dict(subscription.headers)
        headers["destination"] = subscription.destination
        headers["id"] = subscription.id
        if "ack" not in headers:
            # client-individual under 1.0 too, although only 1.1 defines
            # it: 1.0's "client" is cumulative on RabbitMQ and ActiveMQ, so
            # acknowledging a message would silently acknowledge earlier
            # ones whose callbacks are still running.  Both brokers (and
            # 1.0-only ones, which treat it as auto) accept it.
            headers["ack"] = "auto" if subscription.ack is None else "client-individual"
        return self._request(Frame("SUBSCRIBE", headers), receipt, protocol, bounded=bounded)

    def unsubscribe(
        self,
        subscription: Subscription | str,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        End a subscription (a L{Subscription} or its id).

        @param headers: extra C{UNSUBSCRIBE} headers: RabbitMQ ends a
            durable subscription for good only with C{durable:true} here
            (see the persistence guide).
        """
        extra = _headers(headers, "unsubscribe headers")
        arguments.refuse_receipt_header(extra, "unsubscribe headers")
        sub_id = subscription.id if isinstance(subscription, Subscription) else subscription
        ending = self._subscriptions.pop(sub_id, None) if isinstance(sub_id, str) else None
        if ending is None:
            raise BadArgument(f"no active subscription {arguments.shown_value(sub_id)}")
        queued = self._queued_subscribes.pop(sub_id, None)
        if queued is not None:
            # Its SUBSCRIBE was still waiting for CONNECTED: it is never
            # sent, and whoever waits on subscribe() learns so.
            queued[0].errback(
                NotConnected(f"{sub_id} was unsubscribed before its SUBSCRIBE could be sent")
            )
            return succeed(None)
        frame_headers = {**extra, "id": sub_id}
        protocol = self._protocol
        if protocol is not None and protocol.version == "1.0":
            # STOMP 1.0 servers may end a subscription by destination only
            # (stompserver ignores the id, coilmq refuses UNSUBSCRIBE
            # without a destination).
            frame_headers["destination"] = ending.destination
        return self._request(Frame("UNSUBSCRIBE", frame_headers), receipt)

    @property
    def subscriptions(self) -> list[Subscription]:
        """
        The active subscriptions, oldest first.
        """
        return list(self._subscriptions.values())

    # --- receiving ----------------------------------------------------------

    def _subscription_for(self, frame: Frame) -> Subscription | None:
        sub_id = frame.headers.get("subscription")
        if sub_id is not None:
            return self._subscriptions.get(sub_id)
        # A STOMP 1.0 broker may leave the subscription header out.
        destination = frame.headers.get("destination")
        for subscription in self._subscriptions.values():
            if subscription.destination == destination:
                return subscription
        return None

    def _ack_key(self, protocol: StompProtocol, headers: Mapping[str, str]) -> str | None:
        if protocol.version == "1.2":
            key = headers.get("ack")
            # A 1.2 ACK takes the message-id as its id where the broker sent
            # no ack header (coilmq); _settle_one names it message-id too.
            return key if key is not None else headers.get("message-id")
        return headers.get("message-id")

    def _delivery_key(
        self, protocol: StompProtocol, subscription: Subscription, headers: Mapping[str, str]
    ) -> str | None:
        # The ack id of a message to acknowledge, or None if it has none or
        # one that this version cannot write back (reported, once).
        key = self._ack_key(protocol, headers)
        version = protocol.version or "1.0"
        if key is None:
            needed = "an 'ack' or 'message-id' header" if version == "1.2" else "a 'message-id'"
            problem = f"carries no ack id ({needed})"
        else:
            # (A plain loop: this runs for every message to acknowledge.)
            for bad in _UNWRITABLE_IN_HEADERS[version]:
                if bad in key:
                    break
            else:
                return key
            problem = f"has an ack id {key!r} that STOMP {version} cannot write back ({bad!r})"
        self._report_unackable(subscription, version, problem)
        return None

    def _report_unackable(self, subscription: Subscription, version: str, problem: str) -> None:
        if subscription._unackable_reported:
            return
        subscription._unackable_reported = True
        hint = ""
        if version == "1.0" and "no ack id" in problem and subscription.headers.get("ack") is None:
            hint = (
                "; some STOMP 1.0 servers give messages an id only under ack:client: "
                "subscribe with headers={'ack': 'client'}"
            )
        message = (
            f"subscription {subscription.id} to {subscription.destination}: a MESSAGE {problem}, "
            f"so it cannot be acknowledged (the broker may deliver it again){hint}; "
            "said once for this subscription"
        )
        _log.error("{report}", report=message)
        self._observers.fire("io_error", self, message)

    def _message_received(self, protocol: StompProtocol, frame: Frame) -> None:
        counters = self._counters
        counters.messages_received += 1
        if frame.headers.get("redelivered") == "true":
            counters.redelivered += 1
        subscription = self._subscription_for(frame)
        if self._leaving and subscription is not None and subscription.ack is not None:
            # (Without acknowledgements the broker has forgotten the
            # message already: it is dispatched as usual.)
            self._leave_undispatched(frame)
            return
        key = None
        if subscription is not None and subscription.ack is not None:
            key = self._delivery_key(protocol, subscription, frame.headers)
            if key is not None:
                self._unacked[key] = _Delivery(protocol, subscription, frame.headers)
                if len(self._unacked) >= self._max_unacked:
                    self._hold_for_unacked(protocol)
                elif self._held_for_unacked:
                    # A lost connection took its unacknowledged messages.
                    self._unacked_went_down(protocol)
        results: list[object] = []
        self._dispatching += 1
        try:
            if subscription is not None and subscription.callback is not None:
                results.append(self._call_subscriber(subscription, frame))
            observers = self._observers
            if observers.has("frame") or observers.has("MESSAGE"):
                results.extend(self._fire_frame(frame))
        finally:
            self._dispatching -= 1
        auto = subscription is not None and subscription.ack == "auto" and key is not None
        # (Most callbacks return None, and isinstance against Deferred, an
        # Awaitable, takes the slow path of an ABC: None is ruled out first.
        # A coroutine, from an async def callback, is waited on too.)
        if not any(
            result is not None and isinstance(result, (Deferred, CoroutineType))
            for result in results
        ):
            # The usual case: every callback has returned (or raised).
            # Settle the message now, without a Deferred per callback.
            if auto:
                assert key is not None
                outcomes = [(not isinstance(result, Failure), result) for result in results]
                try:
                    self._auto_settle(outcomes, key, protocol, frame)
                except Exception:
                    _log.failure("automatic ACK failed")
        else:
            self._await_callbacks(protocol, results, key if auto else None, frame)
        leaving, self._goodbye_pending = self._goodbye_pending, None
        if leaving is not None and not self._dispatching:
            self._say_goodbye(leaving)

    def _await_callbacks(
        self, protocol: StompProtocol, results: list[object], key: str | None, frame: Frame
    ) -> None:
        # Some callback returned a Deferred: the message is in flight (for
        # flow control) until all have fired, then, if key is given, it is
        # settled automatically.
        outcomes = [_callback_outcome(result) for result in results]
        finished: Deferred[Any] = DeferredList(outcomes, consumeErrors=True)
        running = not finished.called
        if running:
            self._message_started(protocol)
        if key is not None:
            finished.addCallback(self._auto_settle, key, protocol, frame)
        if running:
            finished.addBoth(self._message_done, protocol)
            if key is not None:
                self._settling.add(finished)
                finished.addBoth(self._settled, finished)

    def _message_started(self, protocol: StompProtocol) -> None:
        # Flow control: past max_in_flight messages whose callbacks are
        # still running, stop reading, so a slow consumer's memory stays
        # flat; the broker's prefetch holds the rest back.
        self._in_flight += 1
        if self._in_flight >= self._max_in_flight and not self._held_for_in_flight:
            self._held_for_in_flight = True
            _log.info(
                "{count} messages in flight: pausing reading until half are done",
                count=self._in_flight,
            )
        self._apply_read_holds(protocol)

    def _message_done(self, result: object, protocol: StompProtocol) -> object:
        self._in_flight -= 1
        if self._held_for_in_flight and self._in_flight <= self._max_in_flight // 2:
            self._held_for_in_flight = False
            self._apply_read_holds(protocol)
        if self._in_flight == 0 and self._idle_waiters:
            waiters, self._idle_waiters = self._idle_waiters, []
            _log.info("drained: no callback is running")
            for waiter in waiters:
                waiter.callback(0)
        return result

    def _hold_for_unacked(self, protocol: StompProtocol) -> None:
        # Flow control for messages never acknowledged: each is remembered
        # until it is, so past max_unacked reading stops.
        if not self._held_for_unacked:
            self._held_for_unacked = True
            _log.warn(
                "{count} messages await acknowledgement (max_unacked): pausing reading "
                "until acknowledgements bring them down to {half}",
                count=len(self._unacked),
                half=self._max_unacked // 2,
            )
        self._apply_read_holds(protocol)

    def _unacked_went_down(self, protocol: StompProtocol) -> None:
        if self._held_for_unacked and len(self._unacked) <= self._max_unacked // 2:
            self._held_for_unacked = False
            _log.info(
                "{count} messages await acknowledgement: reading again", count=len(self._unacked)
            )
            self._apply_read_holds(protocol)

    def _leave_undispatched(self, frame: Frame) -> None:
        # Read while leaving (the DISCONNECT receipt must be read past the
        # broker's prefetch): its ACK could never follow DISCONNECT, so no
        # callback gets it, and the broker delivers it again.
        self._left_undispatched += 1
        if self._left_undispatched == 1:
            _log.info(
                "leaving: messages read from now on are not handed to callbacks; the broker "
                "delivers them again (first: {id})",
                id=frame.headers.get("message-id"),
            )

    def _apply_read_holds(self, protocol: StompProtocol) -> None:
        if not protocol.is_stomp_connected or self._goodbye_sent:
            # Nothing to read for; or the DISCONNECT receipt must be read.
            return
        held = self._held_for_in_flight or self._held_for_unacked or self._leaving
        if held and not protocol.paused:
            protocol.pauseProducing()
        elif not held and protocol.paused:
            protocol.resumeProducing()

    def _settled(self, result: object, settle: Deferred[None]) -> object:
        self._settling.discard(settle)
        return result

    def _call_subscriber(self, subscription: Subscription, frame: Frame) -> object:
        assert subscription.callback is not None
        try:
            return subscription.callback(self, frame.body, frame.headers)
        except Exception:
            failure = Failure()  # type: ignore[no-untyped-call]
            _log.failure("subscription callback for {sub} raised", failure, sub=subscription.id)
            return failure

    def _auto_settle(
        self,
        outcomes: list[tuple[bool, object]],
        key: str,
        protocol: StompProtocol,
        frame: Frame,
    ) -> None:
        # ack="auto": acknowledge once every callback has succeeded; if any
        # failed, refuse the message as its subscription's RedeliveryPolicy
        # says.
        delivery = self._unacked.get(key)
        failures = [result for ok, result in outcomes if isinstance(result, Failure)]
        if failures:
            # Each failure was logged with its traceback already.
            _log.warn(
                "{count} callback(s) failed: message {key} is not acknowledged",
                count=len(failures),
                key=key,
            )
        if delivery is None or not delivery.protocol.is_stomp_connected:
            return
        if delivery.protocol is not protocol or self._goodbye_sent:
            # A redelivery on a later connection settles itself; and
            # nothing may follow DISCONNECT.
            return
        if failures:
            self._delivery_failed(delivery, key, frame, failures[-1])
            return
        if len(self._deliveries) and frame.headers.get("redelivered") != "false":
            # A message that failed before and now succeeded.
            self._deliveries.succeeded(_destination(frame, delivery), frame.headers, frame.body)
        self._settle_automatically("ACK", delivery, key)

    def _settle_automatically(
        self, command: str, delivery: _Delivery, key: str, extra: Mapping[str, str] | None = None
    ) -> None:
        settled = self._settle_one(
            command, delivery, key, None, receipt=False, bounded=False, extra=extra
        )
        if not settled.called or isinstance(settled.result, Failure):
            # (Usually it has fired already, with None: nothing to log.)
            settled.addErrback(_automatic_settle_failed, command, key)

    def _delivery_failed(
        self, delivery: _Delivery, key: str, frame: Frame, failure: Failure
    ) -> None:
        # The poison-message rule: wait before each NACK, longer each time
        # the same message fails, and give up on it after max_deliveries.
        policy = delivery.subscription.redelivery
        deliveries = self._deliveries.failed(
            _destination(frame, delivery), frame.headers, frame.body
        )
        if policy.exhausted(deliveries):
            self._give_up_on(delivery, key, frame, failure, deliveries)
            return
        protocol = delivery.protocol
        if protocol.version == "1.0":
            # STOMP 1.0 has no NACK: the message stays unacknowledged and
            # the broker redelivers it on the next connection.
            return
        delay = policy.delay(deliveries)
        if delay <= 0 and not _nack_dead_letters(protocol):
            self._settle_automatically("NACK", delivery, key)
            return
        # Until then the message counts as in flight, for flow control.
        self._message_started(protocol)
        timer = self._clock.callLater(delay, self._redeliver, key, protocol, frame)
        self._delayed_settlements[key] = (protocol, timer)

    def _redeliver(self, key: str, protocol: StompProtocol, frame: Frame) -> None:
        self._delayed_settlements.pop(key, None)
        self._message_done(None, protocol)
        delivery = self._unacked.get(key)
        if (
            delivery is None
            or delivery.protocol is not protocol
            or not protocol.is_stomp_connected
            or self._goodbye_sent
        ):
            # Its connection is gone (the broker redelivers it), or the
            # client is leaving.
            return
        subscription = delivery.subscription
        if (
            _nack_dead_letters(protocol)
            and self._subscriptions.get(subscription.id) is subscription
        ):
            # This broker's NACK is final (ActiveMQ moves the message to
            # its dead-letter queue): deliver it again here instead, so
            # that max_deliveries means the same on every broker.
            del self._unacked[key]
            headers = dict(frame.headers)
            headers["redelivered"] = "true"
            self._message_received(protocol, Frame._received("MESSAGE", headers, frame.body))
            return
        self._settle_automatically("NACK", delivery, key)

    def _give_up_on(
        self, delivery: _Delivery, key: str, frame: Frame, failure: Failure, deliveries: int
    ) -> None:
        policy = delivery.subscription.redelivery
        destination = _destination(frame, delivery)
        self._deliveries.forget(destination, frame.headers, frame.body)
        if delivery.protocol.version == "1.0" or policy.on_exhausted == "ack":
            command, extra, outcome = "ACK", None, "acknowledged (dropped)"
        else:
            # RabbitMQ requeues a NACKed message unless told not to; it then
            # drops it, or dead-letters it where the queue has a
            # dead-letter exchange.  ActiveMQ dead-letters every NACK.
            command, extra, outcome = "NACK", {"requeue": "false"}, "rejected (NACK, requeue:false)"
        _log.warn(
            "poison message {message_id} on {destination}: delivered {deliveries} time(s), "
            "its callbacks failed each time (last: {error}); {outcome}",
            message_id=frame.headers.get("message-id", key),
            destination=destination,
            deliveries=deliveries,
            error=failure.getErrorMessage(),
            outcome=outcome,
        )
        self._settle_automatically(command, delivery, key, extra)
        self._observers.fire("poison", self, frame.body, frame.headers, failure)

    def _drop_delayed_settlements(self, lost: StompProtocol) -> None:
        # The NACKs that waited for their delay on a lost connection are
        # dropped; the broker redelivers the messages.
        for key, (protocol, timer) in list(self._delayed_settlements.items()):
            if protocol is not lost:
                continue
            del self._delayed_settlements[key]
            if timer.active():
                timer.cancel()
            self._message_done(None, protocol)

    # --- acknowledgement ----------------------------------------------------

    def ack(
        self,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Acknowledge a message.

        @param id: the received message's headers (recommended), or its
            ack id (the C{ack} header under STOMP 1.2, C{message-id}
            before).
        @param transaction: acknowledge within this transaction.
        @raise AckError: if the message came through an earlier
            connection, or belongs to a subscription without
            acknowledgements.
        """
        return self._acknowledge("ACK", id, transaction, receipt)

    def nack(
        self,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Refuse a message (STOMP 1.1 and later), as for L{ack}.
        """
        return self._acknowledge("NACK", id, transaction, receipt)

    def _acknowledge(
        self,
        command: str,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None,
        receipt: bool,
    ) -> Deferred[Frame | None]:
        try:
            protocol = self._connected_protocol()
        except NotConnected as error:
            raise AckError(
                f"{error}: a message is acknowledged on the connection it came through, "
                "and the broker redelivers those of a lost one"
            ) from None
        if isinstance(id, Mapping):
            key = self._ack_key(protocol, id)
            if key is None:
                raise AckError(f"message headers carry no ack id: {dict(id)!r}")
        elif isinstance(id, str):
            key = id
        else:
            raise BadArgument(f"id must be a message's headers or its ack id, not {id!r}")
        delivery = self._unacked.get(key)
        if delivery is None:
            raise AckError(
                f"no message {key!r} awaits acknowledgement: it was already settled, came "
                "through an earlier connection (the broker redelivers it), or its subscription "
                "does not take acknowledgements"
            )
        if command == "NACK" and protocol.version == "1.0":
            raise AckError("STOMP 1.0 has no NACK")
        try:
            transaction_id = None if transaction is None else self._transaction_id(transaction)
        except ConnectionLost as error:
            return fail(error)
        return self._settle_one(command, delivery, key, transaction_id, receipt)

    def _settle_one(
        self,
        command: str,
        delivery: _Delivery,
        key: str,
        transaction: str | None,
        receipt: bool,
        *,
        bounded: bool = True,
        extra: Mapping[str, str] | None = None,
    ) -> Deferred[Frame | None]:
        protocol = delivery.protocol
        headers: dict[str, str]
        if protocol.version == "1.2":
            headers = {"id": key}
            if "ack" not in delivery.headers:
                # The message-id stands in for a missing ack header; the
                # brokers that leave it out (coilmq) want it named as such.
                headers["message-id"] = key
        elif protocol.version == "1.1":
            headers = {"message-id": key, "subscription": delivery.subscription.id}
        else:
            headers = {"message-id": key}
        if transaction is not None:
            headers["transaction"] = transaction
        if extra:
            headers.update(extra)
        # Written first: if it cannot be (SendBufferFull), the message
        # still awaits its acknowledgement.
        # (Every header is a str already: no need for Frame's checks.)
        frame = Frame._received(command, headers, b"")
        written = self._request(frame, receipt, protocol, bounded=bounded)
        if transaction is not None:
            self._settled_in.setdefault(transaction, {})[key] = delivery
        del self._unacked[key]
        if self._delayed_settlements:
            # Settled by the caller while its automatic NACK waited.
            waiting = self._delayed_settlements.pop(key, None)
            if waiting is not None:
                if waiting[1].active():
                    waiting[1].cancel()
                self._message_done(None, protocol)
        if self._held_for_unacked:
            self._unacked_went_down(protocol)
        return written

    # --- transactions -------------------------------------------------------

    def _transaction_id(self, transaction: Transaction | str) -> str:
        if isinstance(transaction, str):
            return transaction
        if not isinstance(transaction, Transaction):
            raise BadArgument(f"transaction must be a Transaction or its id, not {transaction!r}")
        if (
            transaction.protocol is not self._protocol
            or not transaction.protocol.is_stomp_connected
        ):
            raise ConnectionLost(
                f"transaction {transaction.id} began on a connection that is gone; "
                "the broker rolled it back"
            )
        if transaction.state != "open":
            raise BadArgument(f"transaction {transaction.id} is already {transaction.state}")
        return transaction.id

    def begin(self, *, receipt: bool = True) -> Deferred[Transaction]:
        """
        Begin a transaction on the current connection.

        @return: a L{Deferred} firing with the L{Transaction} once the
            broker has confirmed it (or once written, without C{receipt});
            pass it to L{send}, L{ack}, L{nack}, L{commit} and L{abort}.
        """
        try:
            protocol = self._connected_protocol()
        except NotConnected as error:
            return fail(error)
        transaction = Transaction(f"tx-{next(self._transaction_ids)}", protocol)
        begun = self._request(Frame("BEGIN", {"transaction": transaction.id}), receipt, protocol)
        return begun.addCallback(lambda _: transaction)

    def commit(
        self, transaction: Transaction | str, *, receipt: bool = True
    ) -> Deferred[Frame | None]:
        """
        Commit C{transaction}: the broker acts on its frames now.
        """
        return self._end_transaction("COMMIT", transaction, receipt)

    def abort(
        self, transaction: Transaction | str, *, receipt: bool = True
    ) -> Deferred[Frame | None]:
        """
        Abort C{transaction}: the broker forgets its frames.
        """
        return self._end_transaction("ABORT", transaction, receipt)

    def _end_transaction(
        self, command: str, transaction: Transaction | str, receipt: bool
    ) -> Deferred[Frame | None]:
        try:
            transaction_id = self._transaction_id(transaction)
        except ConnectionLost as error:
            return fail(error)
        if isinstance(transaction, Transaction):
            transaction.state = "committed" if command == "COMMIT" else "aborted"
        settled = self._settled_in.pop(transaction_id, {})
        waiting = self._transaction_receipts.pop(transaction_id, set())
        if command == "ABORT":
            self._aborted.add(transaction_id)
            for sent in list(waiting):
                sent.cancel()
            self._aborted.discard(transaction_id)
            # The broker rolls back the transaction's ACKs and NACKs: their
            # messages may be acknowledged again on this connection.
            for key, delivery in settled.items():
                if delivery.protocol.is_stomp_connected:
                    self._unacked.setdefault(key, delivery)
        return self._request(Frame(command, {"transaction": transaction_id}), receipt)

    # --- leaving ------------------------------------------------------------

    def drain(self, timeout: float) -> Deferred[int]:
        """
        Begin leaving gracefully: take no new message, and wait, at most
        C{timeout} seconds, for the messages whose callbacks are still
        running (those that returned a L{Deferred}, under any C{ack}
        policy) to finish, so that their C{ACK} or C{NACK} (automatic
        under C{ack="auto"}, the callback's own under C{ack="manual"}) is
        written before L{disconnect}, which should follow.

        Reading from the connection is paused, so no further C{MESSAGE}
        reaches a callback: the messages the broker sent ahead (its
        prefetch) stay unread and unacknowledged, and the broker delivers
        them again once the connection is closed.  Silence from the broker
        is not held against it meanwhile (heart-beat monitoring pauses
        with reading).  The client also stops reconnecting: the messages
        in hand belong to the current connection, and a new one would
        only bring more.  A message acknowledged under C{ack="manual"}
        outside its callback's Deferred is not waited for.

        @param timeout: how many seconds to wait at most.  Callbacks still
            running then are left to finish on their own; their messages,
            unacknowledged, are delivered again by the broker.
        @return: a L{Deferred} that fires with the number of messages
            still in flight when the wait ended: C{0} once every callback
            has finished, more if C{timeout} passed first.  It never
            fails; cancelling it ends the wait.
        @raise BadArgument: for a C{timeout} that is not a finite number of
            seconds, at least 0.
        """
        arguments.check_number(timeout, "timeout")
        self._reconnector.stop()
        # From now on the read holds keep reading paused (see
        # _apply_read_holds), until DISCONNECT's receipt must be read.
        self._leaving = True
        if self._protocol is not None:
            self._apply_read_holds(self._protocol)
        _log.info(
            "draining: taking no new message; {count} message(s) in flight, waiting at most "
            "{timeout:g} s for their callbacks",
            count=self._in_flight,
            timeout=timeout,
        )
        if self._in_flight <= 0:
            _log.info("drained: no callback is running")
            return succeed(0)
        # _message_done fires it when the last callback finishes.
        drained: Deferred[int] = Deferred(self._idle_waiters.remove)
        self._idle_waiters.append(drained)

        def timed_out() -> None:
            self._idle_waiters.remove(drained)
            _log.warn(
                "drain timeout ({timeout:g} s): {count} message(s) still in flight; "
                "unacknowledged, they will be delivered again",
                timeout=timeout,
                count=self._in_flight,
            )
            drained.callback(self._in_flight)

        drained.addBoth(_cancel_call, self._clock.callLater(timeout, timed_out))
        return drained

    def disconnect(self) -> Deferred[None]:
        """
        Leave gracefully: send C{DISCONNECT} with a receipt, wait for it
        (at most C{disconnect_timeout} seconds), then close the
        connection.  Nothing can be sent afterwards.

        @return: a L{Deferred} that fires once the connection is closed.
        """
        leaving = self._closed
        self._closed = True
        self._leaving = True
        self._reconnector.stop()
        self._fail_connected_waiters(ClientClosed("disconnect() was called"))
        protocol = self._protocol
        if protocol is None:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._disconnected_waiters.append(closed)
        if leaving:
            return closed
        # However the broker behaves (it may stop reading, or never send
        # the RECEIPT), the connection is gone by the deadline.
        timeout = self._disconnect_timeout
        hard_stop = self._clock.callLater(timeout, self._abort_on_leaving, protocol)
        closed.addBoth(_cancel_call, hard_stop)
        if not protocol.is_stomp_connected:
            protocol.close()
        elif self._dispatching:
            self._goodbye_pending = protocol
        else:
            self._say_goodbye(protocol)
        return closed

    def _abort_on_leaving(self, protocol: StompProtocol) -> None:
        if protocol.transport is None or self._protocol is not protocol:
            return
        _log.warn(
            "the connection to {broker} did not close within disconnect_timeout={timeout:g} s: "
            "aborting it",
            broker=self.broker,
            timeout=self._disconnect_timeout,
        )
        protocol.close(flush_timeout=0)

    def _say_goodbye(self, protocol: StompProtocol) -> None:
        # Messages whose callbacks are still running get their automatic
        # ACK (or NACK) first, within half the time bound, so that a
        # graceful exit does not make the broker redeliver work already
        # done; DISCONNECT's RECEIPT has the rest.
        deadline = self._clock.seconds() + self._disconnect_timeout

        def goodbye(result: object = None) -> None:
            if self._goodbye_sent:
                return
            if timer.active():
                timer.cancel()
            self._goodbye_sent = True
            if not protocol.is_stomp_connected:
                protocol.close()
                return
            sent = protocol.send_frame(Frame("DISCONNECT"), receipt=True, bounded=False)
            if protocol.paused:
                # The RECEIPT must be read, past any unread messages.
                protocol.resumeProducing()
            remaining = max(0.0, deadline - self._clock.seconds())
            sent.addTimeout(remaining, self._clock)
            sent.addBoth(lambda _: protocol.close())

        timer = self._clock.callLater(self._disconnect_timeout / 2, goodbye)
        if self._settling:
            DeferredList(list(self._settling)).addBoth(goodbye)
        else:
            goodbye()
