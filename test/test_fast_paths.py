"""
The per-message fast paths of issue 14 give what the general paths give:
the checks of a request's headers, the send of a message without a
receipt, the Deferred it returns and the write of the next frames of a
burst on a TCP connection, the dispatch of a MESSAGE without
observers, and the registry of observed events they read.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks, succeed
from twisted.trial.unittest import SynchronousTestCase, TestCase

from stomp_twisted import arguments
from stomp_twisted._writer import ConnectionWriter, Written
from stomp_twisted.client import StompClient
from stomp_twisted.errors import ClientClosed, NotConnected
from stomp_twisted.frame import HEARTBEAT, Frame, FrameDecoder
from stomp_twisted.observers import Observers
from stomp_twisted.protocol import StompProtocol
from stomp_twisted.reconnect import ReconnectPolicy
from stomp_twisted.redelivery import RedeliveryPolicy
from test.hostile import reactor
from test.test_client import Boom, ClientTestCase, message_headers
from test.test_direct_send import MIB, loopback
from test.test_frame import (
    CHUNKING_EVENTS,
    CHUNKING_PIECES,
    CHUNKING_STREAM,
    drain,
    feed,
    feed_all_then_drain,
)
from test.test_protocol import CONNECTED_10, CONNECTED_12, connected, make_protocol


class _Text(str):
    """
    A str subclass, which the checks take as text.
    """


def _outcome(call: Callable[[Any], object], argument: object) -> tuple[str, object]:
    # What a call returned, or the type and message of what it raised.
    try:
        return ("returned", call(argument))
    except Exception as error:
        return (type(error).__name__, str(error))


class RequestHeadersTests(SynchronousTestCase):
    """
    L{arguments.request_headers} checks a dict of ASCII text at once; what
    it returns or raises is what the loop over each header (taken for any
    other mapping) returns or raises.
    """

    CASES: list[dict[Any, Any]] = [
        {},
        {"a": "b"},
        {"auto-delete": "true", "x-expires": "600000"},
        {"n": 5},
        {"n": True},
        {"n": 1.5},
        {"n": None},
        {b"n": "v"},
        {5: "v"},
        {"": "v"},
        {"a": ""},
        {"a\0b": "v"},
        {"a": "v\0"},
        {"a": "caf\u00e9"},
        {"caf\u00e9": "v"},
        {"a": "\ud800"},
        {"\ud800": "v"},
        {"a": "line\nbreak", "b:c": "d"},
        {_Text("name"): _Text("value")},
        {"a": "b", "c": 7, "d": "\0"},
    ]

    def test_same_as_the_loop(self) -> None:
        """
        For each case, a dict gives what a read-only view of it (another
        mapping, checked header by header) gives.
        """
        for headers in self.CASES:
            fast = _outcome(arguments.request_headers, headers)
            general = _outcome(arguments.request_headers, MappingProxyType(headers))
            self.assertEqual(fast, general, headers)

    def test_new_dict(self) -> None:
        """
        The result is a new dict: changing it leaves the caller's alone.
        """
        headers = {"a": "b"}
        checked = arguments.request_headers(headers)
        checked["destination"] = "/q"
        self.assertEqual(headers, {"a": "b"})
        self.assertEqual(type(checked), dict)


class ObservedTests(SynchronousTestCase):
    """
    L{Observers.observed}, the view the receive path reads instead of
    calling L{Observers.has}.
    """

    def test_follows_registrations(self) -> None:
        """
        An event is in it from its first registration to the removal of
        its last callback, and L{Observers.has} agrees.
        """
        observers = Observers()
        first = observers.register("e", lambda: None)
        second = observers.register("e", lambda: None)
        self.assertEqual(observers.observed, {"e"})
        observers.unregister(first)
        self.assertEqual(observers.observed, {"e"})
        observers.unregister(second)
        observers.unregister(second)
        self.assertEqual(observers.observed, set())
        self.assertFalse(observers.has("e"))


class SendMessageTests(ClientTestCase):
    """
    C{send(..., receipt=False)} on an established session goes straight to
    the protocol: what it writes, counts and returns is what the general
    path (L{StompClient.send_frame}) gives.
    """

    def test_same_as_send_frame(self) -> None:
        """
        The same bytes, the same count of messages sent, a Deferred that
        has fired with C{None}.
        """
        written = []
        for send in (
            lambda client: client.send(b"body", "/q/a", {"k": "v"}, receipt=False),
            lambda client: client.send_frame(
                "SEND", b"body", {"k": "v", "destination": "/q/a"}, receipt=False
            ),
        ):
            client, conn = self.connect_client()
            self.assertIsNone(self.successResultOf(send(client)))
            written.append((conn.sent(), client.stats.sent))
        self.assertEqual(written[0], written[1])
        headers = {"k": "v", "destination": "/q/a", "content-length": "4"}
        self.assertEqual(written[0], ([Frame("SEND", headers, b"body")], 1))

    def test_before_connected(self) -> None:
        """
        Before the first CONNECTED the message waits for it, as with a
        receipt.
        """
        client = self.make_client()
        client.start()
        conn = self.endpoint.last
        sent = client.send(b"x", "/q/a", receipt=False)
        self.assertNoResult(sent)
        conn.sent_one()
        conn.connected("1.2")
        self.assertIsNone(self.successResultOf(sent))
        self.assertEqual(conn.sent_one().command, "SEND")
        self.assertEqual(client.stats.sent, 1)

    def test_after_loss(self) -> None:
        """
        Once connected, a message sent while disconnected fails with
        L{NotConnected}, uncounted.
        """
        client, conn = self.connect_client()
        conn.lose()
        self.failureResultOf(client.send(b"x", "/q/a", receipt=False), NotConnected)
        self.assertEqual(client.stats.sent, 0)

    def test_after_disconnect(self) -> None:
        """
        After C{disconnect()}, C{send} raises L{ClientClosed}.
        """
        client, _ = self.connect_client()
        client.disconnect()
        self.assertRaises(ClientClosed, client.send, b"x", "/q/a", receipt=False)

    def test_written_deferred(self) -> None:
        """
        Each C{send(..., receipt=False)} returns a new L{Written}, which
        fires with C{None} as C{succeed(None)} does.
        """
        client, _ = self.connect_client()
        first = client.send(b"x", "/q/a", receipt=False)
        second = client.send(b"x", "/q/a", receipt=False)
        self.assertIsInstance(first, Written)
        self.assertIsNot(first, second)
        self.assertIsNone(self.successResultOf(first))
        self.assertIsNone(self.successResultOf(second))


class _Loud(str):
    """
    A str subclass, sent as its text.
    """


class SendPlainTests(ClientTestCase):
    """
    C{send(bytes, ..., receipt=False)}, the publisher's call, keeps the
    last message's encoded head and reuses it for an equal destination
    and equal headers: what a sequence of such sends writes, counts and
    raises is what the same sequence through the general path
    (L{StompClient.send_frame}) gives, whatever changes from one message
    to the next.
    """

    shared = {"k": "v", "n": "1"}

    # (body, destination, headers), sent in this order on one connection,
    # so that each finds the head kept by the one before.
    SEQUENCE: list[tuple[bytes, str, Any]] = [
        (b"one", "/q/a", shared),
        (b"two", "/q/a", shared),
        (b"three", "/q/b", shared),
        (b"four", "/q/b", {"k": "v", "n": "1"}),
        (b"six", "/q/b", None),
        (b"seven", "/q/b", None),
        (b"eight", "/q/b", {}),
        (b"", "/q/b", {}),
        # (An int equals a float or bool that is written otherwise.)
        (b"nine", "/q/b", {"n": 1}),
        (b"ten", "/q/b", {"n": 1.0}),
        (b"eleven", "/q/b", {"n": 1}),
        (b"twelve", "/q/b", {"n": True}),
        (b"twelve", "/q/b", {"n": "1"}),
        (b"13", "/q/b", {"k": "a:b\nc"}),
        (b"14", "/q/b", {"k": "a:b\nc"}),
        (b"15", "/q/b", {"content-length": "99"}),
        (b"16", "/q/b", {"content-length": "99"}),
        (b"17", "/q/b", {"destination": "/q/other", "x": "y"}),
        (b"18", "/q/b", {"destination": "/q/other", "x": "y"}),
        (b"19", "/q/b", MappingProxyType({"x": "y"})),
        (b"20", "/q/b", {_Loud("x"): _Loud("y")}),
        (b"21", "/q/b", {"x": "y"}),
        (b"x" * 70000, "/q/b", {"x": "y"}),
        (b"22", "/q/b", {"x": "caf\u00e9"}),
        (b"23", "/q/b", {"x": "caf\u00e9"}),
        (b"24", "/q/b", {"x": "\ud800"}),
        (b"25", "/q/b", {"x": "v", "receipt": "r"}),
        (b"26", "/q/b", {"x": "v\0"}),
        (b"27", "/q/b", {"x": "y"}),
    ]

    def _sequence(self, version: str, general: bool) -> list[object]:
        client, conn = self.connect_client(version)
        outcomes: list[object] = []
        for body, destination, headers in self.SEQUENCE:
            if general:
                frame_headers = {} if headers is None else dict(headers)
                frame_headers["destination"] = destination
                case = ("SEND", body, frame_headers)
                outcome = _outcome(lambda c: client.send_frame(*c, receipt=False), case)
            else:
                case = (body, destination, headers)
                outcome = _outcome(lambda c: client.send(*c, receipt=False), case)
            if outcome[0] == "returned":
                self.assertIsNone(self.successResultOf(outcome[1]))
                outcome = ("returned", None)
            outcomes.append((outcome, conn.transport.value(), client.stats.sent))
            conn.transport.clear()
        return outcomes

    def test_same_as_send_frame(self) -> None:
        """
        In STOMP 1.2 and 1.0 (which escapes nothing), each send of the
        sequence writes the bytes, counts and returns or raises what the
        general path does.
        """
        for version in ("1.2", "1.0"):
            plain = self._sequence(version, general=False)
            general = self._sequence(version, general=True)
            for case, fast, slow in zip(self.SEQUENCE, plain, general, strict=True):
                self.assertEqual(fast, slow, (version, case[0][:10], case[2]))

    def test_changed_dict(self) -> None:
        """
        A headers dict changed between two sends: the second is written
        with the new headers, not the kept head.
        """
        client, conn = self.connect_client()
        headers = {"k": "v"}
        client.send(b"a", "/q/a", headers, receipt=False)
        headers["k"] = "w"
        client.send(b"b", "/q/a", headers, receipt=False)
        headers["k"] = "line\nbreak"
        client.send(b"c", "/q/a", headers, receipt=False)
        self.assertEqual([frame.headers["k"] for frame in conn.sent()], ["v", "w", "line\nbreak"])

    def test_reordered(self) -> None:
        """
        Headers equal as dicts but in another order reuse the kept head:
        the frame, parsed, is the one the general path writes.
        """
        client, conn = self.connect_client()
        client.send(b"a", "/q/a", {"k": "v", "n": "1"}, receipt=False)
        first = conn.transport.value()
        conn.transport.clear()
        client.send(b"a", "/q/a", {"n": "1", "k": "v"}, receipt=False)
        self.assertEqual(conn.transport.value(), first)
        reordered = conn.sent()
        client.send_frame("SEND", b"a", {"n": "1", "k": "v", "destination": "/q/a"}, receipt=False)
        self.assertEqual(reordered, conn.sent())

    def test_kept_across_reconnection(self) -> None:
        """
        A head kept on one connection is written alike on the next, of
        another version.
        """
        client, conn = self.connect_client("1.2", reconnect=ReconnectPolicy(jitter=0))
        client.send(b"a", "/q/a", {"k": "v"}, receipt=False)
        first = conn.transport.value()
        conn.lose()
        self.clock.advance(60)
        second_conn = self.endpoint.last
        second_conn.sent_one()
        second_conn.connected("1.0")
        self.assertIsNone(
            self.successResultOf(client.send(b"a", "/q/a", {"k": "v"}, receipt=False))
        )
        self.assertEqual(second_conn.transport.value(), first[first.index(b"SEND") :])

    def test_not_connected(self) -> None:
        """
        With a kept head, a send while disconnected fails with
        L{NotConnected}, uncounted, and after C{disconnect()} raises
        L{ClientClosed}.
        """
        client, conn = self.connect_client()
        client.send(b"a", "/q/a", {"k": "v"}, receipt=False)
        conn.lose()
        self.failureResultOf(client.send(b"a", "/q/a", {"k": "v"}, receipt=False), NotConnected)
        self.assertEqual(client.stats.sent, 1)
        client.disconnect()
        self.assertRaises(ClientClosed, client.send, b"a", "/q/a", {"k": "v"}, receipt=False)


def _protocol_send(
    send: Callable[[StompProtocol, Frame], object],
    state: str,
    frame: Frame,
) -> tuple[object, ...]:
    # One frame sent on a protocol in the given state; what the call gave
    # (a Deferred's state and result, or what it raised) and what was
    # written.
    data = CONNECTED_10 if state == "1.0" else CONNECTED_12
    if state == "handshake":
        _, protocol, transport = make_protocol()
        transport.clear()
    else:
        _, protocol, transport = connected(data)
    if state in ("full", "over"):
        protocol._writer.pauseProducing()
    if state == "over":
        protocol._writer._written_while_full = 8 * 1024 * 1024
    if state == "closing":
        protocol.close()
        transport.clear()
    try:
        result = send(protocol, frame)
    except Exception as error:
        return (type(error).__name__, str(error), transport.value())
    if isinstance(result, Deferred):
        outcome: object = (result.called, getattr(result, "result", None))
    else:
        outcome = result
    return (outcome, transport.value(), protocol._writer.bytes_written)


class ProtocolSendMessageTests(SynchronousTestCase):
    """
    L{StompProtocol.send_message} gives what L{StompProtocol.send_frame}
    without a receipt gives while the connection is usable, and C{None},
    having checked and written nothing, while it is not.
    """

    FRAMES = [
        Frame("SEND", {"destination": "/q/a", "k": "v"}, b"body"),
        Frame("SEND", {"destination": "/q/a", "k": "a\nb"}, b""),
        Frame("SEND", {"destination": "/q/a", "k": "a:b"}, b"x" * 70000),
    ]

    def test_usable(self) -> None:
        """
        Connected (1.2 and 1.0, where a colon in a value is not escaped),
        and with the transport's buffer full, under and over
        C{max_send_buffer}: the same result, bytes and count.
        """
        for state in ("1.2", "1.0", "full", "over"):
            for frame in self.FRAMES:
                general = _protocol_send(lambda p, f: p.send_frame(f), state, frame)
                fast = _protocol_send(lambda p, f: p.send_message(f), state, frame)
                self.assertEqual(fast, general, (state, frame))

    def test_not_usable(self) -> None:
        """
        Before CONNECTED and once closing, C{None}, and nothing written.
        """
        for state in ("handshake", "closing"):
            for frame in self.FRAMES:
                fast = _protocol_send(lambda p, f: p.send_message(f), state, frame)
                self.assertEqual(fast[:2], (None, b""), state)


def _awaited(deferred: Deferred[Any]) -> Deferred[tuple[str, object]]:
    # What awaiting deferred in a coroutine gives: its value, or the type
    # and message of what it raises.
    async def wait() -> tuple[str, object]:
        try:
            return ("returned", await deferred)
        except Exception as error:
            return (type(error).__name__, str(error))

    return ensureDeferred(wait())


class WrittenTests(SynchronousTestCase):
    """
    L{Written}, the already-fired Deferred of a send without a receipt,
    behaves as C{succeed(None)}: awaited at once, after callbacks that
    change its result, fail it or chain another Deferred, and awaited
    twice.
    """

    def _outcomes(self, make: Callable[[], Deferred[Any]]) -> list[object]:
        outcomes: list[object] = []
        plain = make()
        outcomes.append(self.successResultOf(_awaited(plain)))
        outcomes.append(self.successResultOf(_awaited(plain)))
        changed = make()
        changed.addCallback(lambda result: (result, 5))
        outcomes.append(self.successResultOf(_awaited(changed)))
        failed = make()
        failed.addCallback(lambda result: 1 / 0)
        outcomes.append(self.successResultOf(_awaited(failed)))
        recovered = make()
        recovered.addCallback(lambda result: 1 / 0).addErrback(lambda failure: None)
        outcomes.append(self.successResultOf(_awaited(recovered)))
        later: Deferred[str] = Deferred()
        chained = make()
        chained.addCallback(lambda result: later)
        awaiting = _awaited(chained)
        outcomes.append(awaiting.called)
        later.callback("later")
        outcomes.append(self.successResultOf(awaiting))
        outcomes.append(self.successResultOf(make()))
        outcomes.append((make().called, make().paused))
        return outcomes

    def test_same_as_succeed(self) -> None:
        """
        Each case gives what it gives with C{succeed(None)}.
        """
        self.assertEqual(self._outcomes(Written), self._outcomes(lambda: succeed(None)))
        self.assertEqual(
            self._outcomes(Written)[:4],
            [
                ("returned", None),
                ("returned", None),
                ("returned", (None, 5)),
                ("ZeroDivisionError", "division by zero"),
            ],
        )

    def test_own_callbacks(self) -> None:
        """
        Callbacks added to one L{Written} leave another alone.
        """
        first, second = Written(), Written()
        first.addCallback(lambda result: "changed")
        self.assertEqual(self.successResultOf(first), "changed")
        self.assertIsNone(self.successResultOf(second))


def _callbacks() -> dict[str, Callable[..., object]]:
    # The kinds of subscription callback, by name.
    def raising(*args: object) -> None:
        raise Boom()

    async def coroutine(*args: object) -> None:
        return None

    return {
        "none": lambda *args: None,
        "value": lambda *args: "ignored",
        "raising": raising,
        "deferred": lambda *args: succeed(None),
        "coroutine": coroutine,
    }


class DispatchTests(ClientTestCase):
    """
    A MESSAGE without observers is dispatched without a list of results;
    the frames written and the counters are those of the general path,
    taken when an observer of another kind of frame is registered (here a
    C{"frame"} observer that returns C{None}).
    """

    def _deliver(
        self, callback: Callable[..., object], ack: Any, observed: bool
    ) -> tuple[Any, ...]:
        client, conn = self.connect_client(
            redelivery=RedeliveryPolicy(initial_delay=0, max_deliveries=2)
        )
        if observed:
            client.reg_cb("frame", lambda *args: None)
        self.subscribed(client, conn, callback, ack=ack)
        for n in (1, 2):
            conn.receive("MESSAGE", message_headers(n), b"x")
        self.clock.advance(1)
        stats = client.stats
        return (
            conn.sent(),
            stats.messages_received,
            stats.acknowledged,
            stats.nacked,
            stats.unacknowledged,
            stats.in_flight,
        )

    def test_same_as_observed(self) -> None:
        """
        Each kind of callback, under each ack policy, writes and counts
        what it does with an observer registered.
        """
        for name, callback in _callbacks().items():
            for ack in (None, "auto", "manual"):
                fast = self._deliver(callback, ack, observed=False)
                general = self._deliver(callback, ack, observed=True)
                self.assertEqual(fast, general, (name, ack))
        self.flushLoggedErrors(Boom)

    def test_no_callback(self) -> None:
        """
        A subscription without a callback is still acknowledged under
        C{ack="auto"}.
        """
        client, conn = self.connect_client()
        self.subscribed(client, conn, None, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])

    def test_observer_registered_by_callback(self) -> None:
        """
        A MESSAGE observer that the subscription's callback registers
        sees that message too, before its ACK, and its Deferred is waited
        for, as on the general path.
        """
        client, conn = self.connect_client()
        waiting: Deferred[None] = Deferred()
        seen: list[bytes] = []

        def observer(client: StompClient, body: bytes, headers: dict[str, str]) -> object:
            seen.append(body)
            return waiting

        def callback(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            client.reg_cb("MESSAGE", observer)

        self.subscribed(client, conn, callback, ack="auto")
        conn.receive("MESSAGE", message_headers(1), b"x")
        self.assertEqual(seen, [b"x"])
        self.assertEqual(conn.sent(), [])
        waiting.callback(None)
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])


class BurstWriteTests(TestCase):
    """
    The next frames of a burst on Twisted's TCP transport, which
    L{ConnectionWriter.write} adds to the transport's buffer itself, leave
    the transport as its own C{write} does: the same bytes held, then
    sent in order; its producer (the writer) paused at the same frame;
    the transport watched for writability.
    """

    @inlineCallbacks
    def _burst(self, fast: bool) -> Any:
        client, peer = yield loopback(self)
        transport: Any = client.transport
        writer = ConnectionWriter(client)
        writer.attach()

        def close() -> Deferred[None]:
            writer.detach()
            transport.abortConnection()
            return client.lost  # type: ignore[no-any-return]

        self.addCleanup(close)
        peer.transport.pauseProducing()  # type: ignore[union-attr]
        transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        # The first frame fills the socket: the transport holds the rest,
        # and its bound is set to be passed some 400 frames later.
        transport.bufferSize = 64 * MIB
        first = b"F" * (16 * MIB)
        writer.write(first)
        held = transport._tempDataLen + len(transport.dataBuffer)
        self.assertTrue(0 < transport._tempDataLen < len(first))
        transport.bufferSize = held + 40_000
        frames = [b"SEND\n\n%095d\0" % i for i in range(1000)]
        states = []
        for frame in frames:
            if fast:
                writer.write(frame)
            else:
                transport.write(frame)
            states.append(
                (
                    transport._tempDataLen + len(transport.dataBuffer) - held,
                    transport.producerPaused,
                    writer.send_buffer_full,
                    transport in reactor.getWriters(),
                )
            )
        peer.transport.resumeProducing()  # type: ignore[union-attr]
        total = len(first) + sum(map(len, frames))
        yield peer.when_received(total)
        self.assertEqual(bytes(peer.received), first + b"".join(frames))
        return states

    @inlineCallbacks
    def test_same_as_transport_write(self) -> Any:
        """
        Frame by frame, the transport's state is the same.
        """
        fast = yield self._burst(fast=True)
        general = yield self._burst(fast=False)
        self.assertEqual(fast, general)
        paused = [state[1] for state in fast]
        self.assertFalse(paused[0])
        self.assertTrue(paused[-1])


class IdleReadTests(SynchronousTestCase):
    """
    A read that arrives when the decoder has parsed everything before it
    and holds nothing pending (the usual read at light load: one frame,
    drained before the next read) becomes the decoder's buffer at once;
    the events are those of the general path, which gathers reads first.
    """

    def test_a_piece_a_read(self) -> None:
        """
        Each piece of the chunking stream in its own read, drained after
        each, as bytes or as a bytearray, decodes as the stream whole.
        """
        pieces = [piece for piece, _ in CHUNKING_PIECES]
        self.assertEqual(feed(pieces), CHUNKING_EVENTS)
        self.assertEqual(feed([bytearray(piece) for piece in pieces]), CHUNKING_EVENTS)

    def test_cut_after_an_idle_read(self) -> None:
        """
        Reads that begin on an idle decoder and end anywhere (in the
        command line, a header, the body, between the body and its NUL, or
        in the next frame) decode as the stream whole, whether each is
        drained at once or the reads are gathered first.
        """
        data = CHUNKING_STREAM
        starts = []
        offset = 0
        for piece, _ in CHUNKING_PIECES:
            starts.append(offset)
            offset += len(piece)
        for start in starts:
            for end in range(start + 1, len(data) + 1):
                chunks = [data[:start], data[start:end], data[end:]]
                self.assertEqual(feed(chunks), CHUNKING_EVENTS, (start, end))
                self.assertEqual(feed_all_then_drain(chunks), CHUNKING_EVENTS, (start, end))

    def test_nothing_held(self) -> None:
        """
        A whole frame read on an idle decoder leaves nothing buffered once
        drained; a read without a line end waits, and is counted.
        """
        decoder = FrameDecoder("1.2")
        frame = b"MESSAGE\ndestination:/queue/a\ncontent-length:2\n\nhi\0\n"
        decoder.receive_data(frame)
        self.assertEqual(
            drain(decoder),
            [
                Frame("MESSAGE", {"destination": "/queue/a", "content-length": "2"}, b"hi"),
                HEARTBEAT,
            ],
        )
        self.assertEqual(decoder.buffered, 0)
        decoder.receive_data(b"MESS")
        self.assertEqual(drain(decoder), [])
        self.assertEqual(decoder.buffered, 4)
        decoder.receive_data(b"AGE\n\n\0")
        self.assertEqual(drain(decoder), [Frame("MESSAGE")])
        self.assertEqual(decoder.buffered, 0)
