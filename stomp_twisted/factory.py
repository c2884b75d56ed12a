"""
L{StompClientFactory}: the Twisted factory of a client's connections,
with its reconnect logic.

Every L{StompClient} is built on one (C{client.factory}).  It can be
used the way Twisted factories are::

    factory = StompClientFactory(reactor=reactor, login="guest", passcode="guest")
    reactor.connectTCP("127.0.0.1", 61613, factory)
    client = factory.client          # the StompClient to subscribe, send, ...

With C{reactor.connectTCP} or C{connectSSL} the factory reconnects
through the connector, as the reconnect policy says (back-off, at most
C{max_attempts}).  With C{endpoint.connect(factory)} or Twisted's
C{ClientService}, whoever connects it decides about reconnecting; the
client takes each new connection as it comes.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.error import NotConnectingError
from twisted.internet.interfaces import IAddress, IConnector, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure

from . import arguments
from ._acks import Acknowledger
from ._core import Core, Settings
from ._dispatch import Dispatcher
from ._flow import ReadHolds
from ._handler import _ConnectionHandler
from ._leaving import Leaving
from ._pending import Pending
from ._sending import Sender
from ._subscriptions import Subscriptions
from ._transactions import Transactions
from .endpoints import DEFAULT_CONNECT_TIMEOUT
from .errors import BadArgument
from .failover import FailoverEndpoint
from .frame import VERSIONS, Frame, FrameLimits
from .heartbeat import DEFAULT_TOLERANCE, check_tolerance, format_heartbeat, parse_offer
from .outbox import Outbox, OutboxPolicy
from .protocol import DEFAULT_SEND_BUFFER, StompProtocol
from .reconnect import DEFAULT_RECONNECT, Reconnector, ReconnectPolicy
from .redelivery import DEFAULT_REDELIVERY, RedeliveryPolicy
from .stats import ClientStats

if TYPE_CHECKING:
    from .client import StompClient

__all__ = [
    "DEFAULT_MAX_UNACKED",
    "DEFAULT_RECEIPT_TIMEOUT",
    "StompClientFactory",
    "endpoint_name",
]

#: Seconds a request waits for its receipt unless told otherwise: some
#: servers never send receipts, and a caller must not wait on them for ever.
DEFAULT_RECEIPT_TIMEOUT = 30.0

#: How many received messages may await their acknowledgement before the
#: client stops reading (see C{max_unacked}).
DEFAULT_MAX_UNACKED = 10_000


def endpoint_name(endpoint: object) -> str:
    """
    A readable name for an endpoint object, for logs and events.
    """
    # HostnameEndpoint and TCP4ClientEndpoint keep their address privately.
    host = getattr(endpoint, "_hostText", None) or getattr(endpoint, "_host", None)
    port = getattr(endpoint, "_port", None)
    return f"{host}:{port}" if host is not None and port is not None else repr(endpoint)


class StompClientFactory(ClientFactory):
    """
    Builds the L{StompProtocol} of each connection of one client, and
    reconnects it.

    @ivar client: the L{StompClient} whose connections these are.
    """

    noisy = False

    def __init__(
        self,
        endpoint: IStreamClientEndpoint | None = None,
        *,
        reactor: IReactorTime,
        connect_headers: arguments.HeaderValues | None = None,
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
        client: StompClient | None = None,
    ) -> None:
        """
        @param endpoint: where the client connects by itself (one
            endpoint, or a L{FailoverEndpoint} over several brokers) when
            started; C{None} when connections come from outside
            (C{reactor.connectTCP(host, port, factory)},
            C{endpoint.connect(factory)}, C{ClientService}).
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
            waiting for a receipt fails with L{ReceiptTimeout
            <stomp_twisted.errors.ReceiptTimeout>} (the broker may or may
            not have acted on the request); C{None} waits for ever.  The
            default, L{DEFAULT_RECEIPT_TIMEOUT} (30 s), keeps a broker
            that never sends receipts from hanging its callers.
        @param disconnect_timeout: seconds C{disconnect()} waits for the
            broker's receipt before closing anyway.
        @param limits: bounds on received frames.
        @param outbox: keep messages sent with C{send()} until the broker
            confirms them, and send them again after a reconnection
            (at-least-once: a message whose receipt was lost may arrive
            twice), within these bounds; while disconnected, C{send()}
            then queues instead of failing.  C{None} (the default): a send
            while disconnected fails at once with L{NotConnected
            <stomp_twisted.errors.NotConnected>}, and one in flight when
            the connection is lost fails with L{ConnectionLost
            <stomp_twisted.errors.ConnectionLost>}.
        @param max_in_flight: how many received messages may have
            callbacks still running (Deferreds not yet fired) before the
            client stops reading from the connection; it reads again once
            half of them are done.  This keeps a slow consumer's memory
            flat; the broker's own prefetch (C{prefetch-count} on
            RabbitMQ, C{activemq.prefetchSize} on ActiveMQ, as SUBSCRIBE
            headers) bounds what it sends ahead.
        @param max_send_buffer: outgoing flow control: how many bytes the
            caller may send while the connection's send buffer is full
            (the socket is slower than the sender) before C{send()} raises
            L{SendBufferFull<stomp_twisted.errors.SendBufferFull>}.
            Meanwhile a send without a receipt fires only once the buffer
            has drained, so a caller who waits on each send is paced by
            the network.
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
        @param client: the L{StompClient} these connections serve
            (L{StompClient} passes itself); a new one when omitted.
        @raise BadArgument: for any setting of the wrong type or out of
            range (types, ranges, finite numbers, a malformed
            C{heartbeat} or C{heart-beat} header), checked here, once,
            rather than on each connection attempt.
        @raise UnrepresentableHeader: for a C{login}, C{passcode},
            C{vhost} or C{connect_headers} name or value that cannot be
            written (C{CONNECT} is not escaped: no NUL, CR or LF in any
            version); the message says where, never the value.
        """
        checked_versions = arguments.check_client_settings(
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
            max_unacked=max_unacked,
            redelivery=redelivery,
        )
        headers = {"accept-version": ",".join(checked_versions), "host": vhost}
        headers["heart-beat"] = format_heartbeat(heartbeat)
        if login is not None:
            headers["login"] = login
        if passcode is not None:
            headers["passcode"] = passcode
        headers.update(arguments.request_headers(connect_headers, "connect_headers"))
        # connect_headers may replace the offer: check the one to be sent.
        parse_offer(headers["heart-beat"])
        settings = Settings(
            connect_headers=headers,
            connect_timeout=connect_timeout,
            receipt_timeout=receipt_timeout,
            disconnect_timeout=disconnect_timeout,
            limits=limits if limits is not None else FrameLimits(),
            heartbeat_tolerance=check_tolerance(heartbeat_tolerance),
            max_in_flight=max_in_flight,
            max_send_buffer=max_send_buffer,
            max_unacked=max_unacked,
            redelivery=redelivery,
        )
        if client is None:
            from .client import _front_of

            client = _front_of(self)
        self.client = client
        self._policy = reconnect
        self._core = core = Core(client, reactor, settings)
        # The collaborators, each with one job (docs/architecture.rst).
        pending = Pending(core)
        self._sender = sender = Sender(
            core, pending, Outbox(outbox) if outbox is not None else None
        )
        self._subscriptions = subscriptions = Subscriptions(core, sender)
        pending.bind(sender, subscriptions.renew, subscriptions.fail_queued)
        self._holds = holds = ReadHolds(core)
        self._transactions = transactions = Transactions(core, sender)
        self._acks = Acknowledger(core, sender, holds, transactions)
        self._pending = pending
        self._leaving = leaving = Leaving(core, holds, pending, self._stop_reconnecting)
        self._dispatcher = dispatcher = Dispatcher(core, subscriptions, self._acks, holds)
        leaving.bind(dispatcher)
        self._handler = _ConnectionHandler(core, pending, dispatcher, holds, leaving)
        self._reconnector: Reconnector | None = None
        if endpoint is not None:
            if not isinstance(endpoint, FailoverEndpoint):
                endpoint = FailoverEndpoint([endpoint], [endpoint_name(endpoint)])
            self._reconnector = self._reconnect_through(endpoint)

    def _reconnect_through(self, endpoint: FailoverEndpoint | _ConnectorDialer) -> Reconnector:
        handler = self._handler
        reconnector = Reconnector(
            endpoint,  # type: ignore[arg-type]
            self,
            self._core.clock,
            self._policy,
            before_attempt=handler.before_attempt,
            attempt_failed=handler.attempt_failed,
            gave_up=handler.gave_up,
        )
        handler.reconnector = reconnector
        return reconnector

    def _start(self) -> None:
        # StompClient.start().
        lifecycle = self._core.lifecycle
        if lifecycle.left:
            raise lifecycle.refuse("start")
        if self._reconnector is None:
            raise BadArgument(
                "this client has no endpoint of its own: connect its factory "
                "(reactor.connectTCP(host, port, client.factory), endpoint.connect(...), "
                "ClientService)"
            )
        self._reconnector.start()

    def _stop_reconnecting(self) -> None:
        if self._reconnector is not None:
            self._reconnector.stop()

    def buildProtocol(self, addr: IAddress | None) -> StompProtocol:
        """
        A L{StompProtocol} for a new connection, reporting to this
        factory's client.
        """
        core = self._core
        settings = core.settings
        protocol = StompProtocol(
            self._handler,
            Frame("CONNECT", settings.connect_headers),
            settings.limits,
            clock=core.clock,
            max_send_buffer=settings.max_send_buffer,
            heartbeat_tolerance=settings.heartbeat_tolerance,
        )
        if self._reconnector is not None:
            self._reconnector.connection_built()
        # AnyEvent::STOMP's "prepare" hands over the connection's handle
        # before anything is written on it: here, the protocol.
        core.observers.fire("prepare", core.client, protocol)
        if self._dialer is not None:
            self._dialer.built(protocol)
        return protocol

    def _stats(self) -> ClientStats:
        # A snapshot of the counters, for StompClient.stats.
        core = self._core
        counters = core.counters
        session = core.session
        protocol = session.protocol if session is not None else None
        outbox = self._sender.outbox
        return ClientStats(
            messages_received=counters.messages_received,
            redelivered=counters.redelivered,
            acknowledged=counters.acknowledged,
            nacked=counters.nacked,
            sent=counters.sent,
            receipts=counters.receipts,
            receipts_pending=protocol.pending_receipts if protocol is not None else 0,
            outbox_queued=outbox.queued if outbox is not None else 0,
            unacknowledged=len(session.unacked) if session is not None else 0,
            in_flight=self._holds.in_flight,
            connections=counters.connections,
            reconnects=max(0, counters.connections - 1),
            connected=not core.lifecycle.left and core.established is not None,
            bytes_in=counters.bytes_in + (protocol.bytes_received if protocol else 0),
            bytes_out=counters.bytes_out + (protocol.bytes_written if protocol else 0),
        )

    # --- reactor.connectTCP / connectSSL ------------------------------------------

    _dialer: _ConnectorDialer | None = None

    def startedConnecting(self, connector: IConnector) -> None:
        """
        A connector (C{reactor.connectTCP}, C{connectSSL}) is connecting:
        from the first, the factory's reconnect loop drives it.
        """
        if self._dialer is None and self._reconnector is None:
            self._dialer = _ConnectorDialer(connector)
            self._reconnector = self._reconnect_through(self._dialer)
            self._reconnector.start()

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """
        The connector's attempt failed: the reconnect loop decides.
        """
        if self._dialer is not None:
            self._dialer.failed(reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """
        Nothing to do: the protocol has reported the loss already.
        """


class _ConnectorDialer:
    # A connector seen through the endpoint interface the reconnect loop
    # uses: connect() asks the connector to connect again (the first
    # attempt is the one reactor.connectTCP began), and the Deferred fires
    # with the protocol or fails with the connector's reason.
    def __init__(self, connector: IConnector) -> None:
        self._connector = connector
        destination = connector.getDestination()
        host = getattr(destination, "host", None)
        port = getattr(destination, "port", None)
        self.current_name = f"{host}:{port}" if host is not None else str(destination)
        self._attempt: Deferred[Protocol] | None = None
        self._first = True

    def advance(self) -> None:
        """
        One broker: nothing to move to.
        """

    def _stop_connecting(self, attempt: Deferred[Protocol]) -> None:
        self._attempt = None
        # Connected already (NotConnectingError): the connection is the
        # client's to close.
        with suppress(NotConnectingError):
            self._connector.stopConnecting()

    def connect(self, factory: object) -> Deferred[Protocol]:
        attempt: Deferred[Protocol] = Deferred(self._stop_connecting)
        self._attempt = attempt
        if self._first:
            # reactor.connectTCP has begun this one already.
            self._first = False
        else:
            self._connector.connect()
        return attempt

    def built(self, protocol: Protocol) -> None:
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.callback(protocol)

    def failed(self, reason: Failure) -> None:
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.errback(reason)
