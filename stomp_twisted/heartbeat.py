"""
STOMP heart-beats: the negotiation, and the timers of one connection.

The client offers C{heart-beat:cx,cy} in C{CONNECT}: C{cx} is the smallest
interval, in milliseconds, at which it can send, C{cy} the interval at
which it wants to receive (C{0}: cannot, or does not want to).  The broker
answers C{heart-beat:sx,sy} in C{CONNECTED} (no header means C{0,0}).
Then the client sends something at least every C{max(cx, sy)} ms unless
either is C{0}, and expects something from the broker every
C{max(sx, cy)} ms unless either is C{0}; see L{negotiate}.

L{HeartbeatMonitor} keeps those two promises on one connection: it writes
an EOL whenever nothing else was written for the send interval, and
declares the broker dead when nothing at all was received for the receive
interval times a tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from .errors import BadArgument, RemoteProtocolError

__all__ = [
    "DEFAULT_TOLERANCE",
    "MAX_INTERVAL",
    "HeartbeatIntervals",
    "HeartbeatMonitor",
    "check_heartbeat",
    "check_tolerance",
    "format_heartbeat",
    "negotiate",
    "parse_heartbeat",
    "parse_offer",
]

#: How many receive intervals of silence make the broker dead.  The spec
#: leaves the margin to the implementation.  Two would be too few: ActiveMQ
#: checks once per interval and skips the heart-beat if it wrote anything
#: during the previous one, so its gaps reach two whole intervals (the
#: first EOL comes two intervals after CONNECTED, and two after a frame
#: sent just after a check); three leave one interval for latency.
DEFAULT_TOLERANCE = 3.0

#: The longest heart-beat interval, in milliseconds: one hour.  A broker
#: may answer any number; a longer interval than this says nothing useful
#: about a live connection, so the broker's numbers are clamped to it (and
#: a client's own offer above it is refused).  Bounding it also keeps the
#: timers' arithmetic within a float.
MAX_INTERVAL = 3_600_000

# More significant digits than this is far above MAX_INTERVAL whatever
# they say: such a number is refused before int() (which itself refuses
# strings of more than 4300 digits, with a ValueError).
_MAX_DIGITS = 18

# Two non-negative decimal integers; spaces around them are forgiven.
_HEADER = re.compile(r"\s*([0-9]+)\s*,\s*([0-9]+)\s*", re.ASCII)


class HeartbeatIntervals(NamedTuple):
    """
    The outcome of the negotiation, in milliseconds; C{0} means none.

    @ivar send: how often the client must send something.
    @ivar receive: how often the broker promised to send something.
    """

    send: int
    receive: int


def check_heartbeat(heartbeat: object) -> tuple[int, int]:
    """
    Validate the client's C{heartbeat} option.

    @param heartbeat: C{(cx, cy)}: two C{int}s of milliseconds from 0 to
        L{MAX_INTERVAL} (one hour).
    @return: it, as a tuple.
    @raise BadArgument: if it is anything else.
    """
    # (arguments imports this module: its checks are looked up at the call.)
    from . import arguments

    if not isinstance(heartbeat, (tuple, list)) or len(heartbeat) != 2:
        raise BadArgument(
            "heartbeat must be a (send_ms, receive_ms) pair of ints, "
            f"not {arguments.shown_value(heartbeat)}"
        )
    for name, value in zip(("send", "receive"), heartbeat, strict=True):
        arguments.check_int(value, f"heartbeat {name} interval", minimum=0, maximum=MAX_INTERVAL)
    return (heartbeat[0], heartbeat[1])


def check_tolerance(tolerance: object) -> float:
    """
    Validate the C{heartbeat_tolerance} option: a number of receive
    intervals, at least 1 (less would call a punctual broker dead).

    @raise BadArgument: if it is not such a number.
    """
    if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool):
        raise BadArgument(f"heartbeat_tolerance must be a number, not {tolerance!r}")
    if not tolerance >= 1.0 or tolerance == float("inf"):
        raise BadArgument(f"heartbeat_tolerance must be a finite number >= 1, not {tolerance!r}")
    return float(tolerance)


def format_heartbeat(heartbeat: tuple[int, int]) -> str:
    """
    The C{heart-beat} header value for C{(cx, cy)}.
    """
    cx, cy = check_heartbeat(heartbeat)
    return f"{cx},{cy}"


def _parse(value: str) -> tuple[int, int] | None:
    # None for anything but two numbers of at most _MAX_DIGITS significant
    # digits each; they may still exceed MAX_INTERVAL.
    match = _HEADER.fullmatch(value)
    if match is None:
        return None
    digits = [match.group(1).lstrip("0") or "0", match.group(2).lstrip("0") or "0"]
    if any(len(number) > _MAX_DIGITS for number in digits):
        return None
    return (int(digits[0]), int(digits[1]))


def _shown(value: str) -> str:
    # A header for a message: a hostile one may be thousands of digits.
    if len(value) <= 60:
        return repr(value)
    return f"{value[:40]!r}... ({len(value)} characters)"


def parse_offer(value: str | None) -> tuple[int, int]:
    """
    Read the C{heart-beat} header of the client's own C{CONNECT} (as a
    caller may have written it in C{connect_headers}).

    @param value: the header, or C{None} if absent (C{0,0}).
    @raise BadArgument: if it is not two non-negative integers of at most
        L{MAX_INTERVAL} milliseconds.
    """
    if value is None:
        return (0, 0)
    parsed = _parse(value)
    if parsed is None or max(parsed) > MAX_INTERVAL:
        raise BadArgument(
            f"CONNECT heart-beat header must be two non-negative integers of milliseconds "
            f"up to {MAX_INTERVAL}, separated by a comma (like '1000,1000'), "
            f"not {_shown(value)}"
        )
    return parsed


def parse_heartbeat(value: str | None) -> tuple[int, int]:
    """
    Read the C{heart-beat} header of the broker's C{CONNECTED}.

    @param value: the header, or C{None} if absent (C{0,0}).
    @return: the broker's C{(sx, sy)}, each clamped to L{MAX_INTERVAL}.
    @raise RemoteProtocolError: if it is not two non-negative integers, or
        if either has more digits than any sane interval (a number that
        long is garbage, not a long interval).
    """
    if value is None:
        return (0, 0)
    parsed = _parse(value)
    if parsed is None:
        raise RemoteProtocolError(
            f"broker sent a malformed heart-beat header {_shown(value)} in CONNECTED; "
            f"expected two non-negative integers of milliseconds of at most {_MAX_DIGITS} "
            "digits, like '1000,1000'"
        )
    sx, sy = parsed
    return (min(sx, MAX_INTERVAL), min(sy, MAX_INTERVAL))


def negotiate(offer: tuple[int, int], answer: str | None) -> HeartbeatIntervals:
    """
    The heart-beat intervals of a connection.

    @param offer: the client's C{(cx, cy)}, as sent in C{CONNECT}.
    @param answer: the broker's C{heart-beat} header from C{CONNECTED},
        or C{None} if it sent none.
    @return: the client's send interval C{max(cx, sy)} (C{0} if either
        is C{0}) and its receive interval C{max(sx, cy)} (C{0} if either
        is C{0}), in milliseconds, neither above L{MAX_INTERVAL} (the
        broker's numbers are clamped to it).
    @raise BadArgument: if C{offer} is not two non-negative C{int}s of at
        most L{MAX_INTERVAL}.
    @raise RemoteProtocolError: if C{answer} is malformed.
    """
    cx, cy = check_heartbeat(offer)
    sx, sy = parse_heartbeat(answer)
    send = 0 if cx == 0 or sy == 0 else max(cx, sy)
    receive = 0 if sx == 0 or cy == 0 else max(sx, cy)
    return HeartbeatIntervals(send, receive)


class HeartbeatMonitor:
    """
    The heart-beat timers of one connection, on an injected clock.

    The connection calls L{wrote} whenever it writes a frame and
    L{received} whenever bytes arrive; the monitor calls C{send_eol} when
    nothing was written for the send interval, and C{peer_dead} (once)
    when nothing was received for the receive interval times
    C{tolerance}.  Each timer is one L{IDelayedCall} pushed back by
    activity, so that busy connections cost no rescheduling.  L{stop}
    cancels everything; nothing is called afterwards.
    """

    def __init__(
        self,
        clock: IReactorTime,
        intervals: HeartbeatIntervals,
        tolerance: float,
        send_eol: Callable[[], None],
        peer_dead: Callable[[float], None],
    ) -> None:
        """
        @param clock: schedules the timers.
        @param intervals: from L{negotiate}.
        @param tolerance: receive intervals of silence before the broker
            is dead.
        @param send_eol: writes one heart-beat EOL.
        @param peer_dead: called with the seconds of silence.
        """
        self._clock = clock
        self.intervals = intervals
        self._send_delay = intervals.send / 1000.0
        self._receive_delay = intervals.receive / 1000.0 * check_tolerance(tolerance)
        self._send_eol = send_eol
        self._peer_dead = peer_dead
        self._sender: IDelayedCall | None = None
        self._watchdog: IDelayedCall | None = None
        self._running = False
        self._receiving_paused = False

    @property
    def running(self) -> bool:
        """
        Whether L{start} was called and L{stop} not yet.
        """
        return self._running

    @property
    def receive_timeout(self) -> float:
        """
        The seconds of silence after which the broker is dead; C{0} if
        it sends no heart-beats.
        """
        return self._receive_delay

    def start(self) -> None:
        """
        Start both timers, as of now.
        """
        if self._running:
            return
        self._running = True
        if self._send_delay > 0:
            self._sender = self._clock.callLater(self._send_delay, self._send)
        if self._receive_delay > 0 and not self._receiving_paused:
            self._watchdog = self._clock.callLater(self._receive_delay, self._expired)

    def stop(self) -> None:
        """
        Cancel both timers for good.
        """
        self._running = False
        for call in (self._sender, self._watchdog):
            if call is not None and call.active():
                call.cancel()
        self._sender = self._watchdog = None

    def wrote(self) -> None:
        """
        Something was written: the next EOL is due a send interval from now.
        """
        sender = self._sender
        if sender is not None and sender.active():
            sender.reset(self._send_delay)

    def received(self) -> None:
        """
        Something arrived: the broker is alive for another receive timeout.
        """
        watchdog = self._watchdog
        if watchdog is not None and watchdog.active():
            watchdog.reset(self._receive_delay)

    def pause_receiving(self) -> None:
        """
        The connection stopped reading (flow control): silence means
        nothing until L{resume_receiving}.
        """
        self._receiving_paused = True
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog.active():
            watchdog.cancel()

    def resume_receiving(self) -> None:
        """
        The connection reads again: the broker has a full receive timeout.
        """
        self._receiving_paused = False
        if self._running and self._receive_delay > 0 and self._watchdog is None:
            self._watchdog = self._clock.callLater(self._receive_delay, self._expired)

    def _send(self) -> None:
        self._sender = None
        self._send_eol()
        if self._running:
            self._sender = self._clock.callLater(self._send_delay, self._send)

    def _expired(self) -> None:
        self._watchdog = None
        if self._running:
            self._peer_dead(self._receive_delay)
