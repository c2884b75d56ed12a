"""
Handing bytes to a TCP socket at once, when its Twisted transport holds
nothing: L{direct_socket}, L{send_now}.

Twisted's TCP transport only buffers what C{write} is given: the bytes go
out when the reactor next finds the socket writable, one loop iteration
later, after two C{epoll_ctl} calls (watch for writability, then stop).
At light load that is most of a message's system calls (a round trip at
200 messages a second: seven calls a message against stomp.py's three,
counted with C{strace -c -f}), and it sends a large frame in chunks of
128 KiB (C{SEND_LIMIT}), one loop iteration each, after joining it into
one fresh buffer.  When the transport holds nothing, what the socket
takes now can be given to it now, without changing what the transport
does with the rest: that is handed to it as before, so that ordering,
its buffer bound (the producer it pauses), closing and loss of the
connection stay its own.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from contextlib import suppress
from errno import EAGAIN, ENOBUFS, EWOULDBLOCK
from functools import cache
from typing import Any

from twisted.internet import main, tcp
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import ITCPTransport, ITransport
from twisted.python.runtime import platform

__all__ = [
    "DIRECT_TYPES",
    "MAX_PIECES",
    "SEND_AT_MOST",
    "direct_socket",
    "no_delay",
    "quick_ack",
    "send_at_once",
    "send_buffer_to_ask",
    "send_more",
    "send_now",
    "widen_send_buffer",
    "write_behind",
]

#: Only Twisted's own TCP connections, whose C{write} buffers bytes for
#: their socket and nothing else (not TLS started on them, not UNIX
#: sockets, which may carry file descriptors along, not wrappers).
DIRECT_TYPES = frozenset({tcp.Client, tcp.Server})

#: At most this many pieces go to one C{sendmsg} call (the system's
#: IOV_MAX is 1024); more are joined first.
MAX_PIECES = 64

#: What one send of the transport's may hand the kernel (L{send_more}).
SEND_AT_MOST = 4 * 1024 * 1024

#: The errors after which a send took nothing and is tried again once the
#: socket is writable.
_TRY_LATER = frozenset({EAGAIN, EWOULDBLOCK, ENOBUFS})


def direct_socket(transport: object) -> socket.socket | None:
    """
    @return: C{transport}'s socket if bytes may be sent on it at once,
        bypassing its buffer: a plain Twisted TCP connection, connected,
        not closing, holding nothing yet to send.  C{None} otherwise.
    """
    if type(transport) not in DIRECT_TYPES:
        return None
    assert isinstance(transport, tcp.Connection)
    if (
        # Anything it holds goes first, when the socket is writable (the
        # usual case while a burst is written: tested first).
        transport._tempDataBuffer
        or transport.dataBuffer
        or transport.TLS
        or not transport.connected
        or transport.disconnecting
        or transport._writeDisconnected
    ):
        return None
    sock: socket.socket = transport.socket
    return sock


def send_now(transport: ITransport, sock: socket.socket, pieces: Sequence[bytes]) -> None:
    """
    Send C{pieces} (in order) on C{sock} as far as it takes them now; give
    C{transport}, which L{direct_socket} found holding nothing, what is
    left, as one bytes object, to send when the socket is writable.

    A failed send (the connection reset, say) takes nothing: the transport
    is given everything, and reports the failure the usual way when it
    tries.
    """
    if len(pieces) > MAX_PIECES:
        pieces = [b"".join(pieces)]
    try:
        # Gathered by the kernel (sendmsg): a large body is not copied here.
        sent = sock.send(pieces[0]) if len(pieces) == 1 else sock.sendmsg(pieces)
    except OSError:
        # Nothing taken: the socket is full (EAGAIN) or the connection is
        # broken, which the transport's own attempt will find and report.
        sent = 0
    index = 0
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > sent:
            break
        index += 1
    else:
        return
    # What is left: the rest of pieces[index], then the pieces after it,
    # joined once (the transport would join them anyway; given one bytes
    # object, its join takes it as it is).
    start = len(piece) - (total - sent)
    rest: Sequence[bytes | memoryview] = pieces[index:]
    if start:
        rest = [memoryview(piece)[start:], *pieces[index + 1 :]]
    transport.write(b"".join(rest))


def send_at_once(transport: Any, data: bytes) -> bool:
    """
    L{direct_socket} and L{send_now} for one bytes object, without
    L{send_now}'s call and loop over pieces (a frame written on its own,
    as at light load): if C{transport} is a plain
    Twisted TCP connection holding nothing, send C{data} on its socket as
    far as it takes it now, give the transport the rest, and return
    C{True}; else do nothing and return C{False}.
    """
    sock = direct_socket(transport)
    if sock is None:
        return False
    try:
        sent = sock.send(data)
    except OSError:
        # As in send_now: nothing taken; the transport's own attempt
        # finds and reports a broken connection.
        sent = 0
    if sent < len(data):
        transport.write(data[sent:])
    return True


def write_behind(transport: Any, data: bytes) -> None:
    """
    Write C{data} to C{transport}, a plain Twisted TCP connection (of
    L{DIRECT_TYPES}) that already holds bytes to send (the next frame of
    a burst), as its C{write} would.

    Its C{write} (C{FileDescriptor.write}: eight calls, some 4,000
    instructions a frame) is done here but for asking the reactor to watch
    the socket for writability, which it already does while it holds
    bytes; its own pause check (C{_maybePauseProducer}) still decides
    whether the writer is paused.  A connection closed for writing, or
    with TLS started, is given C{data} through C{write}.
    """
    if transport.connected and not (transport._writeDisconnected or transport.TLS):
        transport._tempDataBuffer.append(data)
        transport._tempDataLen += len(data)
        transport._maybePauseProducer()
    else:
        transport.write(data)


def send_more(transport: object) -> None:
    """
    Let C{transport}, a plain Twisted TCP connection (else nothing is
    done), hand the kernel up to L{SEND_AT_MOST} bytes a send, not 128 KiB.

    Twisted's C{SEND_LIMIT} does two jobs: each C{doWrite} sends at most
    that much (for Windows, says Twisted's comment), and what is left
    under it is copied with what waits after it, at every C{doWrite}.
    Raising it would make those copies larger (up to C{SEND_LIMIT} a
    turn, when the peer is slow); only the first job changes here: what
    is left of a 1 MiB frame the socket did not take goes out in one turn
    or two instead of eight (a turn each: a reactor iteration and its
    system calls, about a third of the client's CPU time publishing
    1 MiB bodies to RabbitMQ).
    """
    if type(transport) not in DIRECT_TYPES or platform.isWindows():
        return
    assert isinstance(transport, tcp.Connection)
    sock: socket.socket = transport.socket

    def write_some(data: bytes) -> int | ConnectionLost:
        # As tcp.Connection.writeSomeData, but for the size.
        try:
            return sock.send(memoryview(data)[:SEND_AT_MOST])
        except OSError as error:
            if error.errno in _TRY_LATER:
                return 0
            return main.CONNECTION_LOST

    transport.writeSomeData = write_some  # type: ignore[method-assign]


def no_delay(transport: object) -> None:
    """
    Turn Nagle's algorithm off (C{TCP_NODELAY}) on C{transport} if it is
    a TCP connection (L{ITCPTransport}); else do nothing.

    The writer already gathers what it writes (a read's batch, a burst
    left to the transport), so Nagle has little to join; what it does is
    hold a small write back while a small segment sent before it is
    unacknowledged.  Publishing 50 1 MiB bodies to RabbitMQ, DISCONNECT's
    RECEIPT came about 43 ms late (Linux's delayed ACK is 40 ms at least)
    in 3 runs of 60; with C{TCP_NODELAY}, in none of 40 (and stomp.py,
    whose blocking C{sendall} writes DISCONNECT while its last frame is
    still queued, in none of 100).
    """
    if not ITCPTransport.providedBy(transport):
        return
    # A socket that can no longer be set is a broken connection, which
    # its transport reports the usual way; Nagle no longer matters.
    with suppress(OSError):
        ITCPTransport(transport).setTcpNoDelay(True)


#: Linux's C{TCP_QUICKACK}; C{None} where the system has none.
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def quick_ack(transport: object) -> None:
    """
    Acknowledge what C{transport}, a plain Twisted TCP connection (on
    Linux), has received now, not with the next frame written: after a
    read of a few frames, at light load.  Else do nothing.

    Linux delays the ACK of a read in an interactive exchange, to send it
    with the reply, up to 40 ms.  When the broker's next frame waits for
    that ACK (Nagle's algorithm on the broker's side: a small frame
    written while its last is unacknowledged, as when it answers two
    requests at once), it waits for whatever the client sends next, and
    the frame after it waits in turn: ActiveMQ's round trips at 200 a
    second took 4.5-5 ms, a whole interval, in 5 of 8 runs of
    bench/raw_twisted.py (p50), and in none of 8 with an ACK after each
    read (docs/performance.rst has the capture).
    """
    if _QUICKACK is None or type(transport) not in DIRECT_TYPES:
        return
    assert isinstance(transport, tcp.Connection)
    # A socket that can no longer be set is a broken connection, which its
    # transport reports the usual way.
    with suppress(OSError):
        transport.socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


#: The send buffer a TCP connection asks for once it writes a large frame
#: (L{widen_send_buffer}); Linux doubles it, for its own bookkeeping.
WIDE_SEND_BUFFER = 4 * 1024 * 1024


def send_buffer_to_ask(allowed: int, automatic: int) -> int | None:
    """
    @param allowed: the most a socket may ask for (C{net.core.wmem_max}).
    @param automatic: the most Linux's own sizing gives a socket (the
        third of C{net.ipv4.tcp_wmem}), which asking turns off.
    @return: what L{widen_send_buffer} asks for: as much of
        L{WIDE_SEND_BUFFER} as is allowed, if the kernel's double of that
        is more than the automatic sizing's most; else C{None} (Debian's
        default allows 208 KiB, against 4 MiB by the automatic sizing).
    """
    wanted = min(WIDE_SEND_BUFFER, allowed)
    return wanted if 2 * wanted > automatic else None


@cache
def _system_send_buffer_to_ask() -> int | None:
    # Read once: the limits are the system's.
    try:
        with open("/proc/sys/net/core/wmem_max") as limit:
            allowed = int(limit.read())
        with open("/proc/sys/net/ipv4/tcp_wmem") as sizing:
            automatic = int(sizing.read().split()[2])
    except (OSError, ValueError, IndexError):
        return None
    return send_buffer_to_ask(allowed, automatic)


def widen_send_buffer(transport: object) -> None:
    """
    Let C{transport}, a plain Twisted TCP connection on Linux that writes
    large frames, hold more unsent bytes in the kernel than Linux's own
    sizing lets it (C{SO_SNDBUF}), where the system allows more; else do
    nothing.

    A publisher of 1 MiB bodies outruns the broker: its socket is full
    from the second frame on, and each frame goes out in pieces, as the
    broker's reads make room, a turn of the reactor and a few system calls
    each.  A larger buffer takes more of a frame a turn.  Publishing 150
    bodies of 1 MiB to ActiveMQ (6 interleaved runs, medians): 471 us of
    CPU a message with Linux's sizing (at most 4 MiB here), 347 with an
    8 MiB buffer, against stomp.py's 433, at the same rate; half the sends
    and reactor turns (C{strace -c}: 53 C{sendto} and 57 C{epoll_wait}
    against 108 and 112).  To RabbitMQ, which reads faster, it made no
    difference (359 and 344 us).  Only connections that write large
    frames ask: the kernel holds more of what a slow broker has not read
    yet.
    """
    size = _system_send_buffer_to_ask()
    if size is None or type(transport) not in DIRECT_TYPES:
        return
    assert isinstance(transport, tcp.Connection)
    # As in quick_ack: a broken socket is the transport's to report.
    with suppress(OSError):
        transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
