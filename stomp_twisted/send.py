"""
C{stomp-send}: send messages to a STOMP destination from the shell, and
exit 0 only once the broker has confirmed every one of them (a receipt
per message), as C{mosquitto_pub} or C{kcat -P} do for their brokers.

The messages are the arguments after the options, or standard input:
whole, as one message (the default), or one message per line
(C{--lines}).  The connection options are C{twistd stomp-listen}'s
(L{stomp_twisted.cli_options}).  L{main} is the console script and
L{Options} its command line; the messages come from
L{stomp_twisted._send_input}, and
L{Sender<stomp_twisted._send_loop.Sender>} sends them and counts receipts.

Exit statuses (C{docs/stomp-send.rst}): L{EXIT_OK} (0) when every message
was confirmed; L{EXIT_FAILURE} (1) with the reason on standard error; 64
(C{EX_USAGE}) for a usage error; 128 + the signal's number when
interrupted by C{SIGINT} or C{SIGTERM}.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn

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
from ._send_input import ArgumentMessages, InputReader, LineInput, Messages, WholeInput
from ._send_loop import DEFAULT_WINDOW, EXIT_FAILURE, EXIT_OK, LOG_NAMESPACE, Sender
from .cli_options import (
    ConnectionOptions,
    key_value,
    positive_int,
    reconnect_attempts_parameter,
    seconds,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Options",
    "main",
]

PROGRAM = "stomp-send"
#: A bad command line (C{EX_USAGE} of sysexits.h).
EXIT_USAGE = 64
#: Seconds to wait for each receipt, by default.
DEFAULT_RECEIPT_TIMEOUT = 30.0
#: Headers that stomp-send writes itself.
_RESERVED_HEADERS = ("destination", "receipt", "content-length", "transaction")

_log = Logger(namespace=LOG_NAMESPACE)


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
        predicate.setLogLevelForNamespace(LOG_NAMESPACE, LogLevel.warn)
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
    reader = InputReader(reactor, name=f"{PROGRAM}: standard input")
    if options["lines"]:
        return LineInput(reader)
    return WholeInput(reader)


async def run(reactor: Any, options: Options) -> None:
    """
    The command, once its options are parsed: C{task.react}'s main.

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
