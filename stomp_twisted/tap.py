"""
C{twistd stomp-listen}: subscribe to STOMP destinations and write each
message received to standard output.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import IO, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python import usage

from .client import AckMode, StompClient, connect

__all__ = ["ListenService", "Options", "makeService"]

FORMATS = ("body", "json")


class Options(usage.Options):
    """
    The command line of C{stomp-listen}.
    """

    synopsis = "[options] --destination /queue/name [--destination ...]"
    longdesc = (
        "Connect to a STOMP broker, subscribe to each --destination and write every "
        "message received to standard output, one per line (or as JSON lines)."
    )
    optParameters = [
        ["host", "H", "127.0.0.1", "Broker host name or address."],
        ["port", "p", None, "Broker port [default: 61613, or 61612 with --ssl].", int],
        ["login", "u", None, "STOMP login."],
        ["passcode-env", None, None, "Read the passcode from this environment variable."],
        ["vhost", None, "/", "The CONNECT host header (RabbitMQ's virtual host)."],
        ["ack", "a", "none", "Acknowledgement: none or auto (after the message is written)."],
        ["format", "f", "body", "Output format: body (one per line) or json (JSON lines)."],
        ["count", "n", None, "Exit after this many messages.", int],
    ]
    optFlags = [["ssl", None, "Connect over TLS, verifying the broker's certificate."]]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["destinations"] = []

    def opt_destination(self, destination: str) -> None:
        """
        A destination to subscribe to (repeatable).
        """
        self["destinations"].append(destination)

    opt_d = opt_destination

    def postOptions(self) -> None:
        if not self["destinations"]:
            raise usage.UsageError("give at least one --destination")
        if self["ack"] not in ("none", "auto"):
            raise usage.UsageError(f"--ack must be none or auto, not {self['ack']!r}")
        if self["format"] not in FORMATS:
            raise usage.UsageError(f"--format must be one of {', '.join(FORMATS)}")
        if self["count"] is not None and self["count"] < 1:
            raise usage.UsageError("--count must be at least 1")


def format_message(body: bytes, headers: dict[str, str], style: str) -> bytes:
    """
    One message as one line of output, newline included.
    """
    if style == "json":
        record: dict[str, Any] = {"destination": headers.get("destination"), "headers": headers}
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    return body + b"\n"


class ListenService(Service):
    """
    Listens while running: connects on start, disconnects on stop.
    """

    _log = Logger()

    def __init__(self, options: Options, reactor: Any, output: IO[bytes] | None = None) -> None:
        self._options = options
        self._reactor = reactor
        self._output = output if output is not None else sys.stdout.buffer
        self._received = 0
        self.client: StompClient | None = None

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        options = self._options
        headers: dict[str, str] = {}
        if options["login"] is not None:
            headers["login"] = options["login"]
        if options["passcode-env"] is not None:
            import os

            headers["passcode"] = os.environ.get(options["passcode-env"], "")
        ack: AckMode = "auto" if options["ack"] == "auto" else None
        client = connect(
            options["host"],
            options["port"],
            ssl=options["ssl"],
            connect_headers=headers,
            reactor=self._reactor,
            vhost=options["vhost"],
        )
        self.client = client

        def subscribe(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            # Once: the client itself re-subscribes after a reconnect.
            client.unreg_cb(subscribing)
            for destination in options["destinations"]:
                client.subscribe(destination, self._write, ack=ack)

        subscribing = client.reg_cb("CONNECTED", subscribe)
        client.reg_cb("connect_error", lambda c, message: self._log.error("{m}", m=message))
        client.reg_cb("ERROR", lambda c, body, h: self._log.error("broker ERROR: {h}", h=h))

    def _write(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        count = self._options["count"]
        if count is not None and self._received >= count:
            raise RuntimeError("--count reached; message left for the broker")
        self._output.write(format_message(body, headers, self._options["format"]))
        self._output.flush()
        self._received += 1
        if count is not None and self._received == count:
            self._reactor.callLater(0, self._reactor.stop)

    def stopService(self) -> Deferred[None] | None:
        super().stopService()  # type: ignore[no-untyped-call]
        if self.client is None:
            return None
        return self.client.disconnect()


def makeService(options: Options) -> ListenService:
    """
    twistd's entry point.
    """
    from twisted.internet import reactor

    return ListenService(options, reactor)
