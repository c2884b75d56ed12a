"""
C{twistd stomp-listen}: subscribe to STOMP destinations and write each
message received to standard output (or a file), as C{mosquitto_sub} or
C{kcat -C} do for their brokers.

This module is twistd's face of the command: L{Options}, the command
line, and L{makeService}, twistd's entry point.  The plugin module,
C{twisted/plugins/stomp_listen.py}, only names this module: twistd
imports it when C{stomp-listen} is asked for.  The service itself is
L{ListenService<stomp_twisted._listen_service.ListenService>}; the output
formats are in L{stomp_twisted._listen_output}.

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
import os
import sys

from twisted.logger import ILogObserver, textFileLogObserver
from twisted.python import usage

from ._listen_output import FORMATS
from ._listen_service import ListenService
from .cli_options import (
    ConnectionOptions,
    key_value,
    positive_int,
    reconnect_attempts_parameter,
)

__all__ = ["ACK_MODES", "Options", "makeService", "stderr_log_observer"]

#: The acknowledgement modes of the command line.
ACK_MODES = ("none", "auto", "manual")


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
    L{ConnectionOptions.connect_arguments} gives the arguments of
    L{stomp_twisted.connect}.
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
