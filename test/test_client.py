"""
Tests for L{stomp_twisted.client}: L{StompClient} and L{connect}, over the
in-memory endpoint of L{test.fakes} and a L{Clock}, so that every frame the
client writes is checked and every timeout is driven by hand.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

import stomp_twisted
from stomp_twisted import endpoints
from stomp_twisted.client import DEFAULT_RECEIPT_TIMEOUT, StompClient, Subscription, Transaction
from stomp_twisted.errors import (
    AckError,
    BadArgument,
    BrokerError,
    ClientClosed,
    ConnectionLost,
    NotConnected,
    ReceiptTimeout,
    TransactionAborted,
    UnrepresentableHeader,
)
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.frame import Frame
from stomp_twisted.redelivery import DEFAULT_REDELIVERY

from .fakes import FakeConnection, FakeEndpoint

ALL_VERSIONS = ("1.0", "1.1", "1.2")


class Boom(Exception):
    """
    What the failing callbacks of these tests raise.
    """


class Recorder:
    """
    Makes observers that append C{(name, arguments-after-client)} to one
    shared list, so that tests can check which ran, in which order and
    with what.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def __call__(self, name: str, result: object = None) -> Any:
        def callback(client: StompClient, *args: object) -> object:
            self.calls.append((name, args))
            return result

        return callback

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def args(self, name: str) -> list[tuple[object, ...]]:
        return [args for called, args in self.calls if called == name]


def message_headers(
    n: int, version: str = "1.2", subscription: str | None = "sub-1", destination: str = "/q/a"
) -> dict[str, str]:
    """
    The headers of the C{n}th MESSAGE a broker of C{version} would send:
    an C{ack} header only under 1.2, a C{subscription} header unless
    C{None} (a 1.0 broker may leave it out).
    """
    headers = {"destination": destination, "message-id": f"m-{n}"}
    if subscription is not None:
        headers["subscription"] = subscription
    if version == "1.2":
        headers["ack"] = f"a-{n}"
    return headers


class ClientTestCase(SynchronousTestCase):
    """
    Makes clients on a L{FakeEndpoint} and a L{Clock}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def make_client(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reactor", self.clock)
        # These tests are about one connection; reconnection has its own.
        kwargs.setdefault("reconnect", None)
        return StompClient(self.endpoint, **kwargs)

    def connect_client(
        self, version: str | None = "1.2", **kwargs: Any
    ) -> tuple[StompClient, FakeConnection]:
        """
        A started client past CONNECTED, the CONNECT frame already read.
        """
        client = self.make_client(**kwargs)
        client.start()
        conn = self.endpoint.last
        self.assertEqual(conn.sent_one().command, "CONNECT")
        conn.connected(version)
        return client, conn

    def subscribed(
        self,
        client: StompClient,
        conn: FakeConnection,
        callback: Any = None,
        ack: Any = None,
        destination: str = "/q/a",
    ) -> Subscription:
        """
        Subscribe without a receipt and read the SUBSCRIBE frame.
        """
        subscription = self.successResultOf(
            client.subscribe(destination, callback, ack=ack, receipt=False)
        )
        self.assertEqual(conn.sent_one().command, "SUBSCRIBE")
        return subscription


class ConnectFrameTests(ClientTestCase):
    """
    The CONNECT frame the client writes as soon as it is connected.
    """

    def test_default_headers(self) -> None:
        """
        By default CONNECT offers every version, names the virtual host
        C{/}, asks for no heart-beats and carries no credentials.
        """
        client = self.make_client()
        self.assertEqual(self.endpoint.attempts, 0)
        client.start()
        self.assertEqual(self.endpoint.attempts, 1)
        self.assertEqual(
            self.endpoint.last.sent(),
            [Frame("CONNECT", {"accept-version": "1.0,1.1,1.2", "host": "/", "heart-beat": "0,0"})],
        )
        self.assertFalse(client.is_connected)
        self.assertIsNone(client.version)

    def test_login_passcode_vhost(self) -> None:
        """
        C{login}, C{passcode} and C{vhost} become the C{login},
        C{passcode} and C{host} headers.
        """
        self.make_client(login="guest", passcode="s3cret", vhost="/prod").start()
        headers = self.endpoint.last.sent_one().headers
        self.assertEqual(headers["login"], "guest")
        self.assertEqual(headers["passcode"], "s3cret")
        self.assertEqual(headers["host"], "/prod")

    def test_connect_headers_override(self) -> None:
        """
        C{connect_headers} are added to CONNECT and override the headers
        the client writes itself, credentials included.
        """
        self.make_client(
            login="guest",
            connect_headers={
                "host": "other-vhost",
                "accept-version": "1.1",
                "login": "admin",
                "x-client": "tests",
                "x-number": 7,
            },
        ).start()
        self.assertEqual(
            self.endpoint.last.sent_one().headers,
            {
                "accept-version": "1.1",
                "host": "other-vhost",
                "heart-beat": "0,0",
                "login": "admin",
                "x-client": "tests",
                "x-number": "7",
            },
        )

    def test_versions_limit_accept_version(self) -> None:
        """
        C{versions} is what C{accept-version} offers.
        """
        self.make_client(versions=["1.1", "1.2"]).start()
        self.assertEqual(self.endpoint.last.sent_one().headers["accept-version"], "1.1,1.2")

    def test_bad_versions(self) -> None:
        """
        An unknown version, or none at all, is refused when the client is
        made.
        """
        self.assertRaises(BadArgument, self.make_client, versions=["1.2", "2.0"])
        self.assertRaises(BadArgument, self.make_client, versions=[])

    def test_bad_connect_headers(self) -> None:
        """
        A C{None} header value, or headers that are not a mapping, are
        refused when the client is made.
        """
        self.assertRaises(BadArgument, self.make_client, connect_headers={"login": None})
        self.assertRaises(BadArgument, self.make_client, connect_headers=[("login", "x")])


class NegotiationTests(ClientTestCase):
    """
    The version the broker's CONNECTED chooses, and L{when_connected}.
    """

    def test_versions(self) -> None:
        """
        CONNECTED's C{version} header is the session's version; without
        one the broker speaks 1.0.  L{when_connected} fires with the
        client.
        """
        for announced, expected in [("1.2", "1.2"), ("1.1", "1.1"), ("1.0", "1.0"), (None, "1.0")]:
            client = self.make_client()
            waiting = client.when_connected()
            client.start()
            self.assertNoResult(waiting)
            self.endpoint.last.connected(announced)
            self.assertEqual(client.version, expected)
            self.assertTrue(client.is_connected)
            self.assertIs(self.successResultOf(waiting), client)

    def test_when_connected_at_once(self) -> None:
        """
        Once connected, L{when_connected} has already fired.
        """
        client, _ = self.connect_client()
        self.assertIs(self.successResultOf(client.when_connected()), client)

    def test_version_not_offered(self) -> None:
        """
        A version the client did not offer is a protocol error: the client
        closes the connection, reports C{io_error}, and L{when_connected}
        fails with L{NotConnected}.
        """
        client = self.make_client(versions=["1.0", "1.1"])
        recorder = Recorder()
        client.reg_cb("io_error", recorder("io_error"))
        client.reg_cb("CONNECTED", recorder("CONNECTED"))
        waiting = client.when_connected()
        client.start()
        conn = self.endpoint.last
        conn.connected("1.2")
        self.assertTrue(conn.closed_by_client)
        self.assertIsNone(client.version)
        self.assertNoResult(waiting)
        conn.lose()
        self.failureResultOf(waiting, NotConnected)
        self.assertEqual(recorder.names(), ["io_error"])
        [(why,)] = recorder.args("io_error")
        self.assertIn("1.2", str(why))

    def test_connected_callback_sees_client_state(self) -> None:
        """
        A user's CONNECTED callback runs after the client's own handling:
        the version is set and L{when_connected} has already fired.
        """
        client = self.make_client()
        waiting = client.when_connected()
        seen: list[tuple[str | None, bool, bool]] = []
        client.reg_cb(
            "CONNECTED",
            lambda c, body, headers: seen.append((c.version, c.is_connected, waiting.called)),
        )
        client.start()
        self.assertEqual(seen, [])
        self.endpoint.last.connected("1.1", server="fake/1")
        self.assertEqual(seen, [("1.1", True, True)])

    def test_event_order(self) -> None:
        """
        As in AnyEvent::STOMP: C{prepare} fires with the connection's
        protocol (its handle) before anything is written on it, C{connect}
        once CONNECT is written, with the protocol, the broker's host and
        port and a C{retry} callable; then C{CONNECTED} and C{frame} for
        the broker's answer, with its body and headers.
        """
        client = self.make_client()
        recorder = Recorder()
        written: list[bytes] = []
        client.reg_cb(
            "prepare",
            lambda c, protocol: written.append(
                b"" if protocol.transport is None else protocol.transport.value()
            ),
        )
        for event in ("prepare", "connect", "frame", "CONNECTED"):
            client.reg_cb(event, recorder(event))
        client.start()
        self.assertEqual(written, [b""])
        self.assertEqual(recorder.names(), ["prepare", "connect"])
        protocol = self.endpoint.last.protocol
        [(prepared,)] = recorder.args("prepare")
        self.assertIs(prepared, protocol)
        [(connected, host, port, retry)] = recorder.args("connect")
        self.assertIs(connected, protocol)
        self.assertEqual((host, port), ("127.0.0.1", 61613))
        self.assertTrue(callable(retry))
        self.endpoint.last.connected("1.2", session="s-1")
        self.assertEqual(recorder.names(), ["prepare", "connect", "CONNECTED", "frame"])
        headers = {"session": "s-1", "version": "1.2"}
        self.assertEqual(recorder.args("frame"), [("CONNECTED", b"", headers)])
        self.assertEqual(recorder.args("CONNECTED"), [(b"", headers)])

    def test_connect_retry_moves_on(self) -> None:
        """
        The C{retry} that C{connect} passes drops the connection and makes
        the next attempt, as a failed one.
        """
        client = self.make_client(reconnect=ReconnectPolicy(jitter=0))
        retries: list[Any] = []
        client.reg_cb("connect", lambda c, protocol, host, port, retry: retries.append(retry))
        client.start()
        first = self.endpoint.last
        retries[0]()
        self.assertTrue(first.closed_by_client)
        first.lose()
        self.clock.advance(10)
        self.assertEqual(self.endpoint.attempts, 2)


class ConnectErrorTests(ClientTestCase):
    """
    Connections that never reach CONNECTED.
    """

    def test_refused_endpoint(self) -> None:
        """
        If the endpoint cannot connect, C{connect_error} fires with a
        message and L{when_connected} fails with L{NotConnected}, whether
        it was called before or after the attempt failed.
        """
        self.endpoint.refuse = ConnectionRefusedError("nobody home")
        client = self.make_client()
        recorder = Recorder()
        client.reg_cb("connect_error", recorder("connect_error"))
        before = client.when_connected()
        client.start()
        self.failureResultOf(before, NotConnected)
        self.failureResultOf(client.when_connected(), NotConnected)
        [(message,)] = recorder.args("connect_error")
        self.assertIn("nobody home", str(message))
        self.assertEqual(self.endpoint.connections, [])

    def test_start_again_after_refusal(self) -> None:
        """
        A new attempt (L{start} again) forgets the failed one:
        L{when_connected} waits for it and fires once it is CONNECTED.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.make_client()
        client.start()
        self.failureResultOf(client.when_connected(), NotConnected)
        self.endpoint.refuse = None
        client.start()
        waiting = client.when_connected()
        self.assertNoResult(waiting)
        self.endpoint.last.connected("1.2")
        self.assertIs(self.successResultOf(waiting), client)

    def test_error_before_connected(self) -> None:
        """
        An ERROR instead of CONNECTED (bad credentials) fires C{ERROR};
        the client closes the transport itself rather than wait for the
        broker to, and once the connection is gone the attempt has failed:
        C{connect_error} says why, and without reconnection
        L{when_connected} fails with L{NotConnected}.
        """
        client = self.make_client(login="guest", passcode="wrong")
        recorder = Recorder()
        for event in ("ERROR", "connect_error", "io_error", "disconnect"):
            client.reg_cb(event, recorder(event))
        waiting = client.when_connected()
        client.start()
        conn = self.endpoint.last
        conn.sent()
        conn.receive("ERROR", {"message": "Access refused"}, b"Login failed")
        self.assertTrue(conn.closed_by_client)
        self.assertEqual(recorder.names(), ["ERROR"])
        self.assertEqual(
            recorder.args("ERROR"),
            [(b"Login failed", {"message": "Access refused", "content-length": "12"})],
        )
        # Whoever waited learns of the refusal at once, before the broker
        # closes the socket (RabbitMQ waits seconds), with its reason.
        failure = self.failureResultOf(waiting, BrokerError)
        self.assertIn("Access refused", str(failure.value))
        conn.lose()
        [(message,)] = recorder.args("connect_error")
        self.assertIn("Access refused", str(message))
        self.failureResultOf(client.when_connected(), NotConnected)
        self.assertEqual(recorder.names(), ["ERROR", "connect_error", "disconnect"])
        self.assertEqual(conn.sent(), [])
        self.assertIsNone(client.version)

    def test_lost_before_connected(self) -> None:
        """
        A connection lost before CONNECTED is a failed attempt: without
        reconnection it fails L{when_connected} with L{NotConnected},
        reports C{connect_error}, then C{disconnect} as the client gives
        up; it is no C{io_error}, which is for established connections.
        """
        client = self.make_client()
        recorder = Recorder()
        for event in ("connect_error", "io_error", "disconnect"):
            client.reg_cb(event, recorder(event))
        waiting = client.when_connected()
        client.start()
        self.endpoint.last.lose(TCPConnectionLost("reset"))
        self.failureResultOf(waiting, NotConnected)
        self.failureResultOf(client.when_connected(), NotConnected)
        self.assertEqual(recorder.names(), ["connect_error", "disconnect"])


class SendTests(ClientTestCase):
    """
    L{StompClient.send} and L{StompClient.send_frame}.
    """

    def test_send_fires_on_receipt(self) -> None:
        """
        SEND carries the destination, the extra headers (ints as text), a
        receipt and the body; its Deferred fires with the RECEIPT frame,
        not before.
        """
        client, conn = self.connect_client()
        sending = client.send(b"hello", "/queue/a", {"x-tag": "t", "priority": 5})
        self.assertEqual(
            conn.sent(),
            [
                Frame(
                    "SEND",
                    {
                        "x-tag": "t",
                        "priority": "5",
                        "destination": "/queue/a",
                        "receipt": "r-1",
                        "content-length": "5",
                    },
                    b"hello",
                )
            ],
        )
        self.assertNoResult(sending)
        conn.receipt("r-1")
        self.assertEqual(self.successResultOf(sending), Frame("RECEIPT", {"receipt-id": "r-1"}))

    def test_send_text_body(self) -> None:
        """
        A str body is sent as UTF-8; bytearray and memoryview as bytes.
        """
        client, conn = self.connect_client()
        client.send("na\u00efve \u2603", "/q", receipt=False)
        client.send(bytearray(b"ba"), "/q", receipt=False)
        client.send(memoryview(b"mv"), "/q", receipt=False)
        self.assertEqual(
            [frame.body for frame in conn.sent()],
            ["na\u00efve \u2603".encode(), b"ba", b"mv"],
        )

    def test_send_without_receipt(self) -> None:
        """
        With C{receipt=False} no C{receipt} header is written and the
        Deferred fires with C{None} at once.
        """
        client, conn = self.connect_client()
        self.assertIsNone(self.successResultOf(client.send(b"x", "/q", receipt=False)))
        self.assertNotIn("receipt", conn.sent_one().headers)
        self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_pipelined_receipts_out_of_order(self) -> None:
        """
        Several requests in flight each fire on their own receipt, in
        whatever order the receipts come.
        """
        client, conn = self.connect_client()
        sends = [client.send(f"m{n}", "/q") for n in range(3)]
        self.assertEqual([frame.headers["receipt"] for frame in conn.sent()], ["r-1", "r-2", "r-3"])
        conn.receipt("r-3")
        self.assertNoResult(sends[0])
        self.assertNoResult(sends[1])
        self.assertEqual(self.successResultOf(sends[2]).headers["receipt-id"], "r-3")
        conn.receipt("r-1")
        self.assertEqual(self.successResultOf(sends[0]).headers["receipt-id"], "r-1")
        self.assertNoResult(sends[1])
        conn.receipt("r-2")
        self.assertEqual(self.successResultOf(sends[1]).headers["receipt-id"], "r-2")
        self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_send_frame(self) -> None:
        """
        L{send_frame} writes any command with the given headers and body.
        """
        client, conn = self.connect_client()
        sending = client.send_frame("SEND", "body", {"destination": "/q", "n": 1})
        self.assertEqual(
            conn.sent(),
            [
                Frame(
                    "SEND",
                    {"destination": "/q", "n": "1", "receipt": "r-1", "content-length": "4"},
                    b"body",
                )
            ],
        )
        conn.receipt("r-1")
        self.assertEqual(self.successResultOf(sending).command, "RECEIPT")
        self.assertIsNone(self.successResultOf(client.send_frame("BEGIN", receipt=False)))
        self.assertEqual(conn.sent(), [Frame("BEGIN")])

    def test_send_frame_bad_command(self) -> None:
        """
        A command that is not an upper-case word is refused before
        anything is written.
        """
        client, conn = self.connect_client()
        for command in ("send", "SEND\nX", "", 42):
            self.assertRaises(BadArgument, client.send_frame, command)
        self.assertEqual(conn.sent(), [])

    def test_bad_body(self) -> None:
        """
        A body that is neither bytes nor text raises L{BadArgument} at the
        call, and nothing is written.
        """
        client, conn = self.connect_client()
        for body in (42, None, ["x"], {"a": "b"}):
            self.assertRaises(BadArgument, client.send, body, "/q")
            self.assertRaises(BadArgument, client.send_frame, "SEND", body)
        self.assertEqual(conn.sent(), [])
        self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_bad_destination(self) -> None:
        """
        An empty or non-text destination raises L{BadArgument}.
        """
        client, conn = self.connect_client()
        self.assertRaises(BadArgument, client.send, b"x", "")
        self.assertRaises(BadArgument, client.send, b"x", None)
        self.assertEqual(conn.sent(), [])

    def test_header_value_none(self) -> None:
        """
        A header whose value is C{None} (or not text) raises
        L{BadArgument}, and nothing is written.
        """
        client, conn = self.connect_client()
        self.assertRaises(BadArgument, client.send, b"x", "/q", {"x-a": None})
        self.assertRaises(BadArgument, client.send, b"x", "/q", {"x-a": 1.5})
        self.assertRaises(BadArgument, client.send, b"x", "/q", {"x-a": True})
        self.assertRaises(BadArgument, client.send, b"x", "/q", {1: "x"})
        self.assertRaises(BadArgument, client.send, b"x", "/q", [("x-a", "b")])
        self.assertEqual(conn.sent(), [])

    def test_newline_in_header_under_10(self) -> None:
        """
        Under STOMP 1.0 a newline cannot be written in a header: it raises
        L{UnrepresentableHeader} and nothing is written.
        """
        client, conn = self.connect_client("1.0")
        self.assertRaises(UnrepresentableHeader, client.send, b"x", "/q", {"x-a": "one\ntwo"})
        self.assertRaises(UnrepresentableHeader, client.send, b"x", "/q\n", receipt=False)
        self.assertEqual(conn.sent(), [])
        self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_newline_in_header_escaped_after_10(self) -> None:
        """
        Under STOMP 1.1 and 1.2 a newline (and a colon) in a header is
        escaped, and reads back unchanged.
        """
        for version in ("1.1", "1.2"):
            client, conn = self.connect_client(version)
            client.send(b"x", "/q", {"x-a": "one\ntwo:three"}, receipt=False)
            self.assertEqual(conn.sent_one().headers["x-a"], "one\ntwo:three")

    def test_nul_in_header(self) -> None:
        """
        A NUL in a header name or value cannot be written in any version:
        L{UnrepresentableHeader}, nothing written.
        """
        for version in ALL_VERSIONS:
            client, conn = self.connect_client(version)
            self.assertRaises(UnrepresentableHeader, client.send, b"x", "/q", {"x-a": "a\0b"})
            self.assertRaises(UnrepresentableHeader, client.send, b"x", "/q", {"x\0a": "b"})
            self.assertRaises(UnrepresentableHeader, client.send, b"x", "/q\0", receipt=False)
            self.assertEqual(conn.sent(), [])
            self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_send_before_first_connected(self) -> None:
        """
        Before the first CONNECTED, L{send} and L{send_frame} write
        nothing: the frames wait for CONNECTED, as AnyEvent::STOMP buffers
        them, and their Deferreds fire on their receipts.
        """
        client = self.make_client()
        early = client.send(b"x", "/q")
        client.start()
        conn = self.endpoint.last
        conn.sent()
        framed = client.send_frame("SEND", b"y", {"destination": "/q"})
        self.assertEqual(conn.sent(), [])
        conn.connected("1.2")
        frames = conn.sent()
        self.assertEqual([frame.body for frame in frames], [b"x", b"y"])
        self.assertNoResult(early)
        for frame in frames:
            conn.receipt(frame.headers["receipt"])
        self.successResultOf(early)
        self.successResultOf(framed)

    def test_send_before_a_failed_first_connection(self) -> None:
        """
        Frames waiting for a first connection that never comes fail with
        L{NotConnected} when the client gives up.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.make_client()
        early = client.send(b"x", "/q")
        client.start()
        self.failureResultOf(early, NotConnected)
        self.failureResultOf(client.send(b"x", "/q"), NotConnected)

    def test_send_after_connection_lost(self) -> None:
        """
        Once the connection is lost, L{send} fails with L{NotConnected}.
        """
        client, conn = self.connect_client()
        conn.lose()
        self.failureResultOf(client.send(b"x", "/q"), NotConnected)
        self.assertEqual(conn.sent(), [])

    def test_error_answering_receipt(self) -> None:
        """
        An ERROR naming a receipt fails that request with L{BrokerError},
        carrying the frame and its message; the client fires C{ERROR},
        closes the connection, and the other pending requests fail with
        L{ConnectionLost} once it is gone.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("ERROR", recorder("ERROR"))
        first = client.send(b"1", "/q")
        second = client.send(b"2", "/forbidden")
        conn.sent()
        error_headers = {"receipt-id": "r-2", "message": "access denied"}
        conn.receive("ERROR", error_headers, b"no write access\nat line 2")
        failure = self.failureResultOf(second, BrokerError)
        self.assertEqual(failure.value.message, "access denied")
        self.assertEqual(failure.value.frame.command, "ERROR")
        self.assertEqual(failure.value.frame.headers["receipt-id"], "r-2")
        self.assertEqual(failure.value.frame.body, b"no write access\nat line 2")
        self.assertEqual(len(recorder.args("ERROR")), 1)
        self.assertTrue(conn.closed_by_client)
        self.assertFalse(client.is_connected)
        self.assertNoResult(first)
        conn.lose()
        self.failureResultOf(first, ConnectionLost)

    def test_connection_lost_fails_pending(self) -> None:
        """
        Losing the connection fails every request waiting for a receipt
        on it with L{ConnectionLost}, and fires C{io_error} and
        C{disconnect} with the reason.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("io_error", recorder("io_error"))
        client.reg_cb("disconnect", recorder("disconnect"))
        pending = [
            client.send(b"1", "/q"),
            client.send_frame("SEND", b"2", {"destination": "/q"}),
            client.subscribe("/q/b"),
            client.begin(),
        ]
        done = client.send(b"3", "/q")
        conn.sent()
        conn.receipt("r-5")
        conn.lose(TCPConnectionLost("cable cut"))
        for deferred in pending:
            self.failureResultOf(deferred, ConnectionLost)
        self.assertEqual(self.successResultOf(done).command, "RECEIPT")
        self.assertEqual(recorder.names(), ["io_error", "disconnect"])
        [(why,)] = recorder.args("disconnect")
        self.assertIn("cable cut", str(why))
        self.assertFalse(client.is_connected)
        self.assertIsNone(client.version)

    def test_broker_close_is_io_error(self) -> None:
        """
        A connection the broker closes, cleanly but unasked (no ERROR, no
        DISCONNECT), is an C{io_error} that says so, then a
        C{disconnect}.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("io_error", recorder("io_error"))
        client.reg_cb("disconnect", recorder("disconnect"))
        conn.lose(ConnectionDone())
        self.assertEqual(recorder.names(), ["io_error", "disconnect"])
        [(why,)] = recorder.args("io_error")
        self.assertEqual(why, "the broker closed the connection")

    def test_own_close_no_io_error(self) -> None:
        """
        A connection closed by L{disconnect} fires C{disconnect} but not
        C{io_error}.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("io_error", recorder("io_error"))
        client.reg_cb("disconnect", recorder("disconnect"))
        client.disconnect()
        conn.receipt("r-1")
        conn.lose(ConnectionDone())
        self.assertEqual(recorder.names(), ["disconnect"])

    def test_malformed_frame_is_io_error(self) -> None:
        """
        Bytes that are not STOMP make the client close the connection and
        report C{io_error}.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("io_error", recorder("io_error"))
        conn.protocol.dataReceived(b"BOGUS\n\n\0")
        self.assertTrue(conn.closed_by_client)
        conn.lose()
        [(message,)] = recorder.args("io_error")
        self.assertIn("BOGUS", str(message))

    def test_receipt_timeout(self) -> None:
        """
        With C{receipt_timeout}, a request whose receipt has not come in
        time fails with L{ReceiptTimeout} on the clock, forgets its
        receipt, and a late RECEIPT does no harm.
        """
        client, conn = self.connect_client(receipt_timeout=5)
        sending = client.send(b"x", "/q")
        self.clock.advance(4.9)
        self.assertNoResult(sending)
        self.clock.advance(0.1)
        failure = self.failureResultOf(sending, ReceiptTimeout)
        self.assertIn("SEND to /q", str(failure.value))
        self.assertEqual(conn.protocol.pending_receipts, 0)
        conn.receipt("r-1")
        self.assertTrue(client.is_connected)

    def test_receipt_in_time(self) -> None:
        """
        A receipt that comes in time cancels the timeout: the result
        stays the RECEIPT and no timer is left.
        """
        client, conn = self.connect_client(receipt_timeout=5)
        sending = client.send(b"x", "/q")
        conn.receipt("r-1")
        self.clock.advance(10)
        self.assertEqual(self.successResultOf(sending).command, "RECEIPT")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_default_receipt_timeout(self) -> None:
        """
        By default a receipt is awaited for L{DEFAULT_RECEIPT_TIMEOUT}
        seconds: a broker that never answers does not hang the caller.
        """
        client, _ = self.connect_client()
        sending = client.send(b"x", "/q")
        self.clock.advance(DEFAULT_RECEIPT_TIMEOUT - 0.1)
        self.assertNoResult(sending)
        self.clock.advance(0.1)
        self.failureResultOf(sending, ReceiptTimeout)

    def test_no_timeout_without_receipt_timeout(self) -> None:
        """
        With C{receipt_timeout=None} a request waits as long as it takes.
        """
        client, conn = self.connect_client(receipt_timeout=None)
        sending = client.send(b"x", "/q")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(3600)
        self.assertNoResult(sending)
        conn.receipt("r-1")
        self.successResultOf(sending)

    def test_cancel(self) -> None:
        """
        Cancelling a request fails it with L{CancelledError} and forgets
        its receipt; a late RECEIPT is harmless and the other requests are
        unaffected.
        """
        client, conn = self.connect_client(receipt_timeout=5)
        first = client.send(b"1", "/q")
        second = client.send(b"2", "/q")
        first.cancel()
        self.failureResultOf(first, CancelledError)
        self.assertEqual(conn.protocol.pending_receipts, 1)
        conn.receipt("r-1")
        self.assertNoResult(second)
        conn.receipt("r-2")
        self.successResultOf(second)
        self.clock.advance(10)
        self.assertTrue(client.is_connected)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SubscribeTests(ClientTestCase):
    """
    L{StompClient.subscribe}, L{StompClient.unsubscribe} and the delivery
    of messages to subscriptions.
    """

    def test_subscribe_frame_per_ack_and_version(self) -> None:
        """
        SUBSCRIBE's C{ack} header: C{auto} when the client does not
        acknowledge (C{None} or C{0}); C{client-individual} for C{"auto"}
        and C{"manual"} in every version (1.0's C{client} is cumulative on
        the brokers, which accept C{client-individual} under 1.0 too).
        """
        expected = {
            (None, "1.0"): "auto",
            (0, "1.1"): "auto",
            (None, "1.2"): "auto",
            ("auto", "1.0"): "client-individual",
            ("manual", "1.0"): "client-individual",
            ("auto", "1.1"): "client-individual",
            ("manual", "1.1"): "client-individual",
            ("auto", "1.2"): "client-individual",
            ("manual", "1.2"): "client-individual",
        }
        for (ack, version), header in expected.items():
            client, conn = self.connect_client(version)
            client.subscribe("/queue/a", ack=ack, headers={"prefetch-count": 10})
            self.assertEqual(
                conn.sent(),
                [
                    Frame(
                        "SUBSCRIBE",
                        {
                            "prefetch-count": "10",
                            "destination": "/queue/a",
                            "id": "sub-1",
                            "ack": header,
                            "receipt": "r-1",
                        },
                    )
                ],
                (ack, version),
            )

    def test_subscribe_fires_on_receipt(self) -> None:
        """
        L{subscribe} fires with the L{Subscription} once the broker's
        receipt comes; each subscription gets its own id.
        """
        client, conn = self.connect_client()

        def callback(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            pass

        subscribing = client.subscribe("/q/a", callback, ack="manual", headers={"selector": "x"})
        other = client.subscribe("/q/b", receipt=False)
        conn.sent()
        self.assertNoResult(subscribing)
        conn.receipt("r-1")
        subscription = self.successResultOf(subscribing)
        self.assertEqual(
            (subscription.id, subscription.destination, subscription.ack, subscription.headers),
            ("sub-1", "/q/a", "manual", {"selector": "x"}),
        )
        self.assertIs(subscription.callback, callback)
        self.assertEqual(self.successResultOf(other).id, "sub-2")
        self.assertEqual([s.id for s in client.subscriptions], ["sub-1", "sub-2"])

    def test_subscribe_bad_arguments(self) -> None:
        """
        An unknown ack mode, a non-callable callback or an empty
        destination raise L{BadArgument}; nothing is written or kept.
        """
        client, conn = self.connect_client()
        self.assertRaises(BadArgument, client.subscribe, "/q", ack="sometimes")
        self.assertRaises(BadArgument, client.subscribe, "/q", ack=1)
        self.assertRaises(BadArgument, client.subscribe, "/q", "not callable")
        self.assertRaises(BadArgument, client.subscribe, "")
        self.assertRaises(BadArgument, client.subscribe, "/q", headers={"x": None})
        self.assertEqual(conn.sent(), [])
        self.assertEqual(client.subscriptions, [])

    def test_subscribe_unrepresentable_header(self) -> None:
        """
        A SUBSCRIBE header that cannot be written raises
        L{UnrepresentableHeader} and leaves no subscription behind (that
        would be re-sent, and fail again, on the next CONNECTED).
        """
        client, conn = self.connect_client("1.0")
        self.assertRaises(
            UnrepresentableHeader, client.subscribe, "/q", headers={"selector": "a\nb"}
        )
        self.assertEqual(conn.sent(), [])
        self.assertEqual(client.subscriptions, [])

    def test_subscribe_before_connected(self) -> None:
        """
        Before CONNECTED, L{subscribe} writes nothing; SUBSCRIBE goes out
        when CONNECTED arrives, before L{StompClient.when_connected} fires,
        and the Deferred fires on its receipt.
        """
        client = self.make_client()
        client.start()
        conn = self.endpoint.last
        conn.sent()
        subscribed = client.subscribe("/q", ack="auto")
        self.assertEqual(conn.sent(), [])
        written: list[Frame] = []
        client.when_connected().addCallback(lambda _: written.append(conn.sent_one()))
        conn.connected("1.2")
        self.assertEqual([frame.command for frame in written], ["SUBSCRIBE"])
        self.assertEqual(written[0].headers["ack"], "client-individual")
        self.assertNoResult(subscribed)
        conn.receipt(written[0].headers["receipt"])
        self.assertEqual(self.successResultOf(subscribed).destination, "/q")
        self.assertEqual([s.destination for s in client.subscriptions], ["/q"])

    def test_subscribe_before_failed_connection(self) -> None:
        """
        A subscription made while connecting fails with the connection
        attempt, and is not kept.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.make_client()
        subscribed = client.subscribe("/q")
        client.start()
        self.failureResultOf(subscribed, NotConnected)
        self.assertEqual(client.subscriptions, [])

    def test_message_to_callback_then_observers(self) -> None:
        """
        A MESSAGE goes to its subscription's callback, then to the
        C{MESSAGE} and C{frame} observers; another subscription's callback
        does not see it.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        self.subscribed(client, conn, recorder("a"), destination="/q/a")
        self.subscribed(client, conn, recorder("b"), destination="/q/b")
        client.reg_cb("MESSAGE", recorder("MESSAGE"))
        client.reg_cb("frame", recorder("frame"))
        headers = message_headers(1, subscription="sub-2", destination="/q/b")
        conn.receive("MESSAGE", headers, b"payload")
        headers["content-length"] = "7"
        self.assertEqual(
            recorder.calls,
            [
                ("b", (b"payload", headers)),
                ("MESSAGE", (b"payload", headers)),
                ("frame", ("MESSAGE", b"payload", headers)),
            ],
        )
        self.assertEqual(conn.sent(), [])

    def test_10_message_without_subscription_header(self) -> None:
        """
        A STOMP 1.0 MESSAGE without a C{subscription} header goes to the
        subscription of its destination.
        """
        client, conn = self.connect_client("1.0")
        recorder = Recorder()
        self.subscribed(client, conn, recorder("a"), destination="/q/a")
        self.subscribed(client, conn, recorder("b"), destination="/q/b")
        conn.receive("MESSAGE", message_headers(1, "1.0", None, "/q/b"), b"x")
        self.assertEqual(recorder.names(), ["b"])

    def test_raising_subscription_callback(self) -> None:
        """
        A subscription callback that raises is logged; the MESSAGE
        observers still run, and no acknowledgement is written without an
        ack mode.
        """
        client, conn = self.connect_client()
        recorder = Recorder()

        def callback(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            raise Boom()

        self.subscribed(client, conn, callback)
        client.reg_cb("MESSAGE", recorder("MESSAGE"))
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(recorder.names(), ["MESSAGE"])
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)
        self.assertEqual(conn.sent(), [])

    def test_async_def_callback_is_awaited(self) -> None:
        """
        An C{async def} callback under C{ack="auto"} is run as Twisted runs
        coroutines, and the message is acknowledged once it returns (and
        refused if it raises), not when it is called.
        """
        client, conn = self.connect_client()
        gates: list[Deferred[None]] = []

        async def work(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            gate: Deferred[None] = Deferred()
            gates.append(gate)
            await gate
            if body == b"bad":
                raise ValueError("refused")

        self.subscribed(client, conn, work, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"good")
        self.assertEqual(conn.sent(), [])
        gates[0].callback(None)
        self.assertEqual([frame.command for frame in conn.sent()], ["ACK"])
        conn.receive("MESSAGE", message_headers(2), b"bad")
        gates[1].callback(None)
        self.clock.advance(1)
        self.assertEqual([frame.command for frame in conn.sent()], ["NACK"])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_unsubscribe_before_connected(self) -> None:
        """
        A subscription ended while its SUBSCRIBE still waits for CONNECTED
        is never sent, and its C{subscribe()} Deferred fails with
        L{NotConnected} rather than waiting for ever.
        """
        client = self.make_client()
        client.start()
        conn = self.endpoint.last
        conn.sent()
        subscribing = client.subscribe("/queue/a")
        self.successResultOf(client.unsubscribe("sub-1"))
        self.failureResultOf(subscribing, NotConnected)
        conn.connected("1.2")
        self.assertEqual(conn.sent(), [])

    def test_unsubscribe(self) -> None:
        """
        L{unsubscribe} writes UNSUBSCRIBE with the id and a receipt; the
        subscription is gone and its callback gets no more messages. An
        unknown subscription raises L{BadArgument}.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        subscription = self.subscribed(client, conn, recorder("a"))
        leaving = client.unsubscribe(subscription)
        self.assertEqual(conn.sent(), [Frame("UNSUBSCRIBE", {"id": "sub-1", "receipt": "r-1"})])
        conn.receipt("r-1")
        self.successResultOf(leaving)
        self.assertEqual(client.subscriptions, [])
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(recorder.calls, [])
        self.assertRaises(BadArgument, client.unsubscribe, subscription)
        self.assertRaises(BadArgument, client.unsubscribe, "sub-99")
        second = self.subscribed(client, conn)
        self.successResultOf(client.unsubscribe(second.id, receipt=False))
        self.assertEqual(conn.sent(), [Frame("UNSUBSCRIBE", {"id": "sub-2"})])

    def test_resubscribe_after_reconnect(self) -> None:
        """
        When the client connects again (L{start} after a loss), CONNECTED
        re-sends SUBSCRIBE for every active subscription, without
        receipts, before L{when_connected} fires.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="auto", destination="/q/a")
        self.subscribed(client, conn, destination="/q/b")
        conn.lose()
        client.start()
        second = self.endpoint.last
        self.assertIsNot(second, conn)
        second.sent()
        second.connected("1.0")
        self.assertEqual(
            second.sent(),
            [
                Frame(
                    "SUBSCRIBE", {"destination": "/q/a", "id": "sub-1", "ack": "client-individual"}
                ),
                Frame("SUBSCRIBE", {"destination": "/q/b", "id": "sub-2", "ack": "auto"}),
            ],
        )


class AutoAckTests(ClientTestCase):
    """
    C{ack="auto"}: the client acknowledges each message once its
    callbacks have succeeded, and refuses it if one failed.
    """

    def test_ack_headers_per_version(self) -> None:
        """
        The automatic ACK names the message as its version says: C{id}
        (the C{ack} header) under 1.2, C{message-id} and C{subscription}
        under 1.1, C{message-id} under 1.0; it asks for no receipt.
        """
        expected = {
            "1.2": {"id": "a-1"},
            "1.1": {"message-id": "m-1", "subscription": "sub-1"},
            "1.0": {"message-id": "m-1"},
        }
        for version, headers in expected.items():
            client, conn = self.connect_client(version)
            self.subscribed(client, conn, ack="auto")
            conn.receive("MESSAGE", message_headers(1, version), b"x")
            self.assertEqual(conn.sent(), [Frame("ACK", headers)], version)
            self.assertEqual(conn.protocol.pending_receipts, 0)

    def test_ack_after_callbacks(self) -> None:
        """
        The ACK is written only after the subscription callback and the
        MESSAGE observers have run.
        """
        client, conn = self.connect_client()
        written: list[bytes] = []

        def look(*args: object) -> None:
            written.append(conn.transport.value())

        self.subscribed(client, conn, look, ack="auto")
        client.reg_cb("MESSAGE", look)
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(written, [b"", b""])
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])

    def test_ack_waits_for_deferred(self) -> None:
        """
        If the callback returns a Deferred, the ACK waits until it fires;
        likewise for a MESSAGE observer's Deferred: the ACK needs both.
        """
        client, conn = self.connect_client()
        from_callback: Deferred[None] = Deferred()
        from_observer: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: from_callback, ack="auto")
        client.reg_cb("MESSAGE", lambda *args: from_observer)
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(conn.sent(), [])
        from_callback.callback(None)
        self.assertEqual(conn.sent(), [])
        from_observer.callback("done")
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])

    def test_each_message_acked_on_its_own(self) -> None:
        """
        Messages are settled independently: a later message whose callback
        finishes first is acknowledged first.
        """
        client, conn = self.connect_client("1.1")
        waits: list[Deferred[None]] = []

        def callback(*args: object) -> Deferred[None]:
            waits.append(Deferred())
            return waits[-1]

        self.subscribed(client, conn, callback, ack="auto")
        conn.receive("MESSAGE", message_headers(1, "1.1"), b"1")
        conn.receive("MESSAGE", message_headers(2, "1.1"), b"2")
        waits[1].callback(None)
        self.assertEqual(
            conn.sent(), [Frame("ACK", {"message-id": "m-2", "subscription": "sub-1"})]
        )
        waits[0].callback(None)
        self.assertEqual(
            conn.sent(), [Frame("ACK", {"message-id": "m-1", "subscription": "sub-1"})]
        )

    def test_nack_when_callback_raises(self) -> None:
        """
        A callback that raises makes the client NACK the message (1.1 and
        1.2), with the same headers an ACK would have, after the default
        redelivery policy's first delay; the error is logged.
        """
        expected = {"1.2": {"id": "a-1"}, "1.1": {"message-id": "m-1", "subscription": "sub-1"}}
        for version, headers in expected.items():
            client, conn = self.connect_client(version)

            def callback(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
                raise Boom()

            self.subscribed(client, conn, callback, ack="auto")
            conn.receive("MESSAGE", message_headers(1, version), b"x")
            self.assertEqual(conn.sent(), [], version)
            self.clock.advance(DEFAULT_REDELIVERY.initial_delay)
            self.assertEqual(conn.sent(), [Frame("NACK", headers)], version)
            self.assertTrue(self.flushLoggedErrors(Boom))

    def test_nack_when_deferred_fails(self) -> None:
        """
        A callback whose Deferred fails makes the client NACK the message
        once it fails, not before.
        """
        client, conn = self.connect_client()
        waiting: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: waiting, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(conn.sent(), [])
        waiting.errback(Boom())
        self.clock.advance(DEFAULT_REDELIVERY.initial_delay)
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1"})])
        self.assertTrue(self.flushLoggedErrors(Boom))

    def test_nack_when_observer_raises(self) -> None:
        """
        A MESSAGE observer that raises counts as a failed callback: NACK.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, lambda *args: None, ack="auto")

        def observer(*args: object) -> None:
            raise Boom()

        client.reg_cb("MESSAGE", observer)
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.clock.advance(DEFAULT_REDELIVERY.initial_delay)
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1"})])
        self.assertTrue(self.flushLoggedErrors(Boom))

    def test_10_failure_stays_unacked(self) -> None:
        """
        STOMP 1.0 has no NACK: after a failed callback nothing is written
        and the message stays unacknowledged (it can still be ACKed by
        hand).
        """
        client, conn = self.connect_client("1.0")
        failing: Deferred[None] = fail(Boom())
        self.subscribed(client, conn, lambda *args: failing, ack="auto")
        headers = message_headers(1, "1.0")
        conn.receive("MESSAGE", headers, b"x")
        self.assertEqual(conn.sent(), [])
        self.assertTrue(self.flushLoggedErrors(Boom))
        client.ack(headers, receipt=False)
        self.assertEqual(conn.sent(), [Frame("ACK", {"message-id": "m-1"})])

    def test_no_ack_mode_writes_nothing(self) -> None:
        """
        Without an ack mode (C{None} or C{0}) the client never
        acknowledges, and L{ack} of such a message raises L{AckError}.
        """
        for version in ALL_VERSIONS:
            for ack in (None, 0):
                client, conn = self.connect_client(version)
                self.subscribed(client, conn, lambda *args: None, ack=ack)
                headers = message_headers(1, version)
                conn.receive("MESSAGE", headers, b"x")
                self.assertEqual(conn.sent(), [])
                self.assertRaises(AckError, client.ack, headers)
                self.assertRaises(AckError, client.ack, "m-1")
                self.assertEqual(conn.sent(), [])

    def test_deferred_fires_after_connection_lost(self) -> None:
        """
        A callback whose Deferred fires after the connection is gone
        writes nothing: the broker redelivers the message anyway.
        """
        client, conn = self.connect_client()
        waiting: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: waiting, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        conn.lose()
        waiting.callback(None)
        self.assertEqual(conn.sent(), [])

    def test_disconnect_waits_for_running_callbacks(self) -> None:
        """
        L{disconnect} lets a message whose callback is still running get
        its automatic ACK first, then writes DISCONNECT, so that a graceful
        exit does not make the broker redeliver work already done.
        """
        client, conn = self.connect_client()
        waiting: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: waiting, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        client.disconnect()
        self.assertEqual(conn.sent(), [])
        waiting.callback(None)
        self.assertEqual([frame.command for frame in conn.sent()], ["ACK", "DISCONNECT"])

    def test_no_ack_after_disconnect_timeout(self) -> None:
        """
        A callback that is still running when half of C{disconnect_timeout}
        has passed does not hold DISCONNECT back any longer (its RECEIPT
        has the other half), and once DISCONNECT is written no ACK may
        follow it.
        """
        client, conn = self.connect_client(disconnect_timeout=5)
        waiting: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: waiting, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        client.disconnect()
        self.clock.advance(2.4)
        self.assertEqual(conn.sent(), [])
        self.clock.advance(0.1)
        self.assertEqual(conn.sent_one().command, "DISCONNECT")
        waiting.callback(None)
        self.assertEqual(conn.sent(), [])

    def test_disconnect_from_message_callback(self) -> None:
        """
        L{disconnect} called from the MESSAGE callback itself acknowledges
        that message before DISCONNECT.
        """
        client, conn = self.connect_client()

        def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            client.disconnect()

        self.subscribed(client, conn, on_message, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual([frame.command for frame in conn.sent()], ["ACK", "DISCONNECT"])

    def test_stale_delivery_not_settled_on_new_connection(self) -> None:
        """
        A callback that finishes after its connection was lost does not
        settle the redelivery of the same message on the next connection,
        whose own callback is still running: only that one settles it.
        """
        client, conn = self.connect_client("1.1")
        waits: list[Deferred[None]] = []

        def callback(*args: object) -> Deferred[None]:
            waits.append(Deferred())
            return waits[-1]

        self.subscribed(client, conn, callback, ack="auto")
        conn.receive("MESSAGE", message_headers(1, "1.1"), b"x")
        conn.lose()
        client.start()
        second = self.endpoint.last
        second.sent()
        second.connected("1.1")
        self.assertEqual(second.sent_one().command, "SUBSCRIBE")
        second.receive("MESSAGE", message_headers(1, "1.1"), b"x")
        waits[0].errback(Boom())
        self.assertEqual(second.sent(), [])
        waits[1].callback(None)
        self.assertEqual(
            second.sent(), [Frame("ACK", {"message-id": "m-1", "subscription": "sub-1"})]
        )
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)

    def test_manual_ack_wins_over_auto(self) -> None:
        """
        A message of an C{"auto"} subscription that the caller acknowledged
        already is not acknowledged a second time.
        """
        client, conn = self.connect_client()
        waiting: Deferred[None] = Deferred()
        self.subscribed(client, conn, lambda *args: waiting, ack="auto")
        headers = message_headers(1)
        conn.receive("MESSAGE", headers, b"x")
        client.ack(headers, receipt=False)
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])
        waiting.callback(None)
        self.assertEqual(conn.sent(), [])


class ManualAckTests(ClientTestCase):
    """
    C{ack="manual"}: L{StompClient.ack} and L{StompClient.nack}.
    """

    def test_no_automatic_ack(self) -> None:
        """
        Under C{"manual"} the client writes nothing after the callbacks,
        even if one fails.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, lambda *args: None, ack="manual")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(conn.sent(), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_ack_with_headers_per_version(self) -> None:
        """
        L{ack} with the message's headers writes ACK as the version says,
        with a receipt; the Deferred fires on RECEIPT.
        """
        expected = {
            "1.2": {"id": "a-1"},
            "1.1": {"message-id": "m-1", "subscription": "sub-1"},
            "1.0": {"message-id": "m-1"},
        }
        for version, headers in expected.items():
            client, conn = self.connect_client(version)
            self.subscribed(client, conn, ack="manual")
            message = message_headers(1, version)
            conn.receive("MESSAGE", message, b"x")
            acking = client.ack(message)
            self.assertEqual(conn.sent(), [Frame("ACK", {**headers, "receipt": "r-1"})], version)
            self.assertNoResult(acking)
            conn.receipt("r-1")
            self.assertEqual(self.successResultOf(acking).command, "RECEIPT")

    def test_ack_with_id(self) -> None:
        """
        L{ack} also takes the ack id: the C{ack} header under 1.2, the
        C{message-id} before.
        """
        for version, ack_id, headers in [
            ("1.2", "a-1", {"id": "a-1"}),
            ("1.1", "m-1", {"message-id": "m-1", "subscription": "sub-1"}),
            ("1.0", "m-1", {"message-id": "m-1"}),
        ]:
            client, conn = self.connect_client(version)
            self.subscribed(client, conn, ack="manual")
            conn.receive("MESSAGE", message_headers(1, version), b"x")
            self.successResultOf(client.ack(ack_id, receipt=False))
            self.assertEqual(conn.sent(), [Frame("ACK", headers)], version)

    def test_nack(self) -> None:
        """
        L{nack} writes NACK with the ACK headers under 1.1 and 1.2; under
        1.0, which has no NACK, it raises L{AckError} and writes nothing.
        """
        for version, headers in [
            ("1.2", {"id": "a-1"}),
            ("1.1", {"message-id": "m-1", "subscription": "sub-1"}),
        ]:
            client, conn = self.connect_client(version)
            self.subscribed(client, conn, ack="manual")
            message = message_headers(1, version)
            conn.receive("MESSAGE", message, b"x")
            self.successResultOf(client.nack(message, receipt=False))
            self.assertEqual(conn.sent(), [Frame("NACK", headers)], version)
        client, conn = self.connect_client("1.0")
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1, "1.0")
        conn.receive("MESSAGE", message, b"x")
        self.assertRaises(AckError, client.nack, message)
        self.assertEqual(conn.sent(), [])

    def test_ack_twice(self) -> None:
        """
        A message is settled once: a second L{ack} or L{nack} raises
        L{AckError}.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1)
        conn.receive("MESSAGE", message, b"x")
        client.ack(message, receipt=False)
        conn.sent()
        self.assertRaises(AckError, client.ack, message)
        self.assertRaises(AckError, client.nack, message)
        self.assertEqual(conn.sent(), [])

    def test_ack_bad_ids(self) -> None:
        """
        An unknown ack id, headers without one, or an id of the wrong type
        are refused at the call.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="manual")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertRaises(AckError, client.ack, "a-2")
        self.assertRaises(AckError, client.ack, "m-1")
        self.assertRaises(AckError, client.ack, {"message-id": "m-1"})
        self.assertRaises(BadArgument, client.ack, 1)
        self.assertEqual(conn.sent(), [])

    def test_ack_from_earlier_connection(self) -> None:
        """
        A message that came through a lost connection cannot be
        acknowledged (the broker redelivers it): L{AckError}, both while
        disconnected and once connected again.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1)
        conn.receive("MESSAGE", message, b"x")
        conn.lose()
        self.assertRaises(AckError, client.ack, message)
        client.start()
        second = self.endpoint.last
        second.sent()
        second.connected("1.2")
        second.sent()
        self.assertRaises(AckError, client.ack, message)
        self.assertRaises(AckError, client.nack, "a-1")
        self.assertEqual(second.sent(), [])

    def test_ack_after_disconnect(self) -> None:
        """
        After L{disconnect}, L{ack} raises L{ClientClosed}.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1)
        conn.receive("MESSAGE", message, b"x")
        client.disconnect()
        conn.sent()
        self.assertRaises(ClientClosed, client.ack, message)
        self.assertEqual(conn.sent(), [])


class TransactionTests(ClientTestCase):
    """
    L{StompClient.begin}, L{StompClient.commit} and L{StompClient.abort}.
    """

    def test_begin_send_ack_commit(self) -> None:
        """
        BEGIN, then SEND and ACK carrying the C{transaction} header, then
        COMMIT; the transaction is C{committed} afterwards.
        """
        client, conn = self.connect_client("1.1")
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1, "1.1")
        conn.receive("MESSAGE", message, b"x")
        beginning = client.begin()
        self.assertEqual(conn.sent(), [Frame("BEGIN", {"transaction": "tx-1", "receipt": "r-1"})])
        self.assertNoResult(beginning)
        conn.receipt("r-1")
        transaction = self.successResultOf(beginning)
        self.assertIsInstance(transaction, Transaction)
        self.assertEqual((transaction.id, transaction.state), ("tx-1", "open"))
        client.send(b"x", "/q", transaction=transaction, receipt=False)
        client.ack(message, transaction, receipt=False)
        self.assertEqual(
            conn.sent(),
            [
                Frame(
                    "SEND",
                    {"destination": "/q", "transaction": "tx-1", "content-length": "1"},
                    b"x",
                ),
                Frame(
                    "ACK",
                    {"message-id": "m-1", "subscription": "sub-1", "transaction": "tx-1"},
                ),
            ],
        )
        committing = client.commit(transaction)
        self.assertEqual(conn.sent(), [Frame("COMMIT", {"transaction": "tx-1", "receipt": "r-2"})])
        conn.receipt("r-2")
        self.successResultOf(committing)
        self.assertEqual(transaction.state, "committed")

    def test_abort(self) -> None:
        """
        L{abort} writes ABORT; the transaction is C{aborted} and can be
        used no more (L{BadArgument}).
        """
        client, conn = self.connect_client()
        transaction = self.successResultOf(client.begin(receipt=False))
        self.assertEqual(conn.sent(), [Frame("BEGIN", {"transaction": "tx-1"})])
        self.successResultOf(client.abort(transaction, receipt=False))
        self.assertEqual(conn.sent(), [Frame("ABORT", {"transaction": "tx-1"})])
        self.assertEqual(transaction.state, "aborted")
        self.assertRaises(BadArgument, client.commit, transaction)
        self.assertRaises(BadArgument, client.send, b"x", "/q", transaction=transaction)
        self.assertEqual(conn.sent(), [])

    def test_nack_in_transaction(self) -> None:
        """
        L{nack} takes a transaction too.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, ack="manual")
        message = message_headers(1)
        conn.receive("MESSAGE", message, b"x")
        transaction = self.successResultOf(client.begin(receipt=False))
        conn.sent()
        client.nack(message, transaction, receipt=False)
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1", "transaction": "tx-1"})])

    def test_transaction_by_id(self) -> None:
        """
        A transaction id given as text is used as it is.
        """
        client, conn = self.connect_client()
        client.send(b"x", "/q", transaction="ext-7", receipt=False)
        client.commit("ext-7", receipt=False)
        self.assertEqual(
            [frame.headers.get("transaction") for frame in conn.sent()], ["ext-7", "ext-7"]
        )

    def test_bad_transaction(self) -> None:
        """
        A transaction that is neither a L{Transaction} nor text raises
        L{BadArgument}.
        """
        client, conn = self.connect_client()
        self.assertRaises(BadArgument, client.send, b"x", "/q", transaction=7)
        self.assertRaises(BadArgument, client.commit, 7)
        self.assertEqual(conn.sent(), [])

    def test_stale_transaction(self) -> None:
        """
        A transaction of a lost connection was rolled back by the broker:
        using it fails with L{ConnectionLost}, while disconnected and after
        a new connection, and nothing is written.
        """
        client, conn = self.connect_client()
        transaction = self.successResultOf(client.begin(receipt=False))
        conn.lose()
        self.failureResultOf(client.commit(transaction), ConnectionLost)
        client.start()
        second = self.endpoint.last
        second.sent()
        second.connected("1.2")
        self.subscribed(client, second, ack="manual")
        message = message_headers(1)
        second.receive("MESSAGE", message, b"x")
        self.failureResultOf(client.commit(transaction), ConnectionLost)
        self.failureResultOf(client.abort(transaction), ConnectionLost)
        self.failureResultOf(client.send(b"x", "/q", transaction=transaction), ConnectionLost)
        self.failureResultOf(client.ack(message, transaction), ConnectionLost)
        self.assertEqual(second.sent(), [])
        self.assertEqual(transaction.state, "open")

    def test_begin_lost_before_receipt(self) -> None:
        """
        A BEGIN whose receipt never came fails with L{ConnectionLost}
        when the connection goes.
        """
        client, conn = self.connect_client()
        beginning = client.begin()
        conn.lose()
        self.failureResultOf(beginning, ConnectionLost)

    def test_begin_not_connected(self) -> None:
        """
        Before CONNECTED, L{begin} fails with L{NotConnected}.
        """
        client = self.make_client()
        self.failureResultOf(client.begin(), NotConnected)


class DisconnectTests(ClientTestCase):
    """
    L{StompClient.disconnect}.
    """

    def test_disconnect_on_receipt(self) -> None:
        """
        L{disconnect} writes DISCONNECT with a receipt; on the RECEIPT the
        client closes the transport, and its Deferred fires once the
        connection is gone, with a C{disconnect} event but no
        C{io_error}.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("disconnect", recorder("disconnect"))
        client.reg_cb("io_error", recorder("io_error"))
        leaving = client.disconnect()
        self.assertEqual(conn.sent(), [Frame("DISCONNECT", {"receipt": "r-1"})])
        self.assertFalse(conn.closed_by_client)
        self.assertNoResult(leaving)
        conn.receipt("r-1")
        self.assertTrue(conn.closed_by_client)
        self.assertNoResult(leaving)
        conn.lose(TCPConnectionLost("closed"))
        self.assertIsNone(self.successResultOf(leaving))
        self.assertEqual(recorder.names(), ["disconnect"])
        self.assertFalse(client.is_connected)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_disconnect_timeout(self) -> None:
        """
        Without a receipt the client closes the transport after
        C{disconnect_timeout} seconds on the clock, not before.
        """
        client, conn = self.connect_client(disconnect_timeout=3)
        leaving = client.disconnect()
        self.assertEqual(conn.sent_one().command, "DISCONNECT")
        self.clock.advance(2.9)
        self.assertFalse(conn.closed_by_client)
        self.clock.advance(0.1)
        self.assertTrue(conn.closed_by_client)
        self.assertNoResult(leaving)
        conn.lose()
        self.successResultOf(leaving)

    def test_pending_requests_fail_on_close(self) -> None:
        """
        Requests still waiting for receipts when the connection closes
        fail with L{ConnectionLost}.
        """
        client, conn = self.connect_client()
        sending = client.send(b"x", "/q")
        client.disconnect()
        conn.receipt("r-2")
        conn.lose()
        self.failureResultOf(sending, ConnectionLost)

    def test_nothing_sent_after(self) -> None:
        """
        After L{disconnect} every request raises L{ClientClosed} and
        writes nothing; L{when_connected} and L{start} refuse too.
        """
        client, conn = self.connect_client()
        subscription = self.subscribed(client, conn)
        client.disconnect()
        conn.sent()
        self.assertRaises(ClientClosed, client.send, b"x", "/q")
        self.assertRaises(ClientClosed, client.send_frame, "SEND", b"x", {"destination": "/q"})
        self.assertRaises(ClientClosed, client.subscribe, "/q")
        self.assertRaises(ClientClosed, client.unsubscribe, subscription)
        self.assertRaises(ClientClosed, client.begin)
        self.assertRaises(ClientClosed, client.start)
        self.assertEqual(conn.sent(), [])
        conn.receipt("r-1")
        conn.lose()
        self.assertRaises(ClientClosed, client.send, b"x", "/q")
        self.failureResultOf(client.when_connected(), ClientClosed)
        self.assertEqual(self.endpoint.attempts, 1)

    def test_disconnect_twice(self) -> None:
        """
        A second L{disconnect} writes no second DISCONNECT; its Deferred
        fires when the connection is gone, as the first one's does.
        """
        client, conn = self.connect_client()
        first = client.disconnect()
        second = client.disconnect()
        self.assertEqual(conn.sent(), [Frame("DISCONNECT", {"receipt": "r-1"})])
        conn.receipt("r-1")
        self.assertNoResult(second)
        conn.lose()
        self.successResultOf(first)
        self.successResultOf(second)
        self.successResultOf(client.disconnect())

    def test_disconnect_before_connected(self) -> None:
        """
        Before CONNECTED, L{disconnect} closes the transport at once
        without DISCONNECT, and L{when_connected} fails with
        L{ClientClosed}.
        """
        client = self.make_client()
        waiting = client.when_connected()
        client.start()
        conn = self.endpoint.last
        conn.sent()
        leaving = client.disconnect()
        self.failureResultOf(waiting, ClientClosed)
        self.assertEqual(conn.sent(), [])
        self.assertTrue(conn.closed_by_client)
        conn.lose()
        self.successResultOf(leaving)

    def test_disconnect_never_started(self) -> None:
        """
        A client that never connected is closed at once.
        """
        client = self.make_client()
        self.assertIsNone(self.successResultOf(client.disconnect()))
        self.assertRaises(ClientClosed, client.start)
        self.assertEqual(self.endpoint.attempts, 0)

    def test_disconnect_while_connecting(self) -> None:
        """
        If L{disconnect} is called while the endpoint is still connecting,
        the connection that comes up afterwards is closed at once and
        never becomes a STOMP session.
        """
        self.endpoint.pending = True
        client = self.make_client()
        client.start()
        self.successResultOf(client.disconnect())
        conn = self.endpoint.complete()
        self.assertTrue(conn.closed_by_client)
        conn.connected("1.2")
        self.assertFalse(client.is_connected)
        self.assertRaises(ClientClosed, client.send, b"x", "/q")


class ObserverTests(ClientTestCase):
    """
    L{StompClient.reg_cb} and L{StompClient.unreg_cb}.
    """

    def test_priority_then_registration_order(self) -> None:
        """
        Callbacks of an event run by priority, lower first, then in the
        order they were registered.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("RECEIPT", recorder("late"), priority=10)
        client.reg_cb("RECEIPT", recorder("first-0"))
        client.reg_cb("RECEIPT", recorder("early"), priority=-5)
        client.reg_cb("RECEIPT", recorder("second-0"))
        conn.receipt("r-9")
        self.assertEqual(recorder.names(), ["early", "first-0", "second-0", "late"])
        self.assertEqual(recorder.args("late"), [(b"", {"receipt-id": "r-9"})])

    def test_unreg_cb(self) -> None:
        """
        A callback removed with L{unreg_cb} is not called again; removing
        it twice does nothing.
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        handle = client.reg_cb("RECEIPT", recorder("gone"))
        client.reg_cb("RECEIPT", recorder("kept"))
        conn.receipt("r-1")
        client.unreg_cb(handle)
        client.unreg_cb(handle)
        conn.receipt("r-2")
        self.assertEqual(recorder.names(), ["gone", "kept", "kept"])

    def test_raising_observer_does_not_stop_others(self) -> None:
        """
        A callback that raises is logged; the later callbacks of the same
        event still run, and the client goes on working.
        """
        client, conn = self.connect_client()
        recorder = Recorder()

        def broken(*args: object) -> None:
            raise Boom()

        client.reg_cb("RECEIPT", recorder("before"))
        client.reg_cb("RECEIPT", broken)
        client.reg_cb("RECEIPT", recorder("after"))
        sending = client.send(b"x", "/q")
        conn.receipt("r-1")
        self.assertEqual(recorder.names(), ["before", "after"])
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)
        self.successResultOf(sending)
        self.assertTrue(client.is_connected)

    def test_raising_connected_observer(self) -> None:
        """
        A CONNECTED callback that raises does not undo the connection.
        """
        client = self.make_client()

        def broken(*args: object) -> None:
            raise Boom()

        client.reg_cb("CONNECTED", broken)
        client.start()
        self.endpoint.last.connected("1.2")
        self.assertTrue(client.is_connected)
        self.successResultOf(client.when_connected())
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)

    def test_frame_event(self) -> None:
        """
        The C{frame} event gets every received frame as C{(command, body,
        headers)}, after the event named after the command (as
        AnyEvent::STOMP).
        """
        client, conn = self.connect_client()
        recorder = Recorder()
        client.reg_cb("RECEIPT", recorder("RECEIPT"))
        client.reg_cb("frame", recorder("frame"))
        conn.receipt("r-1")
        conn.receive("MESSAGE", {"destination": "/q"}, b"m")
        self.assertEqual(
            recorder.calls,
            [
                ("RECEIPT", (b"", {"receipt-id": "r-1"})),
                ("frame", ("RECEIPT", b"", {"receipt-id": "r-1"})),
                ("frame", ("MESSAGE", b"m", {"destination": "/q", "content-length": "1"})),
            ],
        )

    def test_callback_gets_client(self) -> None:
        """
        Every callback gets the client as its first argument.
        """
        client, conn = self.connect_client()
        seen: list[object] = []
        client.reg_cb("RECEIPT", lambda c, body, headers: seen.append(c))
        client.reg_cb("disconnect", lambda c, reason: seen.append(c))
        conn.receipt("r-1")
        conn.lose()
        self.assertEqual(seen, [client, client])

    def test_bad_registration(self) -> None:
        """
        A non-callable callback, or an event that is not text, raises
        L{TypeError}.
        """
        client = self.make_client()
        self.assertRaises(TypeError, client.reg_cb, "MESSAGE", None)
        self.assertRaises(TypeError, client.reg_cb, 1, lambda *args: None)


class ConnectFunctionTests(ClientTestCase):
    """
    L{stomp_twisted.connect}, with the endpoint it builds replaced by a
    L{FakeEndpoint}.
    """

    def setUp(self) -> None:
        super().setUp()
        # connect() needs a reactor that can make TCP connections.
        self.clock = MemoryReactorClock()
        self.endpoint_calls: list[tuple[object, str, int, bool]] = []

        def client_endpoint(
            reactor: object, host: str, port: int, *, ssl: bool = False, tls: object = None
        ) -> Any:
            self.endpoint_calls.append((reactor, host, port, ssl))
            return self.endpoint

        self.patch(endpoints, "client_endpoint", client_endpoint)

    def test_returns_started_client(self) -> None:
        """
        L{connect} returns a L{StompClient} that is already connecting,
        through an endpoint for the host and port (61613 by default, 61612
        with C{ssl}); options go to the client.
        """
        client = stomp_twisted.connect(
            "broker.example", reactor=self.clock, login="guest", vhost="/v"
        )
        self.assertIsInstance(client, StompClient)
        self.assertEqual(self.endpoint_calls, [(self.clock, "broker.example", 61613, False)])
        headers = self.endpoint.last.sent_one().headers
        self.assertEqual((headers["login"], headers["host"]), ("guest", "/v"))
        stomp_twisted.connect("broker.example", ssl=True, reactor=self.clock)
        stomp_twisted.connect("broker.example", 1234, reactor=self.clock)
        self.assertEqual(
            [call[2:] for call in self.endpoint_calls],
            [(61613, False), (61612, True), (1234, False)],
        )

    def test_connect_headers(self) -> None:
        """
        C{connect_headers} reach CONNECT.
        """
        stomp_twisted.connect(
            "h", reactor=self.clock, connect_headers={"login": "u", "passcode": "p"}
        )
        headers = self.endpoint.last.sent_one().headers
        self.assertEqual((headers["login"], headers["passcode"]), ("u", "p"))

    def test_destination_subscribed_once_connected(self) -> None:
        """
        With a C{destination}, L{connect} subscribes to it (with the
        C{subscribe_headers}, no receipt) once CONNECTED, not before, and
        only once: a later connection re-subscribes the same subscription.
        """
        client = stomp_twisted.connect(
            "h",
            reactor=self.clock,
            destination="/queue/in",
            subscribe_headers={"prefetch-count": 1},
        )
        conn = self.endpoint.last
        self.assertEqual(conn.sent_one().command, "CONNECT")
        conn.connected("1.2")
        expected = Frame(
            "SUBSCRIBE",
            {"prefetch-count": "1", "destination": "/queue/in", "id": "sub-1", "ack": "auto"},
        )
        self.assertEqual(conn.sent(), [expected])
        self.assertEqual([s.destination for s in client.subscriptions], ["/queue/in"])
        conn.lose()
        self.clock.advance(60)  # connect() reconnects by default
        second = self.endpoint.last
        self.assertIsNot(second, conn)
        second.sent()
        second.connected("1.2")
        self.assertEqual(second.sent(), [expected])

    def test_destination_with_auto_ack(self) -> None:
        """
        With C{ack="auto"} the destination's messages are acknowledged
        after the MESSAGE observers.
        """
        client = stomp_twisted.connect("h", reactor=self.clock, destination="/q/a", ack="auto")
        bodies: list[bytes] = []
        client.reg_cb("MESSAGE", lambda c, body, headers: bodies.append(body))
        conn = self.endpoint.last
        conn.sent()
        conn.connected("1.1")
        self.assertEqual(conn.sent_one().headers["ack"], "client-individual")
        conn.receive("MESSAGE", message_headers(1, "1.1", destination="/q/a"), b"hi")
        self.assertEqual(bodies, [b"hi"])
        self.assertEqual(
            conn.sent(), [Frame("ACK", {"message-id": "m-1", "subscription": "sub-1"})]
        )

    def test_bad_arguments(self) -> None:
        """
        An empty host or an unknown ack mode raise L{BadArgument} before
        anything is connected.
        """
        self.assertRaises(BadArgument, stomp_twisted.connect, "", reactor=self.clock)
        self.assertRaises(
            BadArgument, stomp_twisted.connect, "h", destination="/q", ack="x", reactor=self.clock
        )
        self.assertEqual(self.endpoint.attempts, 0)

    def test_refused(self) -> None:
        """
        A refused connection fires C{connect_error} and fails
        L{when_connected} with L{NotConnected}, even though L{connect}
        started connecting before the caller could ask.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = stomp_twisted.connect("h", reactor=self.clock, reconnect=None)
        self.failureResultOf(client.when_connected(), NotConnected)


class TransactionReceiptTests(ClientTestCase):
    """
    Receipts of SENDs in a transaction, which RabbitMQ gives only at
    COMMIT.
    """

    def test_abort_ends_the_wait(self) -> None:
        """
        L{StompClient.abort} fails the sends of its transaction still
        waiting for a receipt with L{TransactionAborted}, and a late
        RECEIPT for one of them is harmless.
        """
        client, conn = self.connect_client()
        transaction = self.successResultOf(client.begin(receipt=False))
        sent = client.send(b"x", "/q", transaction=transaction)
        other = client.send(b"y", "/q")
        [_, frame, _] = conn.sent()
        client.abort(transaction, receipt=False)
        self.failureResultOf(sent, TransactionAborted)
        self.assertNoResult(other)
        conn.receipt(frame.headers["receipt"])
        self.assertEqual(conn.sent(), [Frame("ABORT", {"transaction": transaction.id})])

    def test_commit_keeps_waiting(self) -> None:
        """
        After COMMIT the sends of the transaction fire on their receipts,
        as RabbitMQ sends them then.
        """
        client, conn = self.connect_client()
        transaction = self.successResultOf(client.begin(receipt=False))
        sent = client.send(b"x", "/q", transaction=transaction)
        [_, frame] = conn.sent()
        client.commit(transaction, receipt=False)
        self.assertNoResult(sent)
        conn.receipt(frame.headers["receipt"])
        self.assertEqual(self.successResultOf(sent).command, "RECEIPT")  # type: ignore[union-attr]


class SubscribeAckHeaderTests(ClientTestCase):
    """
    An C{ack} header given to L{StompClient.subscribe}.
    """

    def test_cumulative_client_mode(self) -> None:
        """
        C{headers={"ack": "client"}} writes STOMP's cumulative mode as
        given, with a client policy that acknowledges.
        """
        client, conn = self.connect_client("1.2")
        client.subscribe("/q", ack="manual", headers={"ack": "client"}, receipt=False)
        self.assertEqual(conn.sent_one().headers["ack"], "client")

    def test_mismatch_refused(self) -> None:
        """
        An C{ack} header that contradicts the policy raises
        L{BadArgument}: the broker would wait for acknowledgements the
        client never sends.
        """
        client, conn = self.connect_client("1.2")
        self.assertRaises(BadArgument, client.subscribe, "/q", headers={"ack": "client"})
        self.assertRaises(BadArgument, client.subscribe, "/q", ack="auto", headers={"ack": "auto"})
        self.assertEqual(conn.sent(), [])
