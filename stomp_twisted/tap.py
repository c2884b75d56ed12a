"""
C{twistd stomp-listen}: subscribe to STOMP destinations and write each
message received to standard output (or a file), as C{mosquitto_sub} or
C{kcat -C} do for their brokers.

The plugin module, C{twisted/plugins/stomp_listen.py}, only names this
module: twistd imports it when C{stomp-listen} is asked for.  L{Options} is
the command line, L{ListenService} the service, L{makeService} twistd's
entry point; L{format_message} renders one message in each output format.

Guarantees, as the manual page (C{docs/stomp-listen.rst}) states them:

  - with C{--ack auto} (the default) a message is acknowledged only once
    it has been written to the output and flushed, so that killing the
    listener at any moment loses nothing (the broker redelivers what was
    not acknowledged; a message may then be written twice);
  - a message that cannot be written (a closed pipe, a full disk) is not
    acknowledged, and the listener stops with exit status 1;
  - messages never share their output with twistd's log: under
    C{twistd --nodaemon} without C{--logfile}, the log goes to standard
    error instead of standard output.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime
import json
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.error import ReactorNotRunning
from twisted.logger import ILogObserver, Logger, textFileLogObserver
from twisted.python import usage
from twisted.python.failure import Failure

from ._connect import connect
from .arguments import redact
from .cli_options import (
    ConnectionOptions,
    key_value,
    positive_int,
    reconnect_attempts_parameter,
)
from .client import AckMode, StompClient
from .errors import BrokerError, ClientClosed, NotConnected, StompError

__all__ = ["FORMATS", "ListenService", "Options", "format_message", "makeService"]

#: The output formats: the body alone, JSON lines, and a form for people.
FORMATS = ("body", "json", "pretty")
#: The acknowledgement modes of the command line.
ACK_MODES = ("none", "auto", "manual")
#: The exit status after a failure: output broken, or the client gave up.
EXIT_FAILURE = 1

#: SUBSCRIBE headers the client writes itself.
_RESERVED_SUBSCRIBE_HEADERS = ("destination", "id")
#: The SUBSCRIBE ack modes --subscribe-header may ask for, with --ack auto
#: or manual: some STOMP 1.0 servers (stompserver) give messages an id to
#: acknowledge only under ack:client.
_SUBSCRIBE_ACK_MODES = ("client", "client-individual")
#: The prefetch headers of RabbitMQ and ActiveMQ (each ignores the other's).
_PREFETCH_HEADERS = ("prefetch-count", "activemq.prefetchSize")


class Options(ConnectionOptions):
    """
    The command line of C{stomp-listen}: the connection options of
    L{ConnectionOptions} and the listener's own.  After parsing,
    L{connect_arguments} gives the arguments of L{stomp_twisted.connect}.
    """

    synopsis = "[options] --destination DEST [--destination DEST ...]"
    longdesc = (
        "Connect to a STOMP broker, subscribe to each --destination and write every "
        "message received to standard output (or --output FILE), one per message, as "
        "--format says: body (the body and a newline), json (a JSON object per line: "
        "destination, headers, and body, or body_base64 for a body that is not UTF-8) or "
        "pretty (headers and body, for people).  With --ack auto (the default) a message "
        "is acknowledged only after it has been written and flushed: killing the listener "
        "loses nothing, and the broker redelivers what was not written.  twistd's log never "
        "goes to the messages' output (under --nodaemon it goes to standard error).  Exit "
        "status: 0 after --count messages, 1 if the output breaks or the client gives up "
        "connecting, 1 (twistd) or 64 (twist) for a usage error; SIGTERM and SIGINT leave "
        "with a DISCONNECT the broker confirms.  See docs/stomp-listen.rst."
    )
    optParameters = [
        [
            "ack",
            "a",
            "auto",
            "none: the broker forgets each message once sent; auto: "
            "acknowledge each message once written and flushed; manual: acknowledge nothing "
            "(peek: the broker redelivers every message after the listener leaves).",
        ],
        [
            "prefetch",
            None,
            None,
            "How many unacknowledged messages the broker may send ahead "
            "(RabbitMQ's prefetch-count and ActiveMQ's activemq.prefetchSize). [default: the "
            "broker's; with --count: 1, or N under --ack manual]",
            positive_int,
        ],
        ["count", "c", None, "Exit (status 0) after writing this many messages.", positive_int],
        ["format", "f", "body", "Output format: body, json or pretty."],
        [
            "output",
            "o",
            None,
            "Append messages to this file instead of standard output (- for standard output).",
        ],
        reconnect_attempts_parameter("never give up"),
    ]
    optFlags = [
        [
            "retry-refused",
            None,
            "When the broker refuses the first CONNECT (bad credentials), keep retrying "
            "instead of exiting with status 1: for a service that should wait for a fix.",
        ],
        [
            "fsync",
            None,
            "With --output: fsync the file after each message, before it is acknowledged.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["destinations"] = []
        self["subscribe-headers"] = {}

    def opt_destination(self, destination: str) -> None:
        """
        A destination to subscribe to, such as /queue/orders or /topic/prices (repeatable;
        at least one).
        """
        if not destination:
            raise usage.UsageError("--destination must not be empty")
        self["destinations"].append(destination)

    opt_d = opt_destination

    def opt_header(self, header: str) -> None:
        """
        NAME=VALUE: an extra CONNECT header (repeatable); the same as --connect-header.
        """
        self.opt_connect_header(header)

    def opt_subscribe_header(self, header: str) -> None:
        """
        NAME=VALUE: an extra SUBSCRIBE header for every destination, such as selector=...
        (repeatable).  ack=client asks for cumulative acknowledgements, which some STOMP 1.0
        servers need before they give messages an id to acknowledge.
        """
        name, value = key_value(header, "--subscribe-header")
        if name in _RESERVED_SUBSCRIBE_HEADERS:
            raise usage.UsageError(
                f"--subscribe-header cannot set {name!r}: use --destination and --ack"
            )
        if name == "ack" and value not in _SUBSCRIBE_ACK_MODES:
            raise usage.UsageError(
                f"--subscribe-header ack={value} is not allowed: ack= takes "
                f"{' or '.join(_SUBSCRIBE_ACK_MODES)} (with --ack auto or manual); "
                "otherwise use --ack"
            )
        self["subscribe-headers"][name] = value

    def postOptions(self) -> None:
        if not self["destinations"]:
            raise usage.UsageError("give at least one --destination")
        if self["ack"] not in ACK_MODES:
            raise usage.UsageError(f"--ack must be one of {', '.join(ACK_MODES)}")
        if self["ack"] == "none" and "ack" in self["subscribe-headers"]:
            raise usage.UsageError(
                "--subscribe-header ack=... makes the broker wait for acknowledgements, "
                "which --ack none never sends: use --ack auto or manual"
            )
        if self["format"] not in FORMATS:
            raise usage.UsageError(f"--format must be one of {', '.join(FORMATS)}")
        self.check_connection()
        if self["retry-refused"] and self["no-reconnect"]:
            raise usage.UsageError("--retry-refused cannot be combined with --no-reconnect")
        if self["output"] == "-":
            self["output"] = None
        if self["output"] is not None:
            self["output"] = os.path.abspath(self["output"])
            try:
                with open(self["output"], "ab"):
                    pass
            except OSError as error:
                raise usage.UsageError(
                    f"cannot write to --output {self['output']}: {error.strerror}"
                ) from None
        elif self["fsync"]:
            raise usage.UsageError("--fsync needs --output FILE")
        if self["prefetch"] is None and self["count"] is not None and self["ack"] != "none":
            # Exactly N: under --ack auto the broker sends the next message
            # once the last one is acknowledged; under --ack manual nothing
            # is acknowledged, so it may send N at once and no more.
            self["prefetch"] = self["count"] if self["ack"] == "manual" else 1
        self._keep_log_apart()

    def _keep_log_apart(self) -> None:
        # Messages and twistd's log must not share standard output.
        parent = getattr(self, "parent", None)
        if parent is None or self["output"] is not None:
            return
        if "nodaemon" in parent:  # twistd
            if not parent["nodaemon"]:
                raise usage.UsageError(
                    "a daemon's standard output is /dev/null: give --output FILE "
                    "(or run twistd with --nodaemon)"
                )
            if parent.get("syslog") or parent.get("logger"):
                return
            if parent.get("logfile") == "-":
                raise usage.UsageError(
                    "--logfile=- would mix twistd's log with the messages on standard "
                    "output: log elsewhere, or give --output FILE"
                )
            if not parent.get("logfile"):
                # twistd --nodaemon logs to standard output by default; twistd
                # imports its --logger by name once the options are parsed.
                parent["logger"] = f"{__name__}.{stderr_log_observer.__name__}"
        elif "logFile" in parent and _is_stdout(parent["logFile"]):
            # twist logs to standard output by default (--log-file=-, which
            # cannot be told from the default): as --log-file=+ does.
            parent["logFile"] = sys.stderr

    def subscribe_headers(self) -> dict[str, str]:
        """
        The SUBSCRIBE headers of every destination: the prefetch, then
        C{--subscribe-header}s, which win.
        """
        headers: dict[str, str] = {}
        if self["prefetch"] is not None:
            for name in _PREFETCH_HEADERS:
                headers[name] = str(self["prefetch"])
        headers.update(self["subscribe-headers"])
        return headers


def _is_stdout(file: object) -> bool:
    try:
        return bool(getattr(file, "fileno")() == 1)  # noqa: B009
    except (AttributeError, OSError, ValueError):
        return False


def stderr_log_observer() -> ILogObserver:
    """
    A log observer writing to standard error: twistd's log under
    C{--nodaemon}, so that it stays off the messages' standard output.
    """
    return textFileLogObserver(sys.stderr)


# --- output formats ---------------------------------------------------------

# Control characters shown escaped in the pretty format, so that a message
# cannot drive the terminal; a body keeps its tabs and newlines.
_HEADER_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_HEADER_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_BODY_ESCAPES = {c: e for c, e in _HEADER_ESCAPES.items() if c not in (0x09, 0x0A)}


def _hexdump(data: bytes) -> list[str]:
    # As hexdump -C shows it.
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {left:<23}  {right:<23}  |{text}|")
    return lines


def _timestamp(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when).astimezone()
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + (moment.strftime(" %z"))
    )


def format_message(
    body: bytes,
    headers: dict[str, str],
    style: str,
    *,
    number: int = 1,
    received: float = 0.0,
) -> bytes:
    """
    One message as written to the output.

    @param style: C{"body"}: the body and a newline (binary bodies as they
        are); C{"json"}: one line, a JSON object with C{destination},
        C{headers} and C{body}, or C{body_base64} (base64) instead of
        C{body} when the body is not UTF-8; C{"pretty"}: a heading line
        (number, destination, time received), the headers, a blank line,
        the body (control characters escaped; a hex dump if it is not
        UTF-8) and a blank line.
    @param number: the message's number, from 1, for C{"pretty"}.
    @param received: when it arrived (seconds since the epoch), for
        C{"pretty"}.
    """
    if style == "body":
        return body + b"\n"
    destination = headers.get("destination")
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if style == "json":
        record: dict[str, Any] = {"destination": destination, "headers": headers}
        if text is not None:
            record["body"] = text
        else:
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    if style != "pretty":
        raise ValueError(f"unknown format {style!r}")
    where = str(destination).translate(_HEADER_ESCAPES)
    lines = [f"=== message {number} from {where} at {_timestamp(received)}"]
    for name, value in headers.items():
        lines.append(f"  {name.translate(_HEADER_ESCAPES)}: {value.translate(_HEADER_ESCAPES)}")
    lines.append("")
    if not body:
        lines.append("(empty body)")
    elif text is None:
        lines.append(f"(binary body, {len(body)} bytes)")
        lines.extend(_hexdump(body))
    else:
        lines.append(text.translate(_BODY_ESCAPES).removesuffix("\n"))
    lines.append("")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- the service ------------------------------------------------------------


class Output(Protocol):
    """
    Where messages are written: a binary file.
    """

    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...


def _write_fully(output: Output, data: bytes, fsync: bool) -> None:
    # Everything, then flushed (and synced): only then may it be acknowledged.
    while data:
        written = output.write(data)
        if written is None:
            raise BlockingIOError("the output would block")
        data = data[written:]
    output.flush()
    if fsync:
        os.fsync(getattr(output, "fileno")())  # noqa: B009


class ListenService(Service):
    """
    Listens while running: connects and subscribes on start, writes each
    message and acknowledges it, and leaves with a graceful DISCONNECT on
    stop.

    @ivar client: the L{StompClient} once started.
    @ivar written: how many messages have been written.
    @ivar exit_status: C{None} while nothing has ended the listener, then
        C{0} (C{--count} reached) or L{EXIT_FAILURE} (the output broke,
        the client gave up, the broker refused the first C{CONNECT}).
    @ivar ever_connected: whether the broker has accepted a C{CONNECT}:
        until then a refusal ends the listener (unless C{--retry-refused}),
        afterwards the client retries with back-off.
    """

    _log = Logger()

    def __init__(
        self,
        options: Options,
        reactor: Any,
        output: Output | None = None,
        connect: Callable[..., StompClient] = connect,
    ) -> None:
        """
        @param options: the parsed command line.
        @param reactor: the reactor: the client's clock, and what is
            stopped when the listener is done.
        @param output: where to write messages; by default C{--output}'s
            file, opened on start, or standard output.
        @param connect: L{stomp_twisted.connect}, or a stand-in for tests.
        """
        self._options = options
        self._reactor = reactor
        self._output = output
        self._connect = connect
        # The file the service opened itself, to close when done.
        self._opened: Any = None
        self._leaving = False
        # Whether a when_connected() Deferred is being waited on: one at a
        # time, so that each outcome is reported once.
        self._watching = False
        self.ever_connected = False
        self.exit_status: int | None = None
        self.written = 0
        self.client: StompClient | None = None

    # --- starting -----------------------------------------------------------

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        options = self._options
        if self._output is None:
            self._output = self._open_output()
        arguments = options.connect_arguments()
        self._log.info(
            "stomp-listen: connecting to {broker}{login}; subscribing to {destinations} "
            "(--ack {ack}); writing {style} to {output}",
            broker=options.describe_broker(),
            login=f" as {options['login']}" if options["login"] is not None else "",
            destinations=", ".join(options["destinations"]),
            ack=options["ack"],
            style=options["format"],
            output=options["output"] or "standard output",
        )
        client = self._connect(reactor=self._reactor, **arguments)
        self.client = client
        client.reg_cb("CONNECTED", self._connected)
        client.reg_cb("ERROR", self._broker_error)
        client.reg_cb("RECEIPT", self._receipt)
        client.reg_cb("disconnect", self._disconnected)
        ack: AckMode = None if options["ack"] == "none" else "manual"
        headers = options.subscribe_headers()
        for destination in options["destinations"]:
            # Written once CONNECTED arrives, and again after each reconnection.
            subscribed = client.subscribe(
                destination, self._message, ack=ack, headers=headers, receipt=False
            )
            subscribed.addErrback(self._not_subscribed, destination)
        self._watch()

    def _open_output(self) -> Output:
        path = self._options["output"]
        if path is not None:
            self._opened = open(path, "ab", buffering=0)  # noqa: SIM115
        else:
            # Standard output, unbuffered and blocking: each message reaches
            # the pipe or file before it is acknowledged.  A duplicate of
            # the descriptor, so that sys.stdout has nothing to fail on at
            # exit after a broken pipe.
            fd = os.dup(1)
            os.set_blocking(fd, True)
            self._opened = open(fd, "wb", buffering=0)  # noqa: SIM115
        output: Output = self._opened
        return output

    def _watch(self) -> Deferred[None] | None:
        # The client's next outcome: connected, refused (BrokerError, at
        # once), or given up (NotConnected).  None if already watched.
        if self._watching:
            return None
        assert self.client is not None
        self._watching = True
        return self.client.when_connected().addCallbacks(self._watched, self._not_connected)

    def _watched(self, client: StompClient) -> None:
        self._watching = False

    # --- events -------------------------------------------------------------

    def _connected(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.ever_connected = True
        self._log.info(
            "connected to {broker} ({server}, STOMP {version}); subscribing to {destinations}",
            broker=self._options.describe_broker(),
            server=headers.get("server", "server unknown"),
            version=client.version,
            destinations=", ".join(self._options["destinations"]),
        )

    def _broker_error(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        if self._watching:
            # An ERROR while waiting for CONNECTED: a refused CONNECT,
            # which _refused reports, once.
            return
        details = f": {body.decode('utf-8', 'replace')[:1000]}" if body else ""
        self._log.error(
            "the broker sent ERROR: {error}",
            error=self._redact(headers.get("message", "(no message header)") + details),
        )

    def _redact(self, text: str) -> str:
        # A broker might echo the passcode back in its ERROR.
        return redact(text, self._options["passcode"])

    def _receipt(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        # The listener asks for no receipt but DISCONNECT's.
        if self._leaving:
            self._log.info(
                "the broker confirmed DISCONNECT (receipt {receipt})",
                receipt=headers.get("receipt-id"),
            )

    def _disconnected(self, client: StompClient, reason: str) -> None:
        if self._leaving or self.exit_status is not None:
            return
        waiting = self._watch()
        if waiting is not None and not waiting.called:
            # Otherwise the client gave up: _not_connected says so.
            self._log.warn("connection lost: {reason}; reconnecting", reason=reason)

    def _not_connected(self, failure: Failure) -> None:
        self._watching = False
        error = failure.value
        if isinstance(error, ClientClosed) or self._leaving or self.exit_status is not None:
            return
        if isinstance(error, BrokerError):
            self._refused(error)
        elif isinstance(error, NotConnected):
            self._log.error("giving up: {reason}", reason=self._redact(str(error)))
            self._finish(EXIT_FAILURE)
        else:
            self._log.failure("the client failed", failure)
            self._finish(EXIT_FAILURE)

    def _refused(self, error: BrokerError) -> None:
        # Bad credentials or an unknown vhost: on the first connection, a
        # mistake that retrying will not fix, unless told to wait for one.
        reason = self._redact(str(error).removeprefix("broker sent ERROR: "))
        broker = self._options.describe_broker()
        if self.ever_connected or self._options["retry-refused"]:
            self._log.warn(
                "{broker} refused CONNECT: {reason}; retrying ({why})",
                broker=broker,
                reason=reason,
                why="--retry-refused" if not self.ever_connected else "it was accepted before",
            )
            self._watch()
            return
        self._log.error(
            "{broker} refused CONNECT: {reason}; exiting with status 1 "
            "(--retry-refused keeps retrying)",
            broker=broker,
            reason=reason,
        )
        self._finish(EXIT_FAILURE)

    def _not_subscribed(self, failure: Failure, destination: str) -> None:
        if isinstance(failure.value, (NotConnected, ClientClosed)):
            return  # the client gave up or was stopped: said elsewhere
        self._log.failure("cannot subscribe to {destination}", failure, destination=destination)
        self._finish(EXIT_FAILURE)

    # --- messages -----------------------------------------------------------

    def _message(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        options = self._options
        acking = options["ack"] != "none"
        if self.exit_status is not None or (self._leaving and acking):
            # Done, or leaving: not written, so not acknowledged; the broker
            # redelivers it.  (Under --ack none the broker has forgotten it
            # already: it is written while the connection lasts.)
            return
        assert self._output is not None
        data = format_message(
            body,
            headers,
            options["format"],
            number=self.written + 1,
            received=self._reactor.seconds(),
        )
        try:
            _write_fully(self._output, data, options["fsync"])
        except OSError as error:
            self._output_broken(error, headers)
            return
        self.written += 1
        if options["ack"] == "auto":
            try:
                acked = client.ack(headers, receipt=False)
            except StompError as error:
                self._log.error("cannot acknowledge a message: {error}", error=error)
            else:
                acked.addErrback(self._log_ack_failure)
        count = options["count"]
        if count is not None and self.written >= count:
            self._log.info("{count} message(s) written (--count): leaving", count=count)
            self._finish(0)

    def _log_ack_failure(self, failure: Failure) -> None:
        self._log.failure("acknowledging a message failed", failure)

    def _output_broken(self, error: OSError, headers: dict[str, str]) -> None:
        where = self._options["output"] or "standard output"
        fate = {
            "none": "is lost (--ack none: the broker has forgotten it)",
            "auto": "is not acknowledged: the broker will redeliver it",
            "manual": "is not acknowledged: the broker will redeliver it",
        }[self._options["ack"]]
        self._log.error(
            "cannot write to {where}: {error}; message {id} from {destination} {fate}; stopping",
            where=where,
            error=error.strerror or error,
            id=headers.get("message-id", "?"),
            destination=headers.get("destination", "?"),
            fate=fate,
        )
        self._finish(EXIT_FAILURE)

    def _finish(self, status: int) -> None:
        if self.exit_status is not None:
            return
        self.exit_status = status
        with contextlib.suppress(ReactorNotRunning):
            self._reactor.stop()

    # --- stopping -----------------------------------------------------------

    def stopService(self) -> Deferred[None] | None:
        super().stopService()  # type: ignore[no-untyped-call]
        if self.client is None:
            return None
        self._leaving = True
        client = self.client
        if client.is_connected:
            self._log.info("leaving: sending DISCONNECT")
        left = client.disconnect()
        left.addCallback(self._left)
        return left

    def _left(self, result: None) -> None:
        self._log.info("disconnected; {count} message(s) written", count=self.written)
        if self._opened is not None:
            with contextlib.suppress(OSError):  # a broken pipe, already reported
                self._opened.close()


def _exit_on_failure(service: ListenService) -> None:
    # twistd and twist exit with status 0 once the reactor stops (or with
    # the signal that stopped it): this makes a listener that failed exit
    # with its status, after twistd has cleaned up.
    status = service.exit_status
    if not status:
        return
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def makeService(options: Options) -> ListenService:
    """
    twistd's and twist's entry point: the service, on the global reactor.
    """
    from twisted.internet import reactor

    service = ListenService(options, reactor)
    atexit.register(_exit_on_failure, service)
    return service
