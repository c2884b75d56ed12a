"""
Every argument of L{stomp_twisted.connect}, L{StompClient} and its methods
is checked at the call (issue 10, items 7, 8, 9 and 15): a wrong one
raises L{BadArgument} or L{UnrepresentableHeader} there, before anything
connects, and a passcode never appears in an exception, event or log line.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import provider

import stomp_twisted
from stomp_twisted import (
    BadArgument,
    BrokerAddress,
    BrokerError,
    FrameLimits,
    NotConnected,
    OutboxPolicy,
    ReconnectPolicy,
    StompClient,
    StompError,
    UnrepresentableHeader,
)
from stomp_twisted.frame import Frame
from stomp_twisted.heartbeat import MAX_INTERVAL
from stomp_twisted.observers import CLIENT_EVENTS

from .fakes import FakeConnection, FakeEndpoint
from .hostile import BrokerSide, Script, ScriptedBroker, deadline, reactor

#: A passcode that must never be seen anywhere but on the wire.
SECRET = "s3cr3t-Pa55w0rd"


class LogCapture:
    """
    Every event logged through twisted.logger while a test runs.
    """

    def __init__(self, test: SynchronousTestCase) -> None:
        self.events: list[LogEvent] = []

        @provider(ILogObserver)
        def observe(event: LogEvent) -> None:
            self.events.append(event)

        globalLogPublisher.addObserver(observe)
        test.addCleanup(globalLogPublisher.removeObserver, observe)

    def text(self) -> str:
        """
        Each event formatted, and its fields, as one string to search.
        """
        parts = []
        for event in self.events:
            parts.append(formatEvent(event) or "")
            parts.append(repr(event))
            failure = event.get("log_failure")
            if failure is not None:
                parts.append(failure.getTraceback())
        return "\n".join(parts)


class ConnectSettingsTests(SynchronousTestCase):
    """
    L{stomp_twisted.connect} checks each setting before anything starts.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.log = LogCapture(self)

    def refused(self, error: type[Exception], *args: Any, **kwargs: Any) -> Exception:
        """
        Call L{stomp_twisted.connect} and assert that it raises C{error},
        with no connection attempt nor timer left behind, and no secret
        in the message or the log.
        """
        kwargs.setdefault("reactor", self.reactor)
        host = args[0] if args else "127.0.0.1"
        raised = self.assertRaises(error, stomp_twisted.connect, host, *args[1:], **kwargs)
        self.assertIsInstance(raised, StompError)
        self.assertNotIn(SECRET, str(raised))
        self.assertNotIn(SECRET, repr(raised))
        self.assertEqual(self.reactor.tcpClients, [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertNotIn(SECRET, self.log.text())
        return raised

    def accepted(self, **kwargs: Any) -> StompClient:
        """
        Call L{stomp_twisted.connect} with valid settings; it starts.
        """
        client = stomp_twisted.connect("127.0.0.1", reactor=self.reactor, **kwargs)
        self.addCleanup(client.disconnect)
        self.assertEqual(len(self.reactor.tcpClients), 1)
        return client

    def test_passcode_with_trailing_newline(self) -> None:
        """
        A passcode read from a file with its newline is refused with a
        message that says where the newline is, and never the passcode.
        """
        error = self.refused(UnrepresentableHeader, passcode=SECRET + "\n")
        self.assertIn("passcode contains a newline (at the end)", str(error))
        self.assertIn("strip it", str(error))

    def test_passcode_unwritable_characters(self) -> None:
        """
        A NUL, a carriage return or a lone surrogate in the passcode are
        refused too, naming the character, not the value.
        """
        for bad, name in (("\0", "a NUL"), ("\r", "a carriage return"), ("\ud800", "surrogate")):
            error = self.refused(UnrepresentableHeader, passcode=SECRET[:4] + bad + SECRET[4:])
            self.assertIn("passcode contains", str(error))
            self.assertIn(name, str(error))
            self.assertIn("position 4", str(error))
            self.assertNotIn(SECRET[:4], str(error))

    def test_passcode_in_connect_headers(self) -> None:
        """
        The same holds for a passcode given in C{connect_headers}.
        """
        error = self.refused(UnrepresentableHeader, connect_headers={"passcode": SECRET + "\n"})
        self.assertIn("'passcode' value contains a newline (at the end)", str(error))

    def test_login_and_vhost(self) -> None:
        """
        C{login} and C{vhost} are CONNECT headers as well: the handshake
        is not escaped, so a newline is refused in every version.
        """
        error = self.refused(UnrepresentableHeader, login="guest\n", versions=("1.2",))
        self.assertIn("login contains a newline", str(error))
        error = self.refused(UnrepresentableHeader, vhost="/\r")
        self.assertIn("vhost contains a carriage return", str(error))

    def test_credentials_of_the_wrong_type(self) -> None:
        """
        A passcode that is not a str is refused by its type, not quoted.
        """
        error = self.refused(BadArgument, passcode=SECRET.encode())
        self.assertIn("passcode must be a str or None, not bytes", str(error))
        self.refused(BadArgument, login=42)
        self.refused(BadArgument, vhost=None)

    def test_connect_header_names(self) -> None:
        """
        A CONNECT header name may hold no colon (it would end the name),
        no NUL, CR or LF, and may not be empty.
        """
        for name in ("a:b", "a\0", "a\nb", ""):
            self.refused(UnrepresentableHeader, connect_headers={name: "x"})
        self.refused(BadArgument, connect_headers={1: "x"})
        self.refused(BadArgument, connect_headers={"x": 1.5})
        self.refused(BadArgument, connect_headers=[("a", "b")])

    def test_connect_heart_beat_header(self) -> None:
        """
        A C{heart-beat} header in C{connect_headers} is checked as the
        offer it replaces: 5000 digits are refused, not converted.
        """
        self.refused(BadArgument, connect_headers={"heart-beat": "9" * 5000 + ",0"})
        self.refused(BadArgument, connect_headers={"heart-beat": "1000"})
        self.accepted(connect_headers={"heart-beat": "1000,2000"})

    def test_timeouts(self) -> None:
        """
        Timeouts are finite numbers of seconds (never a bool or a str):
        C{connect_timeout} above 0, C{disconnect_timeout} at least 0,
        C{receipt_timeout} above 0 or C{None}.
        """
        for value in (None, -1, 0, "5", True, float("nan"), float("inf"), 10**5000):
            self.refused(BadArgument, connect_timeout=value)
        for value in (None, -1, "5", float("nan")):
            self.refused(BadArgument, disconnect_timeout=value)
        for value in (0, -1, "5", float("inf"), False):
            self.refused(BadArgument, receipt_timeout=value)
        self.accepted(receipt_timeout=None, connect_timeout=0.5, disconnect_timeout=0)

    def test_integer_settings(self) -> None:
        """
        C{max_in_flight} (at least 1) and C{max_send_buffer} (at least 0)
        are ints.
        """
        for value in (0, 1.5, True, "10", None):
            self.refused(BadArgument, max_in_flight=value)
        for value in (-1, 1.5, "10", None):
            self.refused(BadArgument, max_send_buffer=value)

    def test_heartbeat(self) -> None:
        """
        C{heartbeat} is two ints of milliseconds, at most an hour; an int
        too long to write is refused rather than failing later.
        """
        too_long = MAX_INTERVAL + 1
        for value in ((-1, 0), (1.5, 0), (True, 0), (10**5000, 0), (too_long, 0), "1000,1000"):
            self.refused(BadArgument, heartbeat=value)
        self.refused(BadArgument, heartbeat=(1,))
        self.accepted(heartbeat=(MAX_INTERVAL, 0))

    def test_heartbeat_tolerance(self) -> None:
        """
        C{heartbeat_tolerance} is a finite number, at least 1.
        """
        for value in (True, 0.5, float("nan"), "3"):
            self.refused(BadArgument, heartbeat_tolerance=value)

    def test_limits(self) -> None:
        """
        C{limits} is a L{FrameLimits} whose bounds are positive ints.
        """
        self.refused(BadArgument, limits={"max_body": 1})
        self.refused(BadArgument, limits=FrameLimits(max_body="1M"))  # type: ignore[arg-type]
        self.refused(BadArgument, limits=FrameLimits(max_headers=0))

    def test_policies(self) -> None:
        """
        C{reconnect} is a L{ReconnectPolicy} or C{None}, C{outbox} an
        L{OutboxPolicy} or C{None}.
        """
        for value in ("yes", True, 3):
            self.refused(BadArgument, reconnect=value)
            self.refused(BadArgument, outbox=value)
        self.accepted(reconnect=None, outbox=OutboxPolicy())

    def test_versions(self) -> None:
        """
        C{versions} is an iterable of known versions: not a str (which
        would be read character by character), not empty.
        """
        for value in ("1.2", ["1.3"], [], 12):
            self.refused(BadArgument, versions=value)
        # An iterator is read once, and what it gave is what is offered.
        self.accepted(versions=iter(["1.1", "1.2"]))

    def test_ports(self) -> None:
        """
        A port is an int from 0 to 65535; never a str or a bool.
        """
        for value in ("61613", -1, 65536, True, 1.5):
            self.refused(BadArgument, "127.0.0.1", value)

    def test_port_zero_means_default(self) -> None:
        """
        C{port=0} means the default port, 61613, as in AnyEvent::STOMP.
        """
        self.accepted(port=0)
        self.assertEqual(self.reactor.tcpClients[0][:2], ("127.0.0.1", 61613))

    def test_port_with_several_brokers(self) -> None:
        """
        A port given with a list of brokers or a URI, which give their
        own, is refused rather than ignored.
        """
        self.refused(BadArgument, [("127.0.0.1", 1)], 1234)
        self.refused(BadArgument, "tcp://127.0.0.1:1", 1234)
        self.refused(BadArgument, "tcp:host=127.0.0.1:port=1", 1234)

    def test_hosts(self) -> None:
        """
        Host names and broker lists are checked.
        """
        for host in ("", "bad host", "host\n", 42, [], [("h", "1")], [("h", -1)], [("", 1)]):
            self.refused(BadArgument, host)
        self.refused(BadArgument, [BrokerAddress("h", "61613")])  # type: ignore[arg-type]

    def test_flags(self) -> None:
        """
        C{ssl} is a bool; C{tls} a L{TLSOptions}.
        """
        self.refused(BadArgument, ssl="yes")
        self.refused(BadArgument, tls="yes")

    def test_unknown_option(self) -> None:
        """
        An unknown keyword option raises L{BadArgument} naming the valid
        ones (not a C{TypeError} from deep inside).
        """
        error = self.refused(BadArgument, conect_timeout=5)
        self.assertIn("'conect_timeout'", str(error))
        for name in ("connect_timeout", "receipt_timeout", "reconnect", "passcode"):
            self.assertIn(name, str(error))

    def test_reactor(self) -> None:
        """
        The reactor must keep time, and make TCP connections for a host.
        """
        error = self.refused(BadArgument, reactor=Clock())
        self.assertIn("IReactorTCP", str(error))
        self.assertIn("IReactorTime", str(self.refused(BadArgument, reactor=object())))

    def test_subscribe_headers_nul(self) -> None:
        """
        C{subscribe_headers} that no version can write are refused at the
        call, rather than the subscription being dropped once connected.
        """
        self.refused(UnrepresentableHeader, destination="/q", subscribe_headers={"a\0": "b"})
        self.refused(UnrepresentableHeader, destination="/q", subscribe_headers={"a": "\ud800"})
        self.refused(UnrepresentableHeader, destination="/q\0")
        error = self.refused(BadArgument, destination="/q", subscribe_headers={"receipt": "r"})
        self.assertIn("receipt", str(error))

    def test_subscribe_headers_in_every_offered_version(self) -> None:
        """
        The SUBSCRIBE is written under whichever version the broker
        picks: a newline, which STOMP 1.0 cannot write, is refused while
        1.0 is offered, and accepted when only 1.2 is.
        """
        error = self.refused(UnrepresentableHeader, destination="/q", subscribe_headers={"a": "\n"})
        self.assertIn("1.0", str(error))
        self.accepted(destination="/q", subscribe_headers={"a": "\n"}, versions=("1.2",))

    def test_subscription_settings_without_destination(self) -> None:
        """
        C{ack} and C{subscribe_headers} without a C{destination} would be
        ignored: they are refused.
        """
        self.refused(BadArgument, subscribe_headers={"prefetch-count": 1})
        self.refused(BadArgument, ack="auto")
        self.refused(BadArgument, destination="")
        self.refused(BadArgument, destination=b"/q")


class StompClientSettingsTests(SynchronousTestCase):
    """
    L{StompClient} checks its settings too, for callers who build it on
    their own endpoint.
    """

    def make(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reactor", Clock())
        return StompClient(FakeEndpoint(), **kwargs)

    def test_refused(self) -> None:
        """
        The same checks as through L{stomp_twisted.connect}.
        """
        cases: list[tuple[type[Exception], dict[str, Any]]] = [
            (UnrepresentableHeader, {"passcode": SECRET + "\n"}),
            (BadArgument, {"connect_timeout": "5"}),
            (BadArgument, {"reconnect": "yes"}),
            (BadArgument, {"limits": 1}),
            (BadArgument, {"reactor": object()}),
            (BadArgument, {"versions": "1.2"}),
        ]
        for error, kwargs in cases:
            raised = self.assertRaises(error, self.make, **kwargs)
            self.assertNotIn(SECRET, str(raised))

    def test_endpoint(self) -> None:
        """
        The endpoint must be an C{IStreamClientEndpoint}.
        """
        self.assertRaises(BadArgument, StompClient, object(), reactor=Clock())

    def test_valid(self) -> None:
        """
        Valid settings make a client, which offers what it was given.
        """
        endpoint = FakeEndpoint()
        client = StompClient(
            endpoint,
            reactor=Clock(),
            passcode=SECRET,
            versions=iter(["1.2"]),
            reconnect=ReconnectPolicy(),
            receipt_timeout=None,
        )
        client.start()
        connect = endpoint.last.sent_one()
        self.assertEqual(connect.headers["passcode"], SECRET)
        self.assertEqual(connect.headers["accept-version"], "1.2")


class CallArgumentTests(SynchronousTestCase):
    """
    The methods of a connected client check their arguments, and raise
    nothing but L{StompError} subclasses for bad ones.
    """

    def setUp(self) -> None:
        self.endpoint = FakeEndpoint()
        self.client = StompClient(self.endpoint, reactor=Clock(), reconnect=None)
        self.client.start()
        self.conn: FakeConnection = self.endpoint.last
        self.conn.sent()
        self.conn.connected("1.2")

    def assertNothingSent(self) -> None:
        self.assertEqual(self.conn.sent(), [])

    def test_body_with_lone_surrogate(self) -> None:
        """
        A text body that UTF-8 cannot encode raises L{BadArgument}, not
        C{UnicodeEncodeError}.
        """
        error = self.assertRaises(BadArgument, self.client.send, "\ud800", "/q")
        self.assertIn("lone surrogate", str(error))
        self.assertRaises(BadArgument, self.client.send_frame, "SEND", "a\udfffb")
        self.assertNothingSent()

    def test_unwritable_headers(self) -> None:
        """
        A destination, header name or value no version can write (a lone
        surrogate, a NUL) raises L{UnrepresentableHeader}; an empty header
        name too.
        """
        send = self.client.send
        self.assertRaises(UnrepresentableHeader, send, "x", "/q\ud800")
        self.assertRaises(UnrepresentableHeader, send, "x", "/q", {"h": "\ud800"})
        self.assertRaises(UnrepresentableHeader, send, "x", "/q", {"h\0": "v"})
        self.assertRaises(UnrepresentableHeader, send, "x", "/q", {"": "v"})
        self.assertNothingSent()

    def test_huge_int_header(self) -> None:
        """
        An int header value too long to convert raises L{BadArgument},
        not C{ValueError}.
        """
        error = self.assertRaises(BadArgument, self.client.send, "x", "/q", {"h": 10**5000})
        self.assertIn("too long", str(error))
        self.assertNothingSent()

    def test_receipt_header_refused(self) -> None:
        """
        A C{receipt} header of the caller's could answer another request:
        C{send} and C{send_frame} refuse it, pointing to C{receipt=True}.
        """
        error = self.assertRaises(BadArgument, self.client.send, "x", "/q", {"receipt": "r-1"})
        self.assertIn("receipt=True", str(error))
        self.assertRaises(
            BadArgument, self.client.send_frame, "SEND", b"", {"destination": "/q", "receipt": "1"}
        )
        self.assertRaises(BadArgument, self.client.send, "x", "/q", receipt="yes")
        self.assertNothingSent()

    def test_send_frame_commands(self) -> None:
        """
        C{send_frame} refuses what is not an upper-case ASCII word (C{"É"}
        is upper-case to Python), the broker's commands, and the
        handshake's; C{DISCONNECT} is left to C{disconnect()}.
        """
        for command in ("É", "SEND\n", "send", "", "S END", 42, ["SEND"], "MESSAGE"):
            self.assertRaises(BadArgument, self.client.send_frame, command)
        for command in ("CONNECTED", "ERROR", "RECEIPT", "CONNECT", "STOMP"):
            self.assertRaises(BadArgument, self.client.send_frame, command)
        error = self.assertRaises(BadArgument, self.client.send_frame, "DISCONNECT")
        self.assertIn("disconnect()", str(error))
        self.assertNothingSent()

    def test_send_frame_allowed(self) -> None:
        """
        The client's other commands, and a command STOMP does not define
        (a broker's extension), are written.
        """
        self.client.send_frame("BEGIN", headers={"transaction": "t"}, receipt=False)
        self.assertEqual(self.conn.sent(), [Frame("BEGIN", {"transaction": "t"})])
        self.client.send_frame("FROB", receipt=False)
        self.assertEqual(self.conn.transport.value(), b"FROB\n\n\0")

    def test_misspelt_event(self) -> None:
        """
        C{reg_cb} refuses an event the client never fires, listing the
        known ones and the closest.
        """
        error = self.assertRaises(BadArgument, self.client.reg_cb, "MESAGE", print)
        self.assertIn("did you mean 'MESSAGE'", str(error))
        for event in CLIENT_EVENTS:
            self.assertIn(event, str(error))

    def test_every_client_event_registers(self) -> None:
        """
        Every event of L{CLIENT_EVENTS} may be registered for.
        """
        for event in CLIENT_EVENTS:
            self.client.unreg_cb(self.client.reg_cb(event, print))
        self.assertTrue(
            {"MESSAGE", "RECEIPT", "ERROR", "CONNECTED", "frame", "poison"} <= CLIENT_EVENTS
        )

    def test_reg_cb_arguments(self) -> None:
        """
        A non-callable callback or a priority that is not an int raise
        L{BadArgument}, which is still a C{TypeError} for older callers.
        """
        error = self.assertRaises(BadArgument, self.client.reg_cb, "MESSAGE", "print")
        self.assertIsInstance(error, TypeError)
        self.assertRaises(BadArgument, self.client.reg_cb, "MESSAGE", print, priority="1")
        self.assertRaises(BadArgument, self.client.reg_cb, 1, print)

    def test_unreg_cb_arguments(self) -> None:
        """
        C{unreg_cb} with anything but a handle raises L{BadArgument}, not
        C{AttributeError}; twice with a handle does nothing.
        """
        self.assertRaises(BadArgument, self.client.unreg_cb, "x")
        handle = self.client.reg_cb("MESSAGE", print)
        self.client.unreg_cb(handle)
        self.client.unreg_cb(handle)

    def test_before_connected(self) -> None:
        """
        Before CONNECTED, frames wait for it; bad ones are refused at the
        call all the same, not when CONNECTED arrives.
        """
        endpoint = FakeEndpoint(pending=True)
        client = StompClient(endpoint, reactor=Clock(), reconnect=None)
        client.start()
        self.assertRaises(UnrepresentableHeader, client.send, "x", "/q", {"h": "a\0"})
        self.assertRaises(BadArgument, client.send, "\ud800", "/q")
        self.assertRaises(BadArgument, client.send_frame, "CONNECT")


class RefusingScript(Script):
    """
    Refuses every CONNECT with an ERROR and closes, as a broker does for
    bad credentials.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        side.send("ERROR", {"message": "access refused"}, b"bad credentials")
        side.close()


class LoopbackTests(TestCase):
    """
    Over real loopback TCP, against a scripted broker.
    """

    def setUp(self) -> None:
        self.log = LogCapture(self)

    def start(self, script: Script | None = None) -> ScriptedBroker:
        broker = ScriptedBroker(script)
        broker.start()
        self.addCleanup(broker.stop)
        return broker

    @inlineCallbacks
    def test_valid_connect_works(self) -> Any:
        """
        A valid C{connect()} with every kind of argument connects,
        subscribes and sends; the passcode reaches the broker and nothing
        else.
        """
        broker = self.start()
        client = stomp_twisted.connect(
            "127.0.0.1",
            broker.port,
            False,
            "/queue/hostile-arguments",
            "auto",
            {"client-id": "arguments"},
            {"prefetch-count": 1},
            reactor=reactor,
            login="guest",
            passcode=SECRET,
            reconnect=None,
            connect_timeout=5,
            receipt_timeout=5,
            heartbeat=(0, 0),
            versions=("1.1", "1.2"),
        )
        self.addCleanup(client.disconnect)
        connect = yield broker.next_frame("CONNECT")
        self.assertEqual(connect.headers["passcode"], SECRET)
        self.assertEqual(connect.headers["client-id"], "arguments")
        yield deadline(client.when_connected(), what="CONNECTED")
        subscribe = yield broker.next_frame("SUBSCRIBE")
        self.assertEqual(subscribe.headers["destination"], "/queue/hostile-arguments")
        self.assertEqual(subscribe.headers["prefetch-count"], "1")
        receipt = yield deadline(client.send("hi", "/queue/hostile-arguments"), what="RECEIPT")
        self.assertEqual(receipt.command, "RECEIPT")
        yield deadline(client.disconnect(), what="disconnection")
        self.assertNotIn(SECRET, self.log.text())

    @inlineCallbacks
    def test_refused_connect_keeps_the_passcode_secret(self) -> Any:
        """
        When the broker refuses CONNECT, neither C{when_connected}'s
        failure, nor C{connect_error}, nor the log hold the passcode.
        """
        broker = self.start(RefusingScript())
        client = stomp_twisted.connect(
            "127.0.0.1", broker.port, reactor=reactor, passcode=SECRET, reconnect=None
        )
        errors: list[str] = []
        client.reg_cb("connect_error", lambda c, message: errors.append(message))
        gone: Deferred[None] = Deferred()
        client.reg_cb("disconnect", lambda c, reason: gone.callback(None))
        error = yield self.assertFailure(
            deadline(client.when_connected(), what="refusal"), NotConnected, BrokerError
        )
        yield deadline(gone, what="disconnect event")
        self.assertTrue(errors)
        # The refusal was logged (so the search below searched something).
        self.assertIn("access refused", self.log.text())
        self.assertNotIn(SECRET, str(error))
        self.assertNotIn(SECRET, "\n".join(errors))
        self.assertNotIn(SECRET, self.log.text())


# Values of every shape a caller could pass by mistake.
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.integers(), st.integers()),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.just(object()),
)
_SETTINGS = (
    "connect_timeout",
    "receipt_timeout",
    "disconnect_timeout",
    "max_in_flight",
    "max_send_buffer",
    "heartbeat",
    "heartbeat_tolerance",
    "limits",
    "reconnect",
    "outbox",
    "versions",
    "vhost",
    "login",
    "passcode",
    "connect_headers",
    "port",
    "ssl",
    "destination",
    "ack",
    "subscribe_headers",
)


class AnyValueTests(SynchronousTestCase):
    """
    Whatever a setting holds, L{stomp_twisted.connect} either starts or
    raises a L{StompError}: never a foreign exception.
    """

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(_SETTINGS), _JUNK)
    def test_only_stomp_errors(self, name: str, value: object) -> None:
        """
        One setting at a time, any value.
        """
        memory = MemoryReactorClock()
        try:
            client = stomp_twisted.connect("127.0.0.1", reactor=memory, **{name: value})
        except StompError as error:
            self.assertEqual(memory.tcpClients, [])
            str(error)
        else:
            client.disconnect()

    @settings(max_examples=300, deadline=None)
    @given(_JUNK, _JUNK, _JUNK, _JUNK)
    def test_methods_only_stomp_errors(
        self, first: object, second: object, headers: object, receipt: object
    ) -> None:
        """
        C{send}, C{send_frame}, C{reg_cb} and C{unreg_cb} of a connected
        client, given anything, raise nothing but L{StompError}s.
        """
        endpoint = FakeEndpoint()
        client = StompClient(endpoint, reactor=Clock(), reconnect=None)
        client.start()
        endpoint.last.connected("1.2")
        calls = (
            lambda: client.send(first, second, headers, receipt=receipt),
            lambda: client.send_frame(first, second, headers, receipt=receipt),
            lambda: client.reg_cb(first, second, priority=receipt),
            lambda: client.unreg_cb(first),
        )
        for call in calls:
            try:
                call()
            except StompError as error:
                str(error)
