"""
L{StompClientFactory} used as Twisted factories are (issue 11): through
C{reactor.connectTCP} to the real brokers, reconnecting after the
connection is cut under it; through C{endpoint.connect} and Twisted's
C{ClientService}; and the client's lifecycle as declared states.

Every wait on the network is bounded; nothing sleeps.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from twisted.application.internet import ClientService
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from stomp_twisted import ClientClosed, NotConnected, ReconnectPolicy, StompClient
from stomp_twisted._lifecycle import TRANSITIONS, Lifecycle, State
from stomp_twisted.errors import BadArgument
from stomp_twisted.factory import StompClientFactory

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue
from .fakes import FakeEndpoint
from .hostile import deadline
from .inbox import Inbox, next_event
from .test_websocket_brokers import CuttingProxy

#: The bound on every wait for something that should happen.
TIMEOUT = 10.0
#: Reconnect quickly after the cut: the test waits for it.
QUICK = ReconnectPolicy(initial_delay=0.1, max_delay=0.5, jitter=0.0, stable_after=0)


class LifecycleTests(SynchronousTestCase):
    """
    The states a client goes through, over an in-memory endpoint.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def client(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial_delay=1.0, jitter=0.0))
        return StompClient(self.endpoint, reactor=self.clock, **kwargs)

    def test_connect_lose_reconnect_leave(self) -> None:
        """
        not started -> connecting -> connected -> waiting to reconnect ->
        connecting -> connected -> leaving -> closed.
        """
        client = self.client()
        self.assertIs(client.state, State.NOT_STARTED)
        client.start()
        self.assertIs(client.state, State.CONNECTING)
        self.endpoint.last.connected()
        self.assertIs(client.state, State.CONNECTED)
        self.clock.advance(60)
        self.endpoint.last.lose(TCPConnectionLost("cut"))
        self.assertIs(client.state, State.WAITING)
        self.clock.advance(1.0)
        self.assertIs(client.state, State.CONNECTING)
        self.endpoint.last.connected()
        self.assertIs(client.state, State.CONNECTED)
        done = client.disconnect()
        self.assertIs(client.state, State.LEAVING)
        self.assertNoResult(done)
        conn = self.endpoint.last
        conn.receipt(conn.sent()[-1].headers["receipt"])
        conn.lose()
        self.successResultOf(done)
        self.assertIs(client.state, State.CLOSED)

    def test_gave_up_then_start_again(self) -> None:
        """
        A refused attempt without reconnection ends in C{GAVE_UP}, which
        when_connected() reports; start() begins afresh from there.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.client(reconnect=None)
        client.start()
        self.assertIs(client.state, State.GAVE_UP)
        self.failureResultOf(client.when_connected(), NotConnected)
        self.endpoint.refuse = None
        client.start()
        self.assertIs(client.state, State.CONNECTING)
        self.endpoint.last.connected()
        self.assertIs(client.state, State.CONNECTED)

    def test_drain_then_disconnect(self) -> None:
        """
        drain() makes the client C{DRAINING}, still connected; disconnect()
        without a connection makes it C{CLOSED} at once.
        """
        client = self.client()
        client.start()
        self.endpoint.last.connected()
        self.successResultOf(client.drain(1.0))
        self.assertIs(client.state, State.DRAINING)
        self.assertTrue(client.is_connected)
        self.endpoint.last.lose(TCPConnectionLost("cut"))
        self.assertIs(client.state, State.DRAINING)
        self.successResultOf(client.disconnect())
        self.assertIs(client.state, State.CLOSED)

    def test_refusals_name_the_state(self) -> None:
        """
        An operation the state does not allow says which state it is.
        """
        client = self.client()
        client.disconnect()
        self.assertIs(client.state, State.CLOSED)
        error = self.assertRaises(ClientClosed, client.send, b"x", "/queue/a")
        self.assertIn("the client is closed", str(error))
        error = self.assertRaises(ClientClosed, client.start)
        self.assertIn("cannot start: the client is closed", str(error))
        failure = self.failureResultOf(client.when_connected(), ClientClosed)
        self.assertIn("closed", str(failure.value))

    def test_undeclared_move_is_refused(self) -> None:
        """
        The machine refuses a move its table does not declare, and the
        table leaves C{CLOSED} nowhere to go.
        """
        lifecycle = Lifecycle()
        self.assertRaises(AssertionError, lifecycle.move, State.CONNECTED)
        lifecycle.move(State.CLOSED)
        self.assertEqual(TRANSITIONS[State.CLOSED], frozenset())
        for state in State:
            self.assertIn(state, TRANSITIONS)
            if state is not State.CLOSED:
                self.assertRaises(AssertionError, _moved_from_closed, state)

    def test_factory_without_endpoint(self) -> None:
        """
        A factory made on its own has a client, whose start() says how to
        connect it.
        """
        factory = StompClientFactory(reactor=self.clock)
        self.assertIs(factory.client.factory, factory)
        self.assertIs(factory.client.state, State.NOT_STARTED)
        error = self.assertRaises(BadArgument, factory.client.start)
        self.assertIn("reactor.connectTCP", str(error))
        self.assertRaises(BadArgument, StompClient, None, reactor=self.clock, client=None)


def _moved_from_closed(state: State) -> None:
    lifecycle = Lifecycle()
    lifecycle.move(State.CLOSED)
    lifecycle.move(state)


if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class ConnectorMixin(_Base):
    """
    The factory given to Twisted's own ways of connecting, against
    L{broker}.
    """

    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def factory(self, **kwargs: Any) -> StompClientFactory:
        kwargs.setdefault("receipt_timeout", TIMEOUT)
        kwargs.setdefault("disconnect_timeout", 2.0)
        factory = StompClientFactory(
            reactor=reactor,
            login=self.broker.login,
            passcode=self.broker.passcode,
            **kwargs,
        )
        self.addCleanup(factory.client.disconnect)
        return factory

    @inlineCallbacks
    def proxy(self) -> Any:
        proxy = CuttingProxy(self.broker.host, self.broker.port)
        port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            proxy
        )
        self.addCleanup(port.stopListening)
        return proxy, port.getHost().port

    @inlineCallbacks
    def round_trip(self, client: StompClient, queue: str, inbox: Inbox, body: bytes) -> Any:
        yield deadline(client.send(body, queue), TIMEOUT, f"RECEIPT for {body!r}")
        yield deadline(inbox.wait_for(body), TIMEOUT, f"MESSAGE {body!r}")

    @inlineCallbacks
    def test_connect_tcp_reconnects_after_a_cut(self) -> Any:
        """
        C{reactor.connectTCP(host, port, factory)} connects; when the
        connection is cut (a proxy aborts both sides) the factory
        reconnects through the connector by itself, and the subscription
        is renewed: a message sent after the cut arrives.
        """
        proxy, port = yield self.proxy()
        factory = self.factory(reconnect=QUICK)
        client = factory.client
        queue = unique_queue("connect-tcp")
        inbox = Inbox()
        client.subscribe(queue, inbox, receipt=False)
        connector = reactor.connectTCP("127.0.0.1", port, factory)  # type: ignore[attr-defined]
        self.addCleanup(connector.disconnect)
        yield deadline(client.when_connected(), TIMEOUT, "CONNECTED through connectTCP")
        self.assertIs(client.state, State.CONNECTED)
        yield self.round_trip(client, queue, inbox, b"before the cut")
        lost = next_event(client, "disconnect")
        reconnected = next_event(client, "CONNECTED")
        proxy.cut()
        yield deadline(lost, TIMEOUT, "disconnect event after the cut")
        yield deadline(reconnected, TIMEOUT, "CONNECTED again through the connector")
        self.assertEqual(proxy.connections, 2)
        self.assertEqual(client.stats.reconnects, 1)
        yield self.round_trip(client, queue, inbox, b"after the cut")
        self.assertEqual(inbox.bodies, [b"before the cut", b"after the cut"])

    @inlineCallbacks
    def test_endpoint_connect(self) -> Any:
        """
        C{endpoint.connect(factory)}: one connection, made by the caller.
        """
        factory = self.factory()
        endpoint = TCP4ClientEndpoint(reactor, self.broker.host, self.broker.port)
        yield deadline(endpoint.connect(factory), TIMEOUT, "TCP connection")
        client = factory.client
        yield deadline(client.when_connected(), TIMEOUT, "CONNECTED through endpoint.connect")
        queue = unique_queue("endpoint")
        inbox = Inbox()
        yield deadline(client.subscribe(queue, inbox), TIMEOUT, "SUBSCRIBE receipt")
        yield self.round_trip(client, queue, inbox, uuid.uuid4().hex.encode())

    @inlineCallbacks
    def test_client_service(self) -> Any:
        """
        Twisted's C{ClientService} drives the factory and reconnects it
        after a cut, the client taking each new connection as it comes.
        """
        proxy, port = yield self.proxy()
        factory = self.factory()
        client = factory.client
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        service = ClientService(endpoint, factory, retryPolicy=lambda attempt: 0.1)
        service.startService()
        self.addCleanup(service.stopService)
        yield deadline(client.when_connected(), TIMEOUT, "CONNECTED through ClientService")
        queue = unique_queue("service")
        inbox = Inbox()
        yield deadline(client.subscribe(queue, inbox), TIMEOUT, "SUBSCRIBE receipt")
        reconnected = next_event(client, "CONNECTED")
        proxy.cut()
        yield deadline(reconnected, TIMEOUT, "CONNECTED again through ClientService")
        self.assertIs(client.state, State.CONNECTED)
        yield self.round_trip(client, queue, inbox, b"after the cut")


class RabbitMQConnectorTests(ConnectorMixin, TestCase):
    broker = RABBITMQ


class ActiveMQConnectorTests(ConnectorMixin, TestCase):
    broker = ACTIVEMQ
