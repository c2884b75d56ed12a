"""
The connection layer against hostile brokers over real loopback TCP
(L{test.hostile}): a broker that stops reading while the client's send
buffer is full, malformed heart-beat numbers in CONNECTED, and a second
CONNECTED.  Each must end in a specific, reported behaviour: never a hang,
an "Unhandled Error" or a foreign exception.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import provider

import stomp_twisted
from stomp_twisted.client import StompClient
from stomp_twisted.errors import ConnectionLost, NotConnected
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.frame import Frame
from stomp_twisted.protocol import StompProtocol

from .hostile import BrokerSide, Script, ScriptedBroker, deadline, reactor

#: Retry at once, so that the tests count attempts, not wait for them.
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, jitter=0.0, refused_delay=0.01)

#: What the client writes while the broker reads nothing: far more than
#: the kernel's loopback buffers hold (the broker's receive buffer, which
#: does not grow while it reads nothing, and the client's send buffer:
#: 8 MiB at most, widened for large frames by widen_send_buffer), so that
#: closing can never flush it.
STUCK_BYTES = 48 * 1024 * 1024
CHUNK = 1024 * 1024


class StopsReading(Script):
    """
    A broker that answers CONNECT, then never reads again.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        super().on_connect(side, frame)
        side.stop_reading()


class LogCapture:
    """
    The text of every log event emitted while it is installed.
    """

    def __init__(self, test: TestCase) -> None:
        self.lines: list[str] = []

        @provider(ILogObserver)
        def observe(event: LogEvent) -> None:
            self.lines.append(formatEvent(event) or "")

        globalLogPublisher.addObserver(observe)
        test.addCleanup(globalLogPublisher.removeObserver, observe)

    def count(self, text: str) -> int:
        return sum(1 for line in self.lines if text in line)


def until(condition: Any, seconds: float, what: str) -> Deferred[None]:
    """
    Poll C{condition} every 10 ms until it holds; fail after C{seconds}.
    """

    @inlineCallbacks
    def poll() -> Generator[Deferred[Any], Any, None]:
        end = reactor.seconds() + seconds
        while not condition():
            if reactor.seconds() > end:
                raise AssertionError(f"within {seconds} s: {what}")
            yield deferLater(reactor, 0.01, lambda: None)

    return poll()


class StuckBrokerTestCase(TestCase):
    """
    Item 1 of issue 10: once the broker stops reading and the client's
    send buffer is full, closing the connection (after an ERROR, a
    malformed frame or L{StompClient.disconnect}) cannot flush it; the
    connection is aborted after L{StompProtocol.close_timeout}, and the
    loss is reported and followed by a reconnection as any other.

    A client connected to a L{StopsReading} broker, for the tests below.
    """

    #: What each client is given: short, so that cleaning up after a test
    #: (a disconnect() that no broker answers) is quick.
    disconnect_timeout = 0.5

    def setUp(self) -> None:
        self.patch(StompProtocol, "close_timeout", 1.0)
        self.log = LogCapture(self)
        self.broker = ScriptedBroker(StopsReading())
        self.broker.start()
        self.addCleanup(self.broker.stop)
        self.client = stomp_twisted.connect(
            "127.0.0.1",
            self.broker.port,
            reactor=reactor,
            reconnect=FAST,
            disconnect_timeout=self.disconnect_timeout,
            max_send_buffer=2 * STUCK_BYTES,
        )
        self.addCleanup(self.client.disconnect)
        self.disconnects: list[tuple[object, ...]] = []
        self.send_failures: list[Failure] = []
        self.client.reg_cb("disconnect", lambda *args: self.disconnects.append(args))

    @inlineCallbacks
    def fill_send_buffer(self) -> Generator[Deferred[Any], Any, BrokerSide]:
        """
        Connect, then write L{STUCK_BYTES} the broker will never read.
        """
        side = yield self.broker.next_connection()
        yield deadline(self.client.when_connected(), what="CONNECTED")
        protocol = self.client.factory._core.session.protocol
        assert protocol is not None
        destination = "/queue/hostile-protocol-stuck"
        for _ in range(STUCK_BYTES // CHUNK):
            sent = self.client.send(b"x" * CHUNK, destination, receipt=False)
            sent.addErrback(self.send_failures.append)
        self.assertTrue(protocol.send_buffer_full)
        return side  # type: ignore[no-any-return]

    def check_sends_failed(self) -> None:
        """
        Every send still waiting for the buffer to drain failed with
        L{ConnectionLost} when the connection went.
        """
        self.assertGreater(len(self.send_failures), 0)
        for failure in self.send_failures:
            failure.trap(ConnectionLost)

    @inlineCallbacks
    def check_loss_and_reconnect(
        self, trigger: Any, why: str
    ) -> Generator[Deferred[Any], Any, None]:
        side = yield self.fill_send_buffer()
        trigger(side)
        # The loss is reported, then a new connection reaches the broker.
        yield until(lambda: self.disconnects, 10.0, "a 'disconnect' event")
        self.assertIn(why, str(self.disconnects[0][-1]))
        yield self.broker.next_connection()
        self.assertEqual(self.log.count("aborting the STOMP connection"), 1)
        self.check_sends_failed()
        yield deadline(self.client.when_connected(), what="CONNECTED again")


class BrokerStopsReadingTests(StuckBrokerTestCase):
    """
    An ERROR or a malformed frame from a broker that reads nothing.
    """

    def test_error_while_send_buffer_full(self) -> None:
        """
        An ERROR from a broker that reads nothing: the client closes, the
        flush never ends, the connection is aborted, C{"disconnect"} fires
        with the broker's error, and the client reconnects.
        """
        return self.check_loss_and_reconnect(
            lambda side: side.send("ERROR", {"message": "go away"}), "go away"
        )

    def test_malformed_frame_while_send_buffer_full(self) -> None:
        """
        The same after a malformed frame.
        """
        return self.check_loss_and_reconnect(
            lambda side: side.send_raw(b"BOGUS\n\n\0"), "unknown STOMP command"
        )


class DisconnectFromBrokerNotReadingTests(StuckBrokerTestCase):
    """
    L{StompClient.disconnect} to a broker that reads nothing.
    """

    disconnect_timeout = 2.0

    @inlineCallbacks
    def test_disconnect_while_send_buffer_full(self) -> Generator[Deferred[Any], Any, None]:
        """
        L{StompClient.disconnect} with C{disconnect_timeout=2} ends, though
        DISCONNECT can never reach the broker; every pending send fails,
        and the client does not reconnect.
        """
        yield self.fill_send_buffer()
        started = reactor.seconds()
        bound = self.disconnect_timeout + StompProtocol.close_timeout
        yield deadline(self.client.disconnect(), bound + 2.0, "the end of disconnect()")
        self.assertLess(reactor.seconds() - started, bound + 1.0)
        self.assertEqual(len(self.disconnects), 1)
        self.assertIsNone(self.client.factory._core.session)
        self.check_sends_failed()
        self.assertEqual(len(self.broker.sides), 1)


class HugeHeartbeat(Script):
    """
    A broker whose CONNECTED carries an absurd C{heart-beat} header.
    """

    def __init__(self, heartbeat: str) -> None:
        self.connected_headers = {"heart-beat": heartbeat}


class MalformedHeartbeatTests(TestCase):
    """
    Item 4 of issue 10: a CONNECTED whose heart-beat numbers are absurdly
    long fails the handshake with a L{RemoteProtocolError}: a failed
    attempt, counted by C{max_attempts}, and nothing unhandled logged.
    """

    @inlineCallbacks
    def check_gives_up(self, heartbeat: str) -> Generator[Deferred[Any], Any, None]:
        log = LogCapture(self)
        broker = ScriptedBroker(HugeHeartbeat(heartbeat))
        broker.start()
        self.addCleanup(broker.stop)
        policy = ReconnectPolicy(initial_delay=0.01, max_attempts=3, jitter=0.0)
        client = stomp_twisted.connect("127.0.0.1", broker.port, reactor=reactor, reconnect=policy)
        self.addCleanup(client.disconnect)
        errors: list[str] = []
        client.reg_cb("io_error", lambda _client, why, *rest: errors.append(why))
        connected = client.when_connected()
        yield deadline(self.assertFailure(connected, NotConnected), what="when_connected() failing")
        self.assertEqual(len(broker.sides), 3)
        self.assertEqual(len(errors), 3)
        self.assertIn("malformed heart-beat header", errors[0])
        # The header's 5,000 digits are not copied into every message.
        self.assertLess(max(len(line) for line in log.lines), 1000)
        self.assertEqual(log.count("Unhandled"), 0)
        self.assertFalse(client.is_connected)

    def test_5000_digits(self) -> None:
        """
        C{heart-beat:} of 5,000 digits: more than C{int()} converts.
        """
        return self.check_gives_up("1" * 5000 + ",0")

    def test_400_digit_values(self) -> None:
        """
        Two 400-digit values: more than a float holds.
        """
        return self.check_gives_up("9" * 400 + "," + "9" * 400)


class SecondConnected(Script):
    """
    A broker that answers CONNECT twice, the second time claiming 1.0.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        super().on_connect(side, frame)
        side.send_raw(b"CONNECTED\nversion:1.0\n\n\0")


class SecondConnectedTests(TestCase):
    """
    Item 13 of issue 10: a second CONNECTED is a L{RemoteProtocolError}:
    the connection is closed with an C{io_error}, and the client
    reconnects; observers never see it.
    """

    @inlineCallbacks
    def test_second_connected(self) -> Generator[Deferred[Any], Any, None]:
        broker = ScriptedBroker(SecondConnected())
        broker.start()
        self.addCleanup(broker.stop)
        client: StompClient = stomp_twisted.connect(
            "127.0.0.1", broker.port, reactor=reactor, reconnect=FAST
        )
        self.addCleanup(client.disconnect)
        errors: list[str] = []
        versions: list[str | None] = []
        client.reg_cb("io_error", lambda _client, why, *rest: errors.append(why))
        client.reg_cb(
            "CONNECTED", lambda _client, body, headers: versions.append(headers.get("version"))
        )
        first = yield broker.next_connection()
        yield deadline(first.lost, what="the client closing the first connection")
        yield broker.next_connection()
        self.assertIn("second CONNECTED", errors[0])
        self.assertIn("'1.0'", errors[0])
        self.assertNotIn("1.0", versions)
