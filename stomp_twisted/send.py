"""
C{stomp-send}: send messages to a STOMP destination from the shell, and
exit 0 only once the broker has confirmed every one of them (a receipt
per message), as C{mosquitto_pub} or C{kcat -P} do for their brokers.

The messages are the arguments after the options, or standard input:
whole, as one message (the default), or one message per line
(C{--lines}).  The connection options are C{twistd stomp-listen}'s
(L{stomp_twisted.cli_options}).  L{main} is the console script;
L{Options} its command line; L{Sender} sends and counts receipts;
L{InputReader}, L{WholeInput} and L{LineInput} read standard input.

Exit statuses (C{docs/stomp-send.rst}): L{EXIT_OK} (0) when every message
was confirmed; L{EXIT_FAILURE} (1) with the reason on standard error; 64
(C{EX_USAGE}) for a usage error; 128 + the signal's number when
interrupted by C{SIGINT} or C{SIGTERM}.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn, Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    globalLogBeginner,
)
from twisted.python import usage
from twisted.python.failure import Failure

from ._connect import connect
from .arguments import redact
from .cli_options import (
    ConnectionOptions,
    key_value,
    positive_int,
    reconnect_attempts_parameter,
    seconds,
)
from .client import StompClient
from .errors import (
    BrokerError,
    ConnectionLost,
    NotConnected,
    ReceiptTimeout,
    SendBufferFull,
    StompError,
)
from .frame import Frame

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "InputReader",
    "LineInput",
    "Options",
    "Sender",
    "WholeInput",
    "main",
]

PROGRAM = "stomp-send"
#: Every message was sent and confirmed.
EXIT_OK = 0
#: A message was refused or not confirmed, or the broker could not be
#: reached or refused the login: the reason is on standard error.
EXIT_FAILURE = 1
#: A bad command line (C{EX_USAGE} of sysexits.h).
EXIT_USAGE = 64
#: How many messages may wait for their receipts at once, by default.
DEFAULT_WINDOW = 100
#: Seconds to wait for each receipt, by default.
DEFAULT_RECEIPT_TIMEOUT = 30.0
#: The longest line C{--lines} accepts, in bytes: a stream without line
#: endings must not be read into memory whole.
MAX_LINE = 16 * 1024 * 1024
#: How much standard input is read at a time.
CHUNK_SIZE = 64 * 1024
#: How many of the broker's ERROR frames a failure's reason quotes.
_ERRORS_SHOWN = 3
#: Headers that stomp-send writes itself.
_RESERVED_HEADERS = ("destination", "receipt", "content-length", "transaction")

_log = Logger(namespace="stomp_twisted.send")


# --- the command line -------------------------------------------------------


class Options(ConnectionOptions):
    """
    The command line of C{stomp-send}: the connection options of
    L{ConnectionOptions} and the sender's own.
    """

    synopsis = f"Usage: {PROGRAM} [options] --destination DEST [MESSAGE ...]"
    longdesc = (
        "Send messages to a STOMP destination and wait for the broker's receipt for each: "
        "the MESSAGE arguments (one message each), or else standard input, whole as one "
        "message or, with --lines, one message per line (without its line ending; read as "
        "it comes, at most --window messages awaiting receipts).  Nothing is written to "
        "standard output unless --verbose; errors go to standard error.  Exit status: 0 "
        "when every message was confirmed by the broker, 1 otherwise (the reason on "
        "standard error: refused login or destination, no receipt, connection lost, "
        "broker unreachable), 64 for a usage error, 130 or 143 when interrupted by SIGINT "
        "or SIGTERM.  See docs/stomp-send.rst."
    )
    default_attempts = 3

    optParameters = [
        [
            "destination",
            "d",
            None,
            "Where to send, as the broker names it: /queue/orders, /topic/prices, "
            "/exchange/amq.topic/key, ... (required).",
        ],
        [
            "content-type",
            None,
            None,
            "The content-type header of every message, such as text/plain;charset=utf-8 "
            "or application/json.",
        ],
        [
            "receipt-timeout",
            None,
            None,
            "Seconds to wait for each message's receipt before giving up on it "
            f"(exit status 1). [default: {DEFAULT_RECEIPT_TIMEOUT:g}]",
            seconds,
        ],
        [
            "window",
            "w",
            None,
            "How many messages may wait for their receipts at once; reading stops "
            f"meanwhile. 1 sends one at a time. [default: {DEFAULT_WINDOW}]",
            positive_int,
        ],
        reconnect_attempts_parameter("3"),
    ]
    optFlags = [
        [
            "lines",
            "l",
            "Send each line of standard input as a message, without its line ending (LF or "
            "CRLF); an empty line is an empty message.",
        ],
        [
            "persistent",
            None,
            "Ask the broker to keep the messages on disk (header persistent:true).",
        ],
        [
            "verbose",
            "v",
            "Write a line per confirmed message to standard output, and log the connection "
            "to standard error.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["headers"] = {}
        self["messages"] = []

    def opt_header(self, header: str) -> None:
        """
        NAME=VALUE: a header of every message (repeatable), such as priority=9 or
        reply-to=/queue/replies.
        """
        name, value = key_value(header, "--header")
        if name in _RESERVED_HEADERS:
            raise usage.UsageError(f"--header cannot set {name!r}: stomp-send writes it itself")
        self["headers"][name] = value

    def parseArgs(self, *messages: str) -> None:
        # Bytes as the shell passed them (the file system encoding, with
        # undecodable bytes kept).
        self["messages"] = [os.fsencode(message) for message in messages]

    def postOptions(self) -> None:
        if self["destination"] is None:
            raise usage.UsageError("--destination is required")
        if not self["destination"]:
            raise usage.UsageError("--destination must not be empty")
        if self["lines"] and self["messages"]:
            raise usage.UsageError(
                "--lines reads standard input: give either --lines or MESSAGE arguments"
            )
        if self["receipt-timeout"] is None:
            self["receipt-timeout"] = DEFAULT_RECEIPT_TIMEOUT
        elif self["receipt-timeout"] == 0:
            raise usage.UsageError("--receipt-timeout must be more than 0 seconds")
        if self["window"] is None:
            self["window"] = DEFAULT_WINDOW
        self.check_connection()

    def send_headers(self) -> dict[str, str]:
        """
        The headers of every message: C{--content-type}, C{--persistent},
        then the C{--header}s, which win.
        """
        headers: dict[str, str] = {}
        if self["content-type"] is not None:
            headers["content-type"] = self["content-type"]
        if self["persistent"]:
            headers["persistent"] = "true"
        headers.update(self["headers"])
        return headers


# --- where messages come from ----------------------------------------------


class Reader(Protocol):
    """
    A source of bytes: standard input, or a stand-in for tests.
    """

    def read(self) -> Deferred[bytes]:
        """
        @return: the next bytes available (at most a chunk); C{b""} at
            the end.
        """

    def close(self) -> None:
        """
        Read no more.
        """


class InputReader:
    """
    Reads a file descriptor (standard input) in a thread of its own, a
    chunk at a time and only when asked, so that the reactor never
    blocks, a producer faster than the broker is held back by the pipe,
    and the descriptor's blocking mode, which it shares with the shell
    and the other processes of a pipeline, is left alone.  (Regular
    files, pipes and terminals all work.)

    The thread is a daemon thread: one blocked on a terminal does not
    keep the process from exiting.
    """

    def __init__(self, reactor: Any, fd: int = 0, chunk_size: int = CHUNK_SIZE) -> None:
        """
        @param reactor: to hand the chunks back to the reactor's thread.
        @param fd: the descriptor to read.
        @param chunk_size: the most bytes of one read.
        """
        self._reactor = reactor
        self._fd = fd
        self._chunk_size = chunk_size
        self._requests: queue.SimpleQueue[Deferred[bytes] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def read(self) -> Deferred[bytes]:
        """
        @return: the next chunk; C{b""} at the end of the input.  It fails
            with the C{OSError} of the read.
        """
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name=f"{PROGRAM}: standard input", daemon=True
            )
            self._thread.start()
        chunk: Deferred[bytes] = Deferred()
        self._requests.put(chunk)
        return chunk

    def close(self) -> None:
        """
        Stop the thread once it is done with the read under way.
        """
        self._requests.put(None)

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            try:
                data = os.read(self._fd, self._chunk_size)
            except OSError as error:
                self._reactor.callFromThread(request.errback, error)
            else:
                # A request cancelled meanwhile ignores the result.
                self._reactor.callFromThread(request.callback, data)


class Messages(Protocol):
    """
    The messages to send, one at a time.
    """

    def next(self) -> Deferred[bytes | None]:
        """
        @return: the next message's body, or C{None} after the last.
        """

    def close(self) -> None:
        """
        No more messages are wanted.
        """


class ArgumentMessages:
    """
    The MESSAGE arguments of the command line.
    """

    def __init__(self, messages: Sequence[bytes]) -> None:
        self._messages = list(messages)
        self._next = 0

    def next(self) -> Deferred[bytes | None]:
        if self._next >= len(self._messages):
            return succeed(None)
        self._next += 1
        return succeed(self._messages[self._next - 1])

    def close(self) -> None:
        self._messages = []


class WholeInput:
    """
    The whole input as one message (empty if the input is).
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._done = False

    def next(self) -> Deferred[bytes | None]:
        if self._done:
            return succeed(None)
        self._done = True
        return Deferred.fromCoroutine(self._read_all())

    async def _read_all(self) -> bytes | None:
        chunks = []
        while chunk := await self._reader.read():
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._reader.close()


class LineTooLong(StompError):
    """
    A line of the input is longer than L{MAX_LINE}.
    """


class LineInput:
    """
    One message per line of the input, without its line ending (LF, or
    CRLF); a last line without one counts too.  The input is read only as
    lines are wanted, so that memory stays bounded whatever its size.
    """

    def __init__(self, reader: Reader, max_line: int = MAX_LINE) -> None:
        self._reader = reader
        self._max_line = max_line
        self._buffer = bytearray()
        # Where to look for the next line ending: the buffer before it has none.
        self._searched = 0
        self._ended = False
        #: The number of the last line returned, from 1.
        self.line = 0

    def next(self) -> Deferred[bytes | None]:
        line = self._take_line()
        if line is not None or self._ended:
            return succeed(line)
        return Deferred.fromCoroutine(self._read_line())

    async def _read_line(self) -> bytes | None:
        while True:
            chunk = await self._reader.read()
            if not chunk:
                self._ended = True
                return self._take_line()
            self._buffer += chunk
            line = self._take_line()
            if line is not None:
                return line

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\n", self._searched)
        if end < 0:
            if len(self._buffer) > self._max_line:
                raise LineTooLong(
                    f"line {self.line + 1} of standard input is longer than {self._max_line} bytes"
                )
            self._searched = len(self._buffer)
            if not self._ended or not self._buffer:
                return None
            end = len(self._buffer)  # the last line, without an ending
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        self._searched = 0
        self.line += 1
        return line.removesuffix(b"\r")

    def close(self) -> None:
        self._reader.close()


# --- sending -----------------------------------------------------------------


class Interrupted(Exception):
    """
    A signal asked the sender to stop.
    """


def _reason(failure: Failure) -> str:
    # What went wrong, in words: the broker's own when it gave some.
    error = failure.value
    if isinstance(error, ConnectionLost) and error.error is not None:
        return f"{error.error} (the connection was closed)"
    if isinstance(error, (StompError, OSError)):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"


class Sender:
    """
    Sends each message of a L{Messages} source to one destination with a
    receipt, keeping at most C{window} of them waiting for their receipts,
    and stops at the first one the broker refuses or does not confirm.

    @ivar sent: how many messages were handed to the client.
    @ivar confirmed: how many the broker confirmed.
    @ivar failure: why sending stopped, or C{None}.
    """

    def __init__(
        self,
        client: StompClient,
        destination: str,
        messages: Messages,
        *,
        headers: dict[str, str] | None = None,
        window: int = DEFAULT_WINDOW,
        broker: str = "the broker",
        passcode: str | None = None,
        confirmed: Callable[[int, int], None] | None = None,
    ) -> None:
        """
        @param client: a client, connecting or connected.
        @param destination: where to send.
        @param messages: the bodies to send.
        @param headers: the headers of every message.
        @param window: how many messages may await their receipts at once.
        @param broker: where the client connects, for messages.
        @param passcode: never to be shown, even if the broker echoes it.
        @param confirmed: called with each confirmed message's number and
            size, in order.
        """
        self._client = client
        self._destination = destination
        self._messages = messages
        self._headers = dict(headers or {})
        self._window = window
        self._broker = broker
        self._passcode = passcode
        self._on_confirmed = confirmed
        self._pending: set[Deferred[None]] = set()
        # Fired when a pending message settles: room in the window.
        self._room: Deferred[None] | None = None
        # Fired on interrupt(): each wait races it.
        self._interruptions: list[Deferred[Any]] = []
        self.interrupted_by: int | None = None
        self.sent = 0
        self.confirmed = 0
        self.failure: str | None = None
        # The broker's ERRORs, which explain a connection it closed.
        self._broker_errors: list[str] = []
        client.reg_cb("ERROR", self._error_frame)

    def _error_frame(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        # Every one, as the first may not be the one that says why:
        # RabbitMQ answers frames already on their way with a bare
        # "Processing error" before the ERROR that explains.
        text = self._redact(str(BrokerError(Frame("ERROR", headers, body))))
        if text not in self._broker_errors and len(self._broker_errors) < _ERRORS_SHOWN:
            self._broker_errors.append(text)

    def _redact(self, text: str) -> str:
        return redact(text, self._passcode)

    # --- the run --------------------------------------------------------------

    async def run(self) -> int:
        """
        Connect, send every message, wait for every receipt, disconnect.

        @return: the exit status: L{EXIT_OK} if every message was
            confirmed, L{EXIT_FAILURE} (the reason in L{failure}, and
            logged), or 128 plus the signal's number after L{interrupt}.
        """
        try:
            if await self._connected():
                await self._send_all()
            await self._drain()
        finally:
            self._messages.close()
            await self._leave()
        return self._status()

    async def _connected(self) -> bool:
        try:
            await self._wait(self._client.when_connected())
        except Interrupted:
            return False
        except BrokerError as error:
            self._fail(f"{self._broker} refused CONNECT: {self._plain(error)}")
            return False
        except NotConnected as error:
            self._fail(f"cannot connect to {self._broker}: {self._redact(str(error))}")
            return False
        _log.info("sending to {destination}", destination=self._destination)
        return True

    def _plain(self, error: BrokerError) -> str:
        return self._redact(str(error).removeprefix("broker sent ERROR: "))

    async def _send_all(self) -> None:
        while self.failure is None:
            try:
                body = await self._wait(self._messages.next())
            except Interrupted:
                return
            except (StompError, OSError) as error:
                self._fail(f"cannot read standard input: {error}")
                return
            if body is None:
                return
            try:
                await self._send(body)
            except Interrupted:
                return

    async def _send(self, body: bytes) -> None:
        while len(self._pending) >= self._current_window():
            await self._wait_for_room()
        if self.failure is not None:
            return
        number = self.sent + 1
        while True:
            try:
                sent = self._client.send(body, self._destination, self._headers)
            except SendBufferFull:
                if not self._pending:
                    raise
                # The socket is behind: let earlier messages go first.
                await self._wait_for_room()
                if self.failure is not None:
                    return
                continue
            except StompError as error:
                self.sent = number
                self._fail(f"message {number} cannot be sent: {error}")
                return
            break
        self.sent = number
        settled = sent.addCallbacks(
            self._confirmed,
            self._not_confirmed,
            callbackArgs=(number, len(body)),
            errbackArgs=(number,),
        )
        if not settled.called:
            self._pending.add(settled)
            settled.addBoth(self._settled, settled)

    def _current_window(self) -> int:
        # One message alone until the broker has confirmed one: a
        # destination it refuses is then refused for that message only,
        # and RabbitMQ says why (with several on their way, its first
        # ERROR is a bare "Processing error", and the connection closes).
        return self._window if self.confirmed else 1

    async def _wait_for_room(self) -> None:
        if self._room is None:
            self._room = Deferred()
        await self._wait(self._room)

    def _confirmed(self, receipt: object, number: int, size: int) -> None:
        self.confirmed += 1
        if self._on_confirmed is not None:
            self._on_confirmed(number, size)

    def _not_confirmed(self, failure: Failure, number: int) -> None:
        error = failure.value
        if isinstance(error, ReceiptTimeout):
            why = f"no receipt (--receipt-timeout): {error}"
        elif isinstance(error, ConnectionLost) and self._broker_errors:
            why = f"{'; '.join(self._broker_errors)} (the connection was closed)"
        else:
            why = self._redact(_reason(failure))
        self._fail(f"message {number} was not confirmed: {why}")

    def _settled(self, result: None, settled: Deferred[None]) -> None:
        self._pending.discard(settled)
        room, self._room = self._room, None
        if room is not None:
            room.callback(None)

    def _fail(self, reason: str) -> None:
        # The first failure is the reason; what follows from it is not.
        if self.failure is None:
            self.failure = reason
            self._messages.close()
            room, self._room = self._room, None
            if room is not None:
                room.callback(None)

    async def _drain(self) -> None:
        # Receipts of messages already sent, even when interrupted: each
        # wait is bounded by the receipt timeout.
        while self._pending:
            await next(iter(self._pending))

    async def _leave(self) -> None:
        try:
            await self._client.disconnect()
        except StompError as error:
            _log.warn("leaving: {error}", error=self._redact(str(error)))

    def _status(self) -> int:
        summary = f"{self.confirmed} of {self.sent} message(s) confirmed by {self._broker}"
        if self.interrupted_by is not None:
            name = signal.Signals(self.interrupted_by).name
            _log.error(
                "interrupted by {signal}: {summary}; the rest was not sent{why}",
                signal=name,
                summary=summary,
                why=f" ({self.failure})" if self.failure else "",
            )
            return 128 + self.interrupted_by
        if self.failure is not None:
            _log.error("{why}; {summary}", why=self.failure, summary=summary)
            return EXIT_FAILURE
        _log.info("{summary}", summary=summary)
        return EXIT_OK

    # --- interruption ---------------------------------------------------------

    def interrupt(self, signum: int) -> None:
        """
        Stop reading and sending (a signal came): messages already sent
        still get their receipts waited for, then the client disconnects.
        """
        if self.interrupted_by is not None:
            return
        self.interrupted_by = signum
        self._messages.close()
        waiting, self._interruptions = self._interruptions, []
        for waiter in waiting:
            waiter.errback(Interrupted())

    async def _wait(self, deferred: Deferred[Any]) -> Any:
        # The outcome of deferred, or Interrupted if interrupt() comes
        # first (what deferred brings later is then dropped: the sender
        # is stopping).
        if self.interrupted_by is not None:
            raise Interrupted()
        waiter: Deferred[Any] = Deferred()
        self._interruptions.append(waiter)
        deferred.addBoth(_pass_on, waiter)
        try:
            return await waiter
        finally:
            if waiter in self._interruptions:
                self._interruptions.remove(waiter)


def _pass_on(result: object, waiter: Deferred[Any]) -> None:
    if waiter.called:
        return
    if isinstance(result, Failure):
        waiter.errback(result)
    else:
        waiter.callback(result)


# --- the program ------------------------------------------------------------


class VerboseOutput:
    """
    C{--verbose}: a line per confirmed message on standard output.  If
    standard output is closed (EPIPE), the lines stop, once said on
    standard error; sending goes on, as it is the job.
    """

    def __init__(self, destination: str, stream: IO[str] | None = None) -> None:
        self._destination = destination
        self._stream = stream if stream is not None else sys.stdout
        self._broken = False

    def __call__(self, number: int, size: int) -> None:
        if self._broken:
            return
        try:
            self._stream.write(
                f"sent message {number} ({size} bytes) to {self._destination}: "
                "broker receipt received\n"
            )
            self._stream.flush()
        except OSError as error:
            self._broken = True
            _log.warn(
                "standard output: {error}; no more --verbose lines", error=error.strerror or error
            )
            _silence_stdout()


def _silence_stdout() -> None:
    # Python would otherwise report the broken pipe again at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _format_event(event: LogEvent) -> str | None:
    text = formatEvent(event)
    failure = event.get("log_failure")
    if isinstance(failure, Failure) and event.get("log_level") == LogLevel.critical:
        text = f"{text}\n{failure.getTraceback()}"
    return f"{PROGRAM}: {text}\n"


def log_to_stderr(verbose: bool, stream: IO[str] | None = None) -> ILogObserver:
    """
    The command's log observer: one line per event on standard error.
    Without C{--verbose}: warnings and errors of C{stomp-send} itself,
    and only errors of the library (whose failures stomp-send reports in
    its own words); with it, from C{info} up.
    """
    predicate = LogLevelFilterPredicate(LogLevel.info if verbose else LogLevel.warn)
    if not verbose:
        predicate.setLogLevelForNamespace("stomp_twisted", LogLevel.error)
        predicate.setLogLevelForNamespace("stomp_twisted.send", LogLevel.warn)
    # The reactor's own news ("Main loop terminated.") is not the user's.
    predicate.setLogLevelForNamespace("twisted", LogLevel.warn)
    return FilteringLogObserver(
        FileLogObserver(stream if stream is not None else sys.stderr, _format_event),
        [predicate],
    )


def messages_for(options: Options, reactor: Any) -> Messages:
    """
    Where the command's messages come from: the arguments, or standard
    input (whole, or by lines).
    """
    if options["messages"]:
        return ArgumentMessages(options["messages"])
    reader = InputReader(reactor)
    if options["lines"]:
        return LineInput(reader)
    return WholeInput(reader)


async def run(reactor: Any, options: Options) -> None:
    """
    The command, once its options are parsed: L{task.react}'s main.

    @raise SystemExit: always, with the exit status.
    """
    broker = options.describe_broker()
    client = connect(
        reactor=reactor, receipt_timeout=options["receipt-timeout"], **options.connect_arguments()
    )
    sender = Sender(
        client,
        options["destination"],
        messages_for(options, reactor),
        headers=options.send_headers(),
        window=options["window"],
        broker=broker,
        passcode=options["passcode"],
        confirmed=VerboseOutput(options["destination"]) if options["verbose"] else None,
    )
    reactor.callWhenRunning(_handle_signals, reactor, sender)
    raise SystemExit(await sender.run())


def _handle_signals(reactor: Any, sender: Sender) -> None:
    # Over the reactor's own handlers, which would stop it at once: the
    # first signal lets messages in flight be confirmed; a second one
    # ends the process there and then.
    def handler(signum: int, frame: object) -> None:
        if sender.interrupted_by is not None:
            os._exit(128 + signum)
        reactor.callFromThread(sender.interrupt, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """
    The console script C{stomp-send}.  C{--help} and usage errors need no
    reactor: it is imported only once the command line is good.

    @param argv: the arguments, without the program's name; by default
        C{sys.argv[1:]}.
    """
    options = Options()
    try:
        options.parseOptions(list(sys.argv[1:] if argv is None else argv))  # type: ignore[no-untyped-call]
    except BrokenPipeError:
        # --help into a pager or head that stopped reading: as SIGPIPE would.
        _silence_stdout()
        sys.exit(128 + signal.SIGPIPE)
    except usage.UsageError as error:
        sys.stderr.write(
            f"{PROGRAM}: {error}\n{Options.synopsis}\nRun '{PROGRAM} --help' for the options.\n"
        )
        sys.exit(EXIT_USAGE)
    globalLogBeginner.beginLoggingTo(
        [log_to_stderr(options["verbose"])], discardBuffer=True, redirectStandardIO=False
    )
    from twisted.internet import task

    task.react(run, (options,))
