"""
Bytes handed to the socket at once when the transport holds nothing
(L{stomp_twisted._direct_send}, L{stomp_twisted._writer}), over real
loopback TCP: what the socket does not take, the transport sends, in
order; a burst still waits in the transport; the send buffer's bound,
pausing, closing and a broken connection behave as before.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort, ITCPTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface import implementer

from stomp_twisted import _direct_send, _writer
from stomp_twisted._direct_send import (
    MAX_PIECES,
    WIDE_SEND_BUFFER,
    direct_socket,
    no_delay,
    quick_ack,
    send_at_once,
    send_buffer_to_ask,
    send_now,
    widen_send_buffer,
)
from stomp_twisted._encoder import serialize_frame_pieces
from stomp_twisted._writer import ConnectionWriter
from stomp_twisted.frame import Frame, serialize_frame
from test.hostile import deadline, reactor

MIB = 1024 * 1024


class _Peer(Protocol):
    # The far end: keeps what it reads, reads only when told.
    def __init__(self) -> None:
        self.received = bytearray()
        self.arrived: list[tuple[int, Deferred[None]]] = []
        self.lost: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        waiting = [(size, d) for size, d in self.arrived if len(self.received) >= size]
        self.arrived = [(size, d) for size, d in self.arrived if len(self.received) < size]
        for _, d in waiting:
            d.callback(None)

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.lost.callback(None)

    def when_received(self, size: int) -> Deferred[None]:
        """
        @return: a L{Deferred} that fires once C{size} bytes have arrived.
        """
        if len(self.received) >= size:
            return Deferred.fromResult(None)
        d: Deferred[None] = Deferred()
        self.arrived.append((size, d))
        return deadline(d, what=f"{size} bytes at the peer")


class _Client(Protocol):
    def __init__(self) -> None:
        self.lost: Deferred[None] = Deferred()

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.lost.callback(None)


class _Monitor:
    # Stands for the heart-beat monitor: counts what it is told of.
    writes = 0

    def wrote(self) -> None:
        self.writes += 1


@inlineCallbacks
def loopback(case: TestCase) -> Any:
    """
    A Twisted TCP connection to a peer on 127.0.0.1, both ends closed when
    C{case} ends.

    @return: a L{Deferred} firing with the client's protocol and the peer.
    """
    peers: list[_Peer] = []
    accepted: Deferred[None] = Deferred()

    def build() -> _Peer:
        peer = _Peer()
        peers.append(peer)
        accepted.callback(None)
        return peer

    port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        Factory.forProtocol(build)
    )
    case.addCleanup(port.stopListening)
    client: _Client = yield TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
        Factory.forProtocol(_Client)
    )
    yield deadline(accepted, what="the connection")
    return (client, peers[0])


class LoopbackTests(TestCase):
    """
    A L{ConnectionWriter} on a real Twisted TCP connection to a peer on
    127.0.0.1.
    """

    @inlineCallbacks
    def setUp(self) -> Any:
        self.client, self.peer = yield loopback(self)
        self.transport: Any = self.client.transport
        # The tests set small send buffers, so that a large frame is sent
        # in part: the first large frame must not widen them.
        self.patch(_direct_send, "_system_send_buffer_to_ask", lambda: None)
        self.writer = ConnectionWriter(self.client, max_send_buffer=4 * MIB)
        self.writer.attach()
        self.monitor = _Monitor()
        self.writer.monitor = self.monitor  # type: ignore[assignment]

        def close() -> Deferred[Any]:
            self.writer.detach()
            self.transport.abortConnection()
            return self.client.lost

        self.addCleanup(close)

    def holds(self) -> int:
        """
        @return: how many bytes the client's transport holds, unsent.
        """
        pending = len(self.transport.dataBuffer) - self.transport.offset
        return pending + sum(map(len, self.transport._tempDataBuffer))

    def test_lone_write_sent_at_once(self) -> None:
        """
        A write to a transport holding nothing goes to the socket before
        C{write} returns; it is counted and the monitor is told.
        """
        self.assertIsNotNone(direct_socket(self.transport))
        self.writer.write(b"SEND\n\nhello\0")
        self.assertEqual(self.holds(), 0)
        self.assertNotIn(self.transport, reactor.getWriters())
        self.assertEqual(self.writer.bytes_written, 12)
        self.assertEqual(self.monitor.writes, 1)
        return self.peer.when_received(12)

    @inlineCallbacks
    def test_burst_waits_in_the_transport(self) -> Any:
        """
        The frames that follow a frame sent at once in the same turn wait
        in the transport, which sends them together; all arrive in order.
        """
        frames = [b"SEND\n\n%d\0" % i for i in range(1000)]
        for frame in frames:
            self.writer.write(frame)
        self.assertEqual(self.holds(), sum(map(len, frames[1:])))
        self.assertIn(self.transport, reactor.getWriters())
        yield self.peer.when_received(sum(map(len, frames)))
        self.assertEqual(bytes(self.peer.received), b"".join(frames))

    def test_read_starts_afresh(self) -> None:
        """
        After a read begins (a batch opens), a frame written outside it
        goes at once again, as does a read's batch.
        """
        self.writer.write(b"A\0")
        self.writer.write(b"B\0")  # the next of a burst: waits
        self.assertEqual(self.holds(), 2)
        self.transport.doWrite()  # the reactor's turn, done here
        self.assertEqual(self.holds(), 0)
        self.writer.begin_batch()
        self.writer.write(b"C\0")
        self.writer.write(b"D\0")
        self.assertEqual(self.holds(), 0)
        self.writer.end_batch()
        self.assertEqual(self.holds(), 0)
        return self.peer.when_received(8)

    def test_quiet_starts_afresh(self) -> None:
        """
        A write L{BURST_GAP<stomp_twisted._writer.BURST_GAP>} after one
        sent at once is sent at once too, read or not.
        """
        self.patch(_writer, "BURST_GAP", 0.0)
        for frame in (b"A\0", b"B\0", b"C\0"):
            self.writer.write(frame)
            self.assertEqual(self.holds(), 0)
        self.writer.write_heartbeat()
        self.assertEqual(self.holds(), 0)
        self.assertEqual(self.writer.bytes_written, 7)
        return self.peer.when_received(7)

    def test_resumed_sender_bursts(self) -> None:
        """
        Once the transport has drained after filling (C{resumeProducing}),
        what the resumed sender writes next is a burst: it waits in the
        transport, to go out together, as before.
        """
        self.writer.pauseProducing()
        self.writer.resumeProducing()
        self.writer.write(b"A\0")
        self.writer.write(b"B\0")
        self.assertEqual(self.holds(), 4)
        return self.peer.when_received(4)

    @inlineCallbacks
    def test_partial_send(self) -> Any:
        """
        A large frame the socket cannot take whole: the rest waits in the
        transport as one bytes object, pausing the writer past its buffer
        size; what is written meanwhile follows it; the peer gets every
        byte, in order, and the writer resumes once all is sent.
        """
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.peer.transport.pauseProducing()  # type: ignore[union-attr]
        body = bytes(range(256)) * (4 * MIB // 256)
        frame = Frame("SEND", {"destination": "/queue/a"}, body)
        pieces = serialize_frame_pieces(frame, "1.2")
        self.writer.write(pieces)
        pending = self.holds()
        self.assertGreater(pending, 0)
        self.assertLess(pending, len(serialize_frame(frame, "1.2")))
        self.assertEqual(len(self.transport._tempDataBuffer), 1)
        self.assertTrue(self.writer.send_buffer_full)
        writable = self.writer.when_writable()
        self.writer.write(b"ACK\n\n\0")
        self.assertEqual(self.holds(), pending + 6)
        self.peer.transport.resumeProducing()  # type: ignore[union-attr]
        expected = serialize_frame(frame, "1.2") + b"ACK\n\n\0"
        yield self.peer.when_received(len(expected))
        self.assertEqual(bytes(self.peer.received), expected)
        yield deadline(writable, what="the writer resumed")
        self.assertFalse(self.writer.send_buffer_full)
        self.assertEqual(self.writer.bytes_written, len(expected))

    @inlineCallbacks
    def test_bound_while_full(self) -> Any:
        """
        While the rest of a frame waits, C{check_room} bounds what more is
        written, as with any full transport.
        """
        from stomp_twisted.errors import SendBufferFull

        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.peer.transport.pauseProducing()  # type: ignore[union-attr]
        frame = Frame("SEND", {}, b"x" * (2 * MIB))
        self.writer.write(serialize_frame_pieces(frame, "1.2"))
        self.assertTrue(self.writer.send_buffer_full)
        big = b"y" * (3 * MIB)
        self.writer.check_room(big)
        self.assertRaises(SendBufferFull, self.writer.check_room, big)
        self.writer.write(big)
        self.peer.transport.resumeProducing()  # type: ignore[union-attr]
        yield self.peer.when_received(len(serialize_frame(frame, "1.2")) + len(big))

    @inlineCallbacks
    def test_close_while_writing(self) -> Any:
        """
        Closing while the rest of a frame waits sends it all, then closes.
        """
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.peer.transport.pauseProducing()  # type: ignore[union-attr]
        frame = Frame("SEND", {}, b"z" * MIB)
        self.writer.write(serialize_frame_pieces(frame, "1.2"))
        self.assertGreater(self.holds(), 0)
        self.writer.detach()
        self.transport.loseConnection()
        self.assertIsNone(direct_socket(self.transport))
        self.writer.write(b"late\0")  # after loseConnection: queued, as Twisted does
        self.peer.transport.resumeProducing()  # type: ignore[union-attr]
        yield deadline(self.peer.lost, what="the close")
        self.assertEqual(bytes(self.peer.received), serialize_frame(frame, "1.2") + b"late\0")

    @inlineCallbacks
    def test_sends_more_a_turn(self) -> Any:
        """
        Once attached, the transport hands the kernel more than Twisted's
        128 KiB C{SEND_LIMIT} in one C{doWrite} when it takes it; all
        arrives, in order.
        """
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MIB)
        self.peer.transport.pauseProducing()  # type: ignore[union-attr]
        data = bytes(range(256)) * (2 * MIB // 256)
        self.transport.write(data)  # buffered, as Twisted does
        self.transport.doWrite()
        self.assertGreater(len(data) - self.holds(), self.transport.SEND_LIMIT)
        self.peer.transport.resumeProducing()  # type: ignore[union-attr]
        yield self.peer.when_received(len(data))
        self.assertEqual(bytes(self.peer.received), data)

    def test_no_delay(self) -> None:
        """
        Once attached, the TCP connection sends small writes at once
        (C{TCP_NODELAY}): Nagle would hold a frame written after a large
        one until the peer acknowledged that one's last segment.
        """
        sock = self.transport.socket
        self.assertTrue(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def test_quick_ack(self) -> None:
        """
        L{quick_ack} turns the connection's delayed ACKs off for now
        (C{TCP_QUICKACK}, on Linux); on other transports it does nothing.
        """
        if not hasattr(socket, "TCP_QUICKACK"):
            raise SkipTest("no TCP_QUICKACK on this system")
        sock = self.transport.socket
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        quick_ack(self.transport)
        self.assertTrue(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK))
        quick_ack(StringTransport())
        quick_ack(None)

    def test_widen_send_buffer(self) -> None:
        """
        L{widen_send_buffer} sets the socket's C{SO_SNDBUF} to what the
        system allows (which Linux doubles), and nothing where it allows no
        more than Linux's own sizing; on other transports it does nothing.
        """
        sock = self.transport.socket
        before = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        self.patch(_direct_send, "_system_send_buffer_to_ask", lambda: None)
        widen_send_buffer(self.transport)
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), before)
        # Under any system's net.core.wmem_max (212,992 by default).
        size = 100_000
        self.patch(_direct_send, "_system_send_buffer_to_ask", lambda: size)
        widen_send_buffer(self.transport)
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), 2 * size)
        widen_send_buffer(StringTransport())
        widen_send_buffer(None)

    def test_wide_send_buffer(self) -> None:
        """
        What is asked for: as much of L{WIDE_SEND_BUFFER} as is allowed,
        only where the kernel's double of it beats the automatic sizing.
        """
        mib = 1024 * 1024
        self.assertEqual(send_buffer_to_ask(4 * mib, 4 * mib), WIDE_SEND_BUFFER)
        self.assertEqual(send_buffer_to_ask(64 * mib, 4 * mib), WIDE_SEND_BUFFER)
        self.assertEqual(send_buffer_to_ask(3 * mib, 4 * mib), 3 * mib)
        # Debian's defaults: asking would shrink the buffer.
        self.assertIsNone(send_buffer_to_ask(212_992, 4 * mib))
        self.assertIsNone(send_buffer_to_ask(2 * mib, 4 * mib))

    def test_large_frame_widens(self) -> None:
        """
        The first large frame written (its pieces) widens the socket's
        send buffer, once a connection; small frames do not.
        """
        widened: list[object] = []
        self.patch(_writer, "widen_send_buffer", widened.append)
        self.writer.write(b"SEND\n\n\0")
        self.assertEqual(widened, [])
        frame = Frame("SEND", {"destination": "/queue/a"}, b"x" * 100_000)
        self.writer.write(serialize_frame_pieces(frame, "1.2"))
        self.writer.write(serialize_frame_pieces(frame, "1.2"))
        self.assertEqual(widened, [self.transport])

    def test_send_more_errors(self) -> None:
        """
        The transport's sends report a full socket as nothing sent, and
        any other failure as the connection lost, as Twisted's do.
        """
        from twisted.internet import main

        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.peer.transport.pauseProducing()  # type: ignore[union-attr]
        chunk = b"x" * 65536
        while self.transport.writeSomeData(chunk):
            pass
        self.assertEqual(self.transport.writeSomeData(chunk), 0)
        self.transport.socket.shutdown(socket.SHUT_WR)
        self.assertIs(self.transport.writeSomeData(chunk), main.CONNECTION_LOST)

    @inlineCallbacks
    def test_broken_connection(self) -> Any:
        """
        A write on a connection the peer has reset is handed to the
        transport, which reports the loss the usual way.
        """
        self.peer.transport.abortConnection()  # type: ignore[union-attr]
        yield deadline(self.peer.lost, what="the abort")
        # The client may not have read the reset yet: the send may fail.
        while not self.client.lost.called:
            self.writer.write(b"SEND\n\n\0")
            yield deferLater(0.01)
        self.assertTrue(self.client.lost.called)


def deferLater(seconds: float) -> Deferred[None]:
    from twisted.internet import task

    return task.deferLater(reactor, seconds)


class _Socket:
    # Takes at most `takes` bytes a call, or raises.
    def __init__(self, takes: int | None = None, error: OSError | None = None) -> None:
        self.takes = takes
        self.error = error
        self.sent: list[bytes] = []

    def _take(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        assert self.takes is not None
        self.sent.append(data[: self.takes])
        return min(self.takes, len(data))

    def send(self, data: bytes) -> int:
        return self._take(bytes(data))

    def sendmsg(self, pieces: Sequence[bytes]) -> int:
        return self._take(b"".join(pieces))


@implementer(ITCPTransport)
class _BrokenTCP:
    # A TCP transport whose socket is gone (setsockopt: EBADF).
    def __init__(self) -> None:
        self.tried: list[bool] = []

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.tried.append(enabled)
        raise OSError(errno.EBADF, "Bad file descriptor")


class SendNowTests(SynchronousTestCase):
    """
    L{send_now}: what the socket does not take goes to the transport, once,
    in order.
    """

    def rest(self, pieces: Sequence[bytes], sock: _Socket) -> list[bytes]:
        transport = StringTransport()
        writes: list[bytes] = []
        transport.write = writes.append  # type: ignore[method-assign]
        send_now(transport, sock, pieces)  # type: ignore[arg-type]
        return writes

    def test_every_split(self) -> None:
        """
        Whatever the socket takes, across or within pieces, the rest is
        one write of exactly what it did not take.
        """
        pieces = [b"head\n\n", b"body" * 5, b"\0"]
        whole = b"".join(pieces)
        for takes in range(len(whole) + 1):
            writes = self.rest(pieces, _Socket(takes))
            if takes == len(whole):
                self.assertEqual(writes, [])
            else:
                self.assertEqual(writes, [whole[takes:]], takes)

    def test_whole_piece_left_uncopied(self) -> None:
        """
        A piece left whole, alone, is handed to the transport as it is.
        """
        body = b"b" * 100
        [written] = self.rest([b"head", body], _Socket(4))
        self.assertIs(written, body)

    def test_failure_hands_everything_over(self) -> None:
        """
        A failed send (a reset connection, a full socket) takes nothing:
        the transport gets it all.
        """
        for error in (ConnectionResetError(), BlockingIOError(), BrokenPipeError()):
            writes = self.rest([b"a", b"b"], _Socket(error=error))
            self.assertEqual(writes, [b"ab"])

    def test_many_pieces_joined(self) -> None:
        """
        More than L{MAX_PIECES} pieces are joined into one send.
        """
        pieces = [b"%03d" % i for i in range(MAX_PIECES + 1)]
        sock = _Socket(10**6)
        self.assertEqual(self.rest(pieces, sock), [])
        self.assertEqual(sock.sent, [b"".join(pieces)])

    def test_only_plain_tcp(self) -> None:
        """
        Other transports (test, TLS, WebSocket: not Twisted's TCP
        connections) are never written around.
        """
        self.assertIsNone(direct_socket(StringTransport()))
        self.assertIsNone(direct_socket(None))
        no_delay(StringTransport())
        no_delay(None)

    def test_no_delay_broken(self) -> None:
        """
        A TCP connection whose socket can no longer be set is left to
        report its loss the usual way: L{no_delay} raises nothing.
        """
        broken = _BrokenTCP()
        no_delay(broken)
        self.assertEqual(broken.tried, [True])


def _idle_tcp(sock: _Socket) -> tuple[Any, list[bytes]]:
    # A tcp.Server in the state direct_socket asks for (connected, holding
    # nothing), built without a reactor, on a fake socket; and its writes.
    transport: Any = object.__new__(tcp.Server)
    transport._tempDataBuffer = []
    transport.dataBuffer = b""
    transport.TLS = False
    transport.connected = 1
    transport.disconnecting = 0
    transport._writeDisconnected = False
    transport.socket = sock
    writes: list[bytes] = []
    transport.write = writes.append
    return transport, writes


class SendAtOnceTests(SynchronousTestCase):
    """
    L{send_at_once} sends one bytes object as L{direct_socket} and
    L{send_now} would, or does nothing where L{direct_socket} says no.
    """

    def test_every_split(self) -> None:
        """
        Whatever the socket takes, the rest is one write of exactly what
        it did not take, as L{send_now} gives it.
        """
        data = b"SEND\ndestination:/q\n\n" + b"x" * 20 + b"\0"
        for takes in range(len(data) + 1):
            transport, writes = _idle_tcp(_Socket(takes))
            self.assertTrue(send_at_once(transport, data))
            expected = SendNowTests().rest([data], _Socket(takes))
            self.assertEqual(writes, expected, takes)
            self.assertEqual(writes, [] if takes == len(data) else [data[takes:]], takes)

    def test_failure_hands_everything_over(self) -> None:
        """
        A failed send takes nothing: the transport gets it all, uncopied.
        """
        data = b"frame\0"
        for error in (ConnectionResetError(), BlockingIOError(), BrokenPipeError()):
            transport, writes = _idle_tcp(_Socket(error=error))
            self.assertTrue(send_at_once(transport, data))
            self.assertEqual(writes, [data])
            self.assertIs(writes[0], data)

    def test_not_at_once(self) -> None:
        """
        Where L{direct_socket} finds no socket to write to (another kind of
        transport, or one holding bytes, closing or closed), nothing is
        sent or written, and the caller is told so.
        """
        self.assertFalse(send_at_once(StringTransport(), b"x"))
        self.assertFalse(send_at_once(None, b"x"))
        for name, value in [
            ("_tempDataBuffer", [b"waiting"]),
            ("dataBuffer", b"waiting"),
            ("TLS", True),
            ("connected", 0),
            ("disconnecting", 1),
            ("_writeDisconnected", True),
        ]:
            sock = _Socket(100)
            transport, writes = _idle_tcp(sock)
            self.assertIsNotNone(direct_socket(transport))
            setattr(transport, name, value)
            self.assertIsNone(direct_socket(transport), name)
            self.assertFalse(send_at_once(transport, b"x"), name)
            self.assertEqual((sock.sent, writes), ([], []), name)
