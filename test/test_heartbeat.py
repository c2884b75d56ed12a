"""
Tests for STOMP heart-beats: the negotiation of L{stomp_twisted.heartbeat},
the timers L{StompProtocol} runs on an injected L{Clock}, and how
L{StompClient} offers heart-beats and handles a dead broker.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted.client import StompClient
from stomp_twisted.errors import (
    BadArgument,
    ConnectionLost,
    HeartbeatTimeout,
    RemoteProtocolError,
    StompError,
)
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.frame import Frame, parse_frames
from stomp_twisted.heartbeat import (
    MAX_INTERVAL,
    HeartbeatIntervals,
    check_heartbeat,
    check_tolerance,
    format_heartbeat,
    negotiate,
    parse_heartbeat,
    parse_offer,
)
from stomp_twisted.protocol import StompProtocol

from .fakes import FakeEndpoint
from .test_protocol import RecordingHandler, message

MALFORMED = [
    "",
    " ",
    "1000",
    "1000,",
    ",1000",
    "a,b",
    "-1,0",
    "0,-1",
    "1.5,2",
    "1000;1000",
    "1000,1000,1000",
    "+1,1",
    "1_000,1",
    "0x10,0",
    "\u0661,0",  # ARABIC-INDIC DIGIT ONE: int() would accept it
]


class NegotiationTests(SynchronousTestCase):
    """
    L{negotiate}: send every C{max(cx, sy)} unless either is 0, expect
    every C{max(sx, cy)} unless either is 0.
    """

    def test_table(self) -> None:
        """
        Each offer and answer gives the spec's intervals.
        """
        table = [
            # (cx, cy), answer, (send, receive)
            ((1000, 1000), "1000,1000", (1000, 1000)),
            ((0, 0), "1000,1000", (0, 0)),
            ((1000, 1000), "0,0", (0, 0)),
            ((1000, 1000), None, (0, 0)),
            ((0, 0), None, (0, 0)),
            # x,0 and 0,x on the client's side
            ((1000, 0), "500,500", (1000, 0)),
            ((0, 1000), "500,500", (0, 1000)),
            ((500, 0), "2000,2000", (2000, 0)),
            ((0, 500), "2000,2000", (0, 2000)),
            # x,0 and 0,x on the broker's side
            ((1000, 1000), "3000,0", (0, 3000)),
            ((1000, 1000), "0,3000", (3000, 0)),
            # the larger of the two wins, each way
            ((100, 5000), "2000,300", (300, 5000)),
            ((4000, 10), "20,30", (4000, 20)),
        ]
        for offer, answer, expected in table:
            self.assertEqual(negotiate(offer, answer), HeartbeatIntervals(*expected), offer)

    def test_broker_answers_other_intervals(self) -> None:
        """
        The broker's answer decides, not what was asked: RabbitMQ answers
        whole seconds (C{500,500} gets C{1000,1000}), and C{100,2000} gets
        C{2000,1000} (it sends every 2 s and wants 1 s).
        """
        self.assertEqual(negotiate((500, 500), "1000,1000"), (1000, 1000))
        self.assertEqual(negotiate((1500, 1500), "1000,1000"), (1500, 1500))
        self.assertEqual(negotiate((100, 2000), "2000,1000"), (1000, 2000))

    def test_spaces_forgiven(self) -> None:
        """
        Spaces around the numbers are accepted.
        """
        self.assertEqual(parse_heartbeat(" 1000 , 2000 "), (1000, 2000))
        self.assertEqual(negotiate((10, 10), "20, 30"), (30, 20))

    def test_malformed_answer(self) -> None:
        """
        A broker header that is not two non-negative integers is a
        L{RemoteProtocolError} naming the value.
        """
        for value in MALFORMED:
            with self.assertRaises(RemoteProtocolError, msg=repr(value)) as caught:
                negotiate((1000, 1000), value)
            self.assertIn(repr(value), str(caught.exception))
            self.assertIn("heart-beat", str(caught.exception))

    def test_absurd_numbers(self) -> None:
        """
        Numbers of thousands of digits (more than C{int()} converts) or
        hundreds (more than a float holds) are a L{RemoteProtocolError}
        whose message does not copy them whole; nothing else is raised.
        """
        for value in ["1" * 5000 + ",0", "9" * 400 + "," + "9" * 400, "0," + "1" * 19]:
            with self.assertRaises(RemoteProtocolError) as caught:
                negotiate((1000, 1000), value)
            self.assertIn("malformed heart-beat header", str(caught.exception))
            self.assertLess(len(str(caught.exception)), 300)

    def test_clamped(self) -> None:
        """
        The broker's intervals are clamped to L{MAX_INTERVAL} (one hour);
        leading zeros are only zeros, however many.
        """
        self.assertEqual(MAX_INTERVAL, 3_600_000)
        self.assertEqual(parse_heartbeat("1" * 18 + ",3600001"), (MAX_INTERVAL, MAX_INTERVAL))
        self.assertEqual(parse_heartbeat("3600000,7"), (MAX_INTERVAL, 7))
        self.assertEqual(parse_heartbeat("0" * 5000 + "1000,0"), (1000, 0))
        self.assertEqual(negotiate((1, 1), "99999999999,99999999999"), (MAX_INTERVAL,) * 2)

    def test_offer_bounded(self) -> None:
        """
        The client's own offer above L{MAX_INTERVAL} is a L{BadArgument}.
        """
        self.assertEqual(check_heartbeat((MAX_INTERVAL, 0)), (MAX_INTERVAL, 0))
        self.assertRaises(BadArgument, check_heartbeat, (MAX_INTERVAL + 1, 0))
        self.assertRaises(BadArgument, check_heartbeat, (0, 10**400))
        self.assertRaises(BadArgument, parse_offer, "3600001,0")
        self.assertRaises(BadArgument, parse_offer, "1" * 5000 + ",0")

    def test_malformed_offer(self) -> None:
        """
        The client's own header, malformed, is a L{BadArgument}.
        """
        self.assertEqual(parse_offer(None), (0, 0))
        self.assertEqual(parse_offer("10,20"), (10, 20))
        for value in MALFORMED:
            self.assertRaises(BadArgument, parse_offer, value)

    def test_bad_settings(self) -> None:
        """
        C{heartbeat} must be two non-negative ints; C{heartbeat_tolerance}
        a finite number of at least 1.
        """
        self.assertEqual(check_heartbeat((0, 0)), (0, 0))
        self.assertEqual(check_heartbeat([10, 20]), (10, 20))
        self.assertEqual(format_heartbeat((10, 20)), "10,20")
        for bad in [
            (-1, 0),
            (0, -5),
            (1.5, 0),
            ("1000", 0),
            (True, 0),
            (None, 0),
            (1000,),
            (1, 2, 3),
            "1000,1000",
            None,
            1000,
        ]:
            self.assertRaises(BadArgument, check_heartbeat, bad)
            self.assertRaises(BadArgument, negotiate, bad, "1000,1000")
        self.assertEqual(check_tolerance(1), 1.0)
        self.assertEqual(check_tolerance(2.5), 2.5)
        for bad_tolerance in [0, 0.5, -1, float("nan"), float("inf"), "2", None, True]:
            self.assertRaises(BadArgument, check_tolerance, bad_tolerance)


class ProtocolTestCase(SynchronousTestCase):
    """
    Makes protocols with heart-beats on a L{Clock}.
    """

    def setUp(self) -> None:
        self.clock = Clock()

    def make(
        self, offer: str | None = "1000,1000", tolerance: float = 2.0
    ) -> tuple[RecordingHandler, StompProtocol, StringTransport]:
        """
        A protocol that offered C{offer}, its CONNECT written and cleared.
        """
        handler = RecordingHandler()
        headers = {"accept-version": "1.2", "host": "/"}
        if offer is not None:
            headers["heart-beat"] = offer
        protocol = StompProtocol(
            handler, Frame("CONNECT", headers), clock=self.clock, heartbeat_tolerance=tolerance
        )
        transport = StringTransport()
        protocol.makeConnection(transport)
        transport.clear()
        return handler, protocol, transport

    def connect(
        self, offer: str | None = "1000,1000", answer: str | None = "1000,1000", **kw: Any
    ) -> tuple[RecordingHandler, StompProtocol, StringTransport]:
        """
        As L{make}, then the broker's CONNECTED with C{heart-beat:answer}.
        """
        handler, protocol, transport = self.make(offer, **kw)
        heartbeat = b"" if answer is None else b"heart-beat:%s\n" % answer.encode()
        protocol.dataReceived(b"CONNECTED\nversion:1.2\n" + heartbeat + b"\n\0")
        self.assertEqual(protocol.version, "1.2")
        return handler, protocol, transport

    def lose(self, protocol: StompProtocol, reason: Exception | None = None) -> None:
        protocol.connectionLost(Failure(reason or ConnectionDone()))

    def assertNoTimers(self) -> None:
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def assertOnlyCloseTimer(self, protocol: StompProtocol) -> None:
        """
        No heart-beat timer is left: only the one that aborts the
        connection if closing it takes longer than C{close_timeout}.
        """
        [call] = self.clock.getDelayedCalls()
        self.assertEqual(call.getTime(), self.clock.seconds() + protocol.close_timeout)


class SendingTests(ProtocolTestCase):
    """
    An EOL goes out whenever nothing was written for the send interval.
    """

    def test_eols_while_idle(self) -> None:
        """
        An idle connection writes one EOL per send interval, on time.
        """
        _handler, protocol, transport = self.connect("1000,0", "0,1000")
        self.assertEqual(protocol.heartbeat, (1000, 0))
        self.clock.advance(0.875)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.125)
        self.assertEqual(transport.value(), b"\n")
        self.clock.advance(0.875)
        self.assertEqual(transport.value(), b"\n")
        self.clock.advance(0.125)
        self.assertEqual(transport.value(), b"\n\n")
        self.clock.pump([1.0] * 8)
        self.assertEqual(transport.value(), b"\n" * 10)

    def test_frame_resets_timer(self) -> None:
        """
        A frame written counts as activity: the next EOL is due a whole
        interval after it, and a busy connection writes none.
        """
        _handler, protocol, transport = self.connect("1000,0", "0,1000")
        self.clock.advance(0.5)
        protocol.send_frame(Frame("SEND", {"destination": "/q/a"}, b"x"))
        transport.clear()
        self.clock.advance(0.75)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.25)
        self.assertEqual(transport.value(), b"\n")
        transport.clear()
        for _ in range(20):
            self.clock.advance(0.5)
            protocol.send_frame(Frame("SEND", {"destination": "/q/a"}, b"x"), receipt=True)
        events = parse_frames(transport.value(), "1.2")
        self.assertEqual([type(event) for event in events], [Frame] * 20)
        transport.clear()
        self.clock.advance(1.0)
        self.assertEqual(transport.value(), b"\n")

    def test_broker_interval_wins(self) -> None:
        """
        The send interval is the broker's when it wants them less often.
        """
        _handler, _protocol, transport = self.connect("500,0", "0,2000")
        self.clock.advance(1.5)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(0.5)
        self.assertEqual(transport.value(), b"\n")

    def test_none_without_agreement(self) -> None:
        """
        No EOLs when the broker wants none, when the client offers none,
        or when the broker sends no heart-beat header: no timers at all.
        """
        for offer, answer in [
            ("1000,1000", "0,0"),
            ("1000,1000", None),
            ("0,0", "1000,1000"),
            (None, "1000,1000"),
            ("0,1000", "0,1000"),
        ]:
            _handler, protocol, transport = self.connect(offer, answer)
            self.assertEqual(protocol.heartbeat, (0, 0))
            self.assertNoTimers()
            self.clock.advance(100)
            self.assertEqual(transport.value(), b"")
            self.assertFalse(transport.disconnecting)
            self.lose(protocol)

    def test_start_only_after_connected(self) -> None:
        """
        Nothing is scheduled and nothing written before CONNECTED, however
        long it takes (the client's connect timeout covers that).
        """
        _handler, protocol, transport = self.make("1000,1000")
        self.assertIsNone(protocol.heartbeat)
        self.assertNoTimers()
        self.clock.advance(60)
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"CONNECTED\nversion:1.2\nheart-beat:1000,1000\n\n\0")
        self.assertEqual(len(self.clock.getDelayedCalls()), 2)
        self.clock.advance(1.0)
        self.assertEqual(transport.value(), b"\n")

    def test_nothing_after_close(self) -> None:
        """
        Once the protocol closes, it writes no more EOLs and has no timer
        left, even before the transport reports the loss.
        """
        _handler, protocol, transport = self.connect()
        protocol.close()
        self.assertOnlyCloseTimer(protocol)
        self.clock.advance(1)
        self.assertEqual(transport.value(), b"")
        self.lose(protocol)
        self.assertNoTimers()


class ReceivingTests(ProtocolTestCase):
    """
    Silence for the receive interval times the tolerance kills the
    connection with L{HeartbeatTimeout}; anything received keeps it alive.
    """

    def assertAlive(self, protocol: StompProtocol, transport: StringTransport) -> None:
        self.assertFalse(transport.disconnecting)
        self.assertTrue(protocol.is_stomp_connected)

    def assertDead(
        self, handler: RecordingHandler, protocol: StompProtocol, transport: StringTransport
    ) -> HeartbeatTimeout:
        self.assertTrue(transport.disconnecting)
        # Aborted: a dead peer may never read what is buffered for it.
        self.assertTrue(transport.disconnected)
        self.assertFalse(protocol.is_stomp_connected)
        self.assertNoTimers()
        self.lose(protocol, ConnectionAborted())
        self.assertNoTimers()
        [(_reason, error)] = handler.lost
        assert isinstance(error, HeartbeatTimeout)
        self.assertIsInstance(error, ConnectionLost)
        return error

    def test_dead_exactly_at_timeout(self) -> None:
        """
        With a 1000 ms interval and tolerance 2, the broker is alive after
        1.875 s of silence and dead at 2 s.
        """
        handler, protocol, transport = self.connect("0,1000", "1000,0")
        self.assertEqual(protocol.heartbeat, (0, 1000))
        self.clock.advance(1.875)
        self.assertAlive(protocol, transport)
        self.clock.advance(0.125)
        error = self.assertDead(handler, protocol, transport)
        self.assertIn("2 s", str(error))
        self.assertIn("1000 ms", str(error))
        self.assertEqual(transport.value(), b"")

    def test_tolerance(self) -> None:
        """
        The timeout is the negotiated interval (here the broker's 2000 ms,
        more than the 1000 ms asked) times the tolerance.
        """
        handler, protocol, transport = self.connect("0,1000", "2000,0", tolerance=1.5)
        self.assertEqual(protocol.heartbeat, (0, 2000))
        self.clock.advance(2.75)
        self.assertAlive(protocol, transport)
        self.clock.advance(0.25)
        self.assertDead(handler, protocol, transport)

    def test_frames_keep_alive(self) -> None:
        """
        A frame received restarts the timeout.
        """
        handler, protocol, transport = self.connect("0,1000", "1000,0")
        for n in range(10):
            self.clock.advance(1.5)
            protocol.dataReceived(message(n))
        self.assertAlive(protocol, transport)
        self.assertEqual(len(handler.frames), 10)
        self.clock.advance(1.875)
        self.assertAlive(protocol, transport)
        self.clock.advance(0.125)
        self.assertDead(handler, protocol, transport)

    def test_eols_keep_alive(self) -> None:
        """
        Heart-beat EOLs (LF or CRLF) restart the timeout.
        """
        handler, protocol, transport = self.connect("0,1000", "1000,0")
        for eol in [b"\n", b"\r\n"] * 10:
            self.clock.advance(1.75)
            protocol.dataReceived(eol)
        self.assertAlive(protocol, transport)
        self.assertEqual(handler.heartbeats, 20)
        self.clock.advance(2.0)
        self.assertDead(handler, protocol, transport)

    def test_any_bytes_keep_alive(self) -> None:
        """
        Part of a frame, say a large body still arriving, counts too.
        """
        handler, protocol, transport = self.connect("0,1000", "1000,0")
        frame = message(1, b"x" * 100)
        for byte in frame:
            self.clock.advance(1.5)
            protocol.dataReceived(bytes([byte]))
            self.assertAlive(protocol, transport)
        self.assertEqual(len(handler.frames), 1)
        self.assertEqual(self.clock.seconds(), 1.5 * len(frame))

    def test_writing_does_not_keep_alive(self) -> None:
        """
        What the client writes says nothing of the broker.
        """
        handler, protocol, transport = self.connect("1000,1000", "1000,1000")
        self.clock.advance(1.0)
        protocol.send_frame(Frame("SEND", {"destination": "/q/a"}))
        self.clock.advance(1.0)
        self.assertDead(handler, protocol, transport)
        self.assertIn(b"SEND", transport.value())

    def test_paused_is_not_silence(self) -> None:
        """
        While the protocol does not read (flow control), the broker cannot
        be heard; after resuming it gets a whole timeout again.
        """
        handler, protocol, transport = self.connect("0,1000", "1000,0")
        self.clock.advance(1.5)
        protocol.pauseProducing()
        self.clock.advance(60)
        self.assertAlive(protocol, transport)
        protocol.resumeProducing()
        self.clock.advance(1.875)
        self.assertAlive(protocol, transport)
        self.clock.advance(0.125)
        self.assertDead(handler, protocol, transport)

    def test_sending_and_receiving(self) -> None:
        """
        Both timers run together: EOLs go out every second while the
        broker's keep the connection up.
        """
        _handler, protocol, transport = self.connect("1000,1000", "1000,1000")
        for _ in range(30):
            self.clock.advance(0.5)
            protocol.dataReceived(b"\n")
        self.assertAlive(protocol, transport)
        self.assertEqual(transport.value(), b"\n" * 15)
        self.lose(protocol)
        self.assertNoTimers()

    def test_connection_lost_stops_timers(self) -> None:
        """
        No timer outlives its connection, however it ends.
        """
        for reason in [ConnectionDone(), ConnectionAborted()]:
            handler, protocol, transport = self.connect()
            self.assertEqual(len(self.clock.getDelayedCalls()), 2)
            self.clock.advance(0.5)
            self.lose(protocol, reason)
            self.assertNoTimers()
            self.clock.advance(10)
            self.assertEqual(transport.value(), b"")
            [(_, error)] = handler.lost
            self.assertIsNone(error)

    def test_broker_error_stops_timers(self) -> None:
        """
        An ERROR closes the connection, and the timers with it.
        """
        _handler, protocol, transport = self.connect()
        protocol.dataReceived(b"ERROR\nmessage:bye\n\n\0")
        self.assertTrue(transport.disconnecting)
        self.assertOnlyCloseTimer(protocol)
        self.lose(protocol)
        self.assertNoTimers()

    def test_malformed_answer_fails_handshake(self) -> None:
        """
        A malformed heart-beat in CONNECTED closes the connection with a
        L{RemoteProtocolError}; the handshake did not succeed.
        """
        handler, protocol, transport = self.make("1000,1000")
        protocol.dataReceived(b"CONNECTED\nversion:1.2\nheart-beat:soon\n\n\0")
        self.assertIsNone(protocol.version)
        self.assertTrue(transport.disconnecting)
        self.assertOnlyCloseTimer(protocol)
        self.lose(protocol)
        self.assertNoTimers()
        [(_, error)] = handler.lost
        self.assertIsInstance(error, RemoteProtocolError)
        self.assertIn("'soon'", str(error))
        self.assertNotIn("connected", [kind for kind, _ in handler.events])

    def test_absurd_answer_fails_handshake(self) -> None:
        """
        A heart-beat of 5,000 digits fails the handshake before the
        version is set: the layer above sees a failed attempt, not a lost
        session, and no timer is started.
        """
        handler, protocol, transport = self.make("1000,1000")
        protocol.dataReceived(b"CONNECTED\nversion:1.2\nheart-beat:" + b"7" * 5000 + b",0\n\n\0")
        self.assertIsNone(protocol.version)
        self.assertIsNone(protocol.heartbeat)
        self.assertTrue(transport.disconnecting)
        self.assertOnlyCloseTimer(protocol)
        self.lose(protocol)
        [(_, error)] = handler.lost
        self.assertIsInstance(error, RemoteProtocolError)
        self.assertNotIn("connected", [kind for kind, _ in handler.events])

    def test_long_answer_clamped(self) -> None:
        """
        A long but well-formed interval runs the timers at one hour.
        """
        _handler, protocol, transport = self.connect(answer="99999999999,99999999999")
        self.assertEqual(protocol.heartbeat, (MAX_INTERVAL, MAX_INTERVAL))
        self.clock.advance(MAX_INTERVAL / 1000)
        self.assertEqual(transport.value(), b"\n")
        self.assertFalse(transport.disconnecting)

    def test_needs_clock(self) -> None:
        """
        A CONNECT offering heart-beats needs a clock; a malformed offer and
        a bad tolerance are refused at once.
        """
        handler = RecordingHandler()
        offer = Frame("CONNECT", {"heart-beat": "1000,0"})
        self.assertRaises(BadArgument, StompProtocol, handler, offer)
        StompProtocol(handler, Frame("CONNECT", {"heart-beat": "0,0"}))
        bad = Frame("CONNECT", {"heart-beat": "1000"})
        self.assertRaises(BadArgument, StompProtocol, handler, bad, clock=self.clock)
        self.assertRaises(
            BadArgument, StompProtocol, handler, offer, clock=self.clock, heartbeat_tolerance=0.5
        )


class ClientTests(SynchronousTestCase):
    """
    L{StompClient}'s C{heartbeat} and C{heartbeat_tolerance} options.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def make_client(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reactor", self.clock)
        kwargs.setdefault("reconnect", None)
        return StompClient(self.endpoint, **kwargs)

    def connect_header(self, **kwargs: Any) -> str:
        client = self.make_client(**kwargs)
        client.start()
        connect = self.endpoint.last.sent_one()
        self.assertEqual(connect.command, "CONNECT")
        client.disconnect()
        return connect.headers["heart-beat"]

    def test_offer(self) -> None:
        """
        C{heart-beat} is C{0,0} unless asked, and C{connect_headers} can
        still override it.
        """
        self.assertEqual(self.connect_header(), "0,0")
        self.assertEqual(self.connect_header(heartbeat=(1000, 2000)), "1000,2000")
        self.assertEqual(
            self.connect_header(heartbeat=(1000, 2000), connect_headers={"heart-beat": "5,6"}),
            "5,6",
        )

    def test_bad_options(self) -> None:
        """
        Bad heart-beat options are refused when the client is made.
        """
        for kwargs in [
            {"heartbeat": (-1, 0)},
            {"heartbeat": (1.5, 0)},
            {"heartbeat": "1000,1000"},
            {"heartbeat": (1000,)},
            {"heartbeat_tolerance": 0.5},
            {"heartbeat_tolerance": "2"},
            {"connect_headers": {"heart-beat": "often"}},
        ]:
            self.assertRaises(BadArgument, self.make_client, **kwargs)

    def test_header_sent_is_negotiated(self) -> None:
        """
        When C{connect_headers} replaces the offer, the negotiation uses
        the header actually sent.
        """
        client = self.make_client(heartbeat=(0, 0), connect_headers={"heart-beat": "1000,0"})
        client.start()
        conn = self.endpoint.last
        conn.sent()
        conn.connected("1.2", **{"heart-beat": "0,1000"})
        self.assertTrue(client.is_connected)
        self.assertEqual(conn.protocol.heartbeat, (1000, 0))
        self.clock.advance(1.0)
        self.assertEqual(conn.transport.value(), b"\n")

    def test_default_no_heartbeats(self) -> None:
        """
        By default nothing is negotiated, whatever the broker says.
        """
        client = self.make_client()
        client.start()
        conn = self.endpoint.last
        conn.sent()
        conn.connected("1.2", **{"heart-beat": "1000,1000"})
        self.assertEqual(conn.protocol.heartbeat, (0, 0))
        self.clock.advance(100)
        self.assertEqual(conn.transport.value(), b"")
        self.assertTrue(client.is_connected)

    def test_default_tolerance(self) -> None:
        """
        By default the broker is dead after three of its intervals of
        silence.
        """
        client = self.make_client(heartbeat=(0, 1000))
        client.start()
        conn = self.endpoint.last
        conn.connected("1.2", **{"heart-beat": "1000,0"})
        self.clock.advance(2.875)
        self.assertFalse(conn.closed_by_client)
        self.clock.advance(0.125)
        self.assertTrue(conn.closed_by_client)
        conn.lose(ConnectionAborted())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_dead_broker_reconnects(self) -> None:
        """
        A silent broker is dropped after interval x tolerance:
        C{connection_lost} gets the L{HeartbeatTimeout}, C{io_error} and
        C{disconnect} fire, and the client reconnects.
        """
        client = self.make_client(
            heartbeat=(1000, 1000),
            heartbeat_tolerance=3.0,
            reconnect=ReconnectPolicy(initial_delay=0.5, jitter=0),
        )
        events: list[tuple[str, object]] = []
        client.reg_cb("io_error", lambda c, message: events.append(("io_error", message)))
        client.reg_cb("disconnect", lambda c, reason: events.append(("disconnect", reason)))
        client.reg_cb("CONNECTED", lambda c, body, headers: events.append(("CONNECTED", None)))
        errors: list[StompError | None] = []
        original = client.factory._handler.connection_lost

        def connection_lost(
            protocol: StompProtocol, reason: Failure, error: StompError | None
        ) -> None:
            errors.append(error)
            original(protocol, reason, error)

        client.factory._handler.connection_lost = connection_lost  # type: ignore[method-assign]
        client.start()
        first = self.endpoint.last
        first.sent()
        first.connected("1.2", **{"heart-beat": "1000,1000"})
        self.clock.advance(2.5)
        self.assertFalse(first.closed_by_client)
        self.clock.advance(0.5)
        self.assertTrue(first.closed_by_client)
        self.assertFalse(client.is_connected)
        first.lose(ConnectionAborted())
        [error] = errors
        self.assertIsInstance(error, HeartbeatTimeout)
        names = [name for name, _ in events]
        self.assertEqual(names, ["CONNECTED", "io_error", "disconnect"])
        self.assertIn("presumed dead", str(events[1][1]))
        self.assertEqual(events[1][1], events[2][1])
        self.assertEqual(self.endpoint.attempts, 1)
        self.clock.advance(0.5)
        self.assertEqual(self.endpoint.attempts, 2)
        second = self.endpoint.last
        self.assertEqual(second.sent_one().headers["heart-beat"], "1000,1000")
        second.connected("1.2", **{"heart-beat": "1000,1000"})
        self.assertTrue(client.is_connected)
        self.assertEqual([*names, "CONNECTED"], [name for name, _ in events])
        client.disconnect()
        second.lose()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ClientVisibilityTests(SynchronousTestCase):
    """
    What a client's user can see of heart-beats.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.client = StompClient(
            self.endpoint, reactor=self.clock, reconnect=None, heartbeat=(1000, 2000)
        )
        self.client.start()

    def test_negotiated_intervals(self) -> None:
        """
        L{StompClient.heartbeat} gives the intervals negotiated on the
        current connection, and C{None} while not connected.
        """
        self.assertIsNone(self.client.heartbeat)
        self.endpoint.last.connected("1.2", **{"heart-beat": "500,3000"})
        intervals = self.client.heartbeat
        assert intervals is not None
        self.assertEqual((intervals.send, intervals.receive), (3000, 2000))
        self.endpoint.last.lose()
        self.assertIsNone(self.client.heartbeat)

    def test_heartbeat_event(self) -> None:
        """
        Each EOL from the broker fires the C{heartbeat} event.
        """
        seen: list[object] = []
        self.client.reg_cb("heartbeat", seen.append)
        self.endpoint.last.connected("1.2", **{"heart-beat": "500,3000"})
        self.endpoint.last.protocol.dataReceived(b"\n\r\n")
        self.assertEqual(seen, [self.client, self.client])
