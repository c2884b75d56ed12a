"""
L{connect} given Twisted client endpoint objects, one or a list to fail
over between (custom transports, tests).
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

import stomp_twisted
from stomp_twisted import BadArgument, ReconnectPolicy

from .fakes import FakeEndpoint
from .hostile import ScriptedBroker, deadline, reactor


class EndpointObjectTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def test_one_endpoint(self) -> None:
        """
        An endpoint object is connected through as it is.
        """
        endpoint = FakeEndpoint()
        client = stomp_twisted.connect(endpoint, reactor=self.reactor)
        self.assertEqual(endpoint.attempts, 1)
        endpoint.last.connected("1.2")
        self.assertTrue(client.is_connected)
        self.assertIn("FakeEndpoint", client.broker or "")

    def test_list_fails_over(self) -> None:
        """
        A list of endpoint objects is failed over as a list of brokers is.
        """
        down = FakeEndpoint(refuse=ConnectionRefusedError())
        up = FakeEndpoint()
        client = stomp_twisted.connect(
            [down, up], reactor=self.reactor, reconnect=ReconnectPolicy(jitter=0)
        )
        self.assertEqual((down.attempts, up.attempts), (1, 0))
        self.reactor.advance(0.1)
        self.assertEqual(up.attempts, 1)
        up.last.connected("1.2")
        self.assertTrue(client.is_connected)

    def test_refused_mixtures(self) -> None:
        """
        Endpoints mixed with addresses, a port, or ssl are refused at the
        call.
        """
        endpoint = FakeEndpoint()
        for host, kwargs in [
            ([endpoint, ("localhost", 61613)], {}),
            (endpoint, {"port": 61613}),
            (endpoint, {"ssl": True}),
        ]:
            self.assertRaises(
                BadArgument, stomp_twisted.connect, host, reactor=self.reactor, **kwargs
            )
        self.assertEqual(endpoint.attempts, 0)


class EndpointObjectOverTCPTests(TestCase):
    def test_tcp_endpoint(self) -> Deferred[None]:
        """
        A real TCP endpoint object reaches a broker over loopback.
        """

        async def run() -> None:
            broker = ScriptedBroker()
            port = broker.start()
            self.addCleanup(broker.stop)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
            client = stomp_twisted.connect(endpoint, reactor=reactor)
            await deadline(client.when_connected())
            await deadline(client.send(b"x", "/queue/a"))
            self.assertEqual([f.body for f in broker.frames("SEND")], [b"x"])
            await deadline(client.disconnect())

        return ensureDeferred(run())
