"""
The connection options shared by the command-line tools, C{twistd
stomp-listen} (L{stomp_twisted.tap}) and C{stomp-send}
(L{stomp_twisted.send}): where the broker is (host, port, failover URI or
Twisted endpoint), TLS, the login and where the passcode comes from, the
STOMP session (versions, heart-beats, extra C{CONNECT} headers) and the
reconnect policy.

L{ConnectionOptions} is a L{usage.Options} to subclass: a command adds
its own options, declares C{--reconnect-attempts} with its own default
(see L{reconnect_attempts_parameter}), and calls
L{ConnectionOptions.check_connection} from its C{postOptions}; then
L{ConnectionOptions.connect_arguments} gives the arguments of
L{stomp_twisted.connect}.

Parsing never imports the reactor, so that C{--help} and usage errors
work before (and without) one: twistd and twist pick theirs after parsing.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

from twisted.python import usage

from . import arguments
from ._brokers import NamedBrokers, brokers_from, is_uri
from .endpoints import TLSOptions, is_endpoint_description
from .errors import BadArgument, StompError
from .failover import DEFAULT_PORT, DEFAULT_TLS_PORT
from .frame import VERSIONS
from .heartbeat import parse_offer
from .reconnect import ReconnectPolicy

__all__ = [
    "ConnectionOptions",
    "key_value",
    "positive_int",
    "reconnect_attempts_parameter",
    "seconds",
]


def key_value(text: str, option: str) -> tuple[str, str]:
    """
    Split C{NAME=VALUE} (the value may hold C{=}).

    @param option: the option's name, for the error message.
    @raise usage.UsageError: without C{=}, or with an empty name.
    """
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise usage.UsageError(f"{option} takes NAME=VALUE, not {text!r}")
    return name, value


def versions(text: str) -> list[str]:
    """
    The STOMP versions of a comma-separated list.

    @raise ValueError: for an empty list or an unknown version.
    """
    offered = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in offered if v not in VERSIONS]
    if not offered or unknown:
        raise ValueError(f"expected some of {', '.join(VERSIONS)} separated by commas")
    return offered


def heartbeat(text: str) -> tuple[int, int]:
    """
    A heart-beat offer, C{CX,CY} in milliseconds.

    @raise ValueError: for anything else.
    """
    try:
        return parse_offer(text)
    except BadArgument:
        raise ValueError("expected two numbers of milliseconds, like 10000,10000") from None


def positive_int(text: str) -> int:
    """
    An integer of at least 1.

    @raise ValueError: for anything else.
    """
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def seconds(text: str) -> float:
    """
    A number of seconds, 0 or more.

    @raise ValueError: for anything else, NaN included.
    """
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise ValueError("must be a number of seconds, 0 or more")
    return value


def reconnect_attempts_parameter(default_text: str) -> list[Any]:
    """
    The C{--reconnect-attempts} entry of C{optParameters}, whose default
    differs from one command to the other.

    @param default_text: what happens without the option, for C{--help}.
    """
    return [
        "reconnect-attempts",
        None,
        None,
        "Give up (exit status 1) after this many failed attempts in a row. "
        f"[default: {default_text}]",
        positive_int,
    ]


class ConnectionOptions(usage.Options):
    """
    The options that say where and how to connect, common to the
    command-line tools.

    @cvar default_attempts: the reconnect policy's C{max_attempts} when
        no C{--reconnect-*} option is given; C{None} keeps the client's
        default (never give up).
    """

    default_attempts: int | None = None

    optParameters = [
        [
            "host",
            "H",
            None,
            "Broker host name or address; or a broker URL: tcp://h:61613, ssl://h:61612, "
            "or over WebSocket ws://h:15674/ws or wss://h/ws (needs the websocket extra); "
            "or a failover URI listing several brokers, like "
            "failover:(tcp://a:61613,ws://b:15674/ws). [default: 127.0.0.1]",
        ],
        [
            "port",
            "p",
            None,
            f"Broker port. [default: {DEFAULT_PORT}, or {DEFAULT_TLS_PORT} with --ssl]",
            int,
        ],
        [
            "endpoint",
            "e",
            None,
            "A Twisted client endpoint description to connect through "
            "instead of --host/--port/--ssl, e.g. tcp:host=broker:port=61613 or "
            "unix:path=/run/stomp.sock.",
        ],
        [
            "ca-file",
            None,
            None,
            "TLS: trust the CAs in this PEM file instead of the system's (implies --ssl).",
        ],
        ["cert-file", None, None, "TLS: present this PEM client certificate (implies --ssl)."],
        ["key-file", None, None, "TLS: the PEM key of --cert-file, if not in that file."],
        ["server-name", None, None, "TLS: the name to send and verify, if not --host."],
        ["login", "u", None, "The STOMP login."],
        [
            "passcode",
            None,
            None,
            "The passcode. WARNING: visible to every user in the "
            "process list; prefer --passcode-file or --passcode-env.",
        ],
        ["passcode-env", None, None, "Read the passcode from this environment variable."],
        ["passcode-file", None, None, "Read the passcode from the first line of this file."],
        ["vhost", None, "/", "The CONNECT host header (RabbitMQ's virtual host)."],
        [
            "stomp-version",
            None,
            "1.0,1.1,1.2",
            "The STOMP versions to offer, by commas.",
            versions,
        ],
        [
            "heartbeat",
            None,
            "10000,10000",
            "Heart-beats to offer, CX,CY in milliseconds: "
            "send at least every CX, expect the broker every CY; 0,0 for none.",
            heartbeat,
        ],
        [
            "reconnect-delay",
            None,
            None,
            "Seconds before the first retry after a failed or "
            "lost connection; each further retry waits twice as long. [default: 0.1]",
            seconds,
        ],
        [
            "reconnect-max-delay",
            None,
            None,
            "The longest wait between retries, in seconds. [default: 30]",
            seconds,
        ],
    ]
    optFlags = [
        ["ssl", None, "Connect over TLS, verifying the broker's certificate and name."],
        ["no-verify", None, "TLS: do not verify the broker's certificate (development only)."],
        [
            "no-reconnect",
            None,
            "Make one connection attempt; exit (status 1) when it fails or the connection is lost.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["connect-headers"] = {}
        self["websocket-headers"] = {}
        self["tls"] = None
        self["reconnect"] = {}

    def opt_connect_header(self, header: str) -> None:
        """
        NAME=VALUE: an extra CONNECT header (repeatable), such as client-id=...
        """
        name, value = key_value(header, "--connect-header")
        self["connect-headers"][name] = value

    def opt_websocket_header(self, header: str) -> None:
        """
        NAME=VALUE: an extra header of the WebSocket opening handshake with a ws:// or
        wss:// broker (repeatable), such as Origin=https://app.example.
        """
        name, value = key_value(header, "--websocket-header")
        self["websocket-headers"][name] = value

    # --- checks -------------------------------------------------------------

    def check_connection(self) -> None:
        """
        Check the connection options and resolve them (the passcode read
        from its source, TLS files read, defaults coerced, and the brokers
        named in C{self["brokers"]}, a
        L{NamedBrokers<stomp_twisted._brokers.NamedBrokers>}, as
        L{stomp_twisted.connect} will read them); call it from
        C{postOptions}.

        @raise usage.UsageError: for a bad option or combination.
        """
        # usage.Options does not coerce the defaults.
        if isinstance(self["stomp-version"], str):
            self["stomp-version"] = versions(self["stomp-version"])
        if isinstance(self["heartbeat"], str):
            self["heartbeat"] = heartbeat(self["heartbeat"])
        self._check_broker()
        self._check_reconnect()
        self["passcode"] = self._passcode()
        self._check_handshake_headers()

    def _check_broker(self) -> None:
        # The options' own rules first, in their words; then the brokers
        # they name, read as connect() reads them (and will, again).
        if self["endpoint"] is not None:
            self._check_endpoint_alone()
            self._name_brokers(self["endpoint"])
            self._check_websocket_headers()
            return
        host = self["host"]
        if host is None:
            host = self["host"] = "127.0.0.1"
        if not host:
            raise usage.UsageError("--host must not be empty")
        if is_uri(host):
            if self["port"] is not None:
                raise usage.UsageError("a failover URI carries its own ports: drop --port")
        elif is_endpoint_description(host):
            raise usage.UsageError(f"--host {host!r} looks like an endpoint: use --endpoint")
        if self["port"] is not None and not 0 < self["port"] < 65536:
            raise usage.UsageError(f"--port must be between 1 and 65535, not {self['port']}")
        self._check_tls()
        self._name_brokers(host, self["port"], bool(self["ssl"]), self["tls"])
        self._check_websocket_headers()

    def _check_websocket_headers(self) -> None:
        # connect()'s rules: only with a WebSocket broker, and no header
        # the handshake sets itself.
        headers = self["websocket-headers"]
        if not headers:
            return
        named: NamedBrokers = self["brokers"]
        if not any(getattr(broker, "path", None) is not None for broker in named.brokers):
            raise usage.UsageError("--websocket-header applies to ws:// and wss:// brokers only")
        from .websocket import check_websocket_headers

        try:
            self["websocket-headers"] = check_websocket_headers(headers)
        except StompError as error:
            raise usage.UsageError(f"--websocket-header: {error}") from None

    def _name_brokers(self, *where: object) -> None:
        # Said now, not on the first connection attempt: a bad URI, a
        # ws:// broker without autobahn, ...
        try:
            self["brokers"] = brokers_from(*where)
        except BadArgument as error:
            raise usage.UsageError(str(error)) from None

    def _check_handshake_headers(self) -> None:
        # What CONNECT will carry, checked by the rules connect() checks it
        # by, so that a value no STOMP version can write (a newline, a
        # colon in a name) is a usage error, not a traceback at start.
        # (The messages never quote a value: one may be the passcode.)
        try:
            arguments.check_connect_header_mapping(self["connect-headers"], "--connect-header")
            for name in ("vhost", "login", "passcode"):
                if self[name] is not None:
                    arguments.check_connect_header_text(self[name], f"--{name}")
        except StompError as error:
            raise usage.UsageError(str(error)) from None

    def _check_endpoint_alone(self) -> None:
        given = [
            f"--{name}"
            for name in ("host", "port", "ca-file", "cert-file", "key-file", "server-name")
            if self[name] is not None
        ] + [f"--{name}" for name in ("ssl", "no-verify") if self[name]]
        if given:
            raise usage.UsageError(
                f"--endpoint cannot be combined with {', '.join(given)}: "
                "put TLS settings in the endpoint description"
            )
        if not is_endpoint_description(self["endpoint"]):
            raise usage.UsageError(
                f"--endpoint {self['endpoint']!r} is not an endpoint description "
                "(tcp:, tls:, ssl:, unix:, ...)"
            )
        self._check_endpoint(self["endpoint"])

    def _check_tls(self) -> None:
        tls_files = [self[name] for name in ("ca-file", "cert-file", "key-file", "server-name")]
        wants_tls = self["ssl"] or self["no-verify"] or any(v is not None for v in tls_files)
        if self["key-file"] is not None and self["cert-file"] is None:
            raise usage.UsageError("--key-file needs --cert-file")
        if not wants_tls:
            return
        self["ssl"] = True
        try:
            tls = TLSOptions(
                ca_file=self["ca-file"],
                cert_file=self["cert-file"],
                key_file=self["key-file"],
                server_name=self["server-name"],
                verify=not self["no-verify"],
            )
            # Reads and checks the files now, not on the first attempt.
            tls.creator(self["server-name"] or "localhost")
        except BadArgument as error:
            raise usage.UsageError(str(error)) from None
        self["tls"] = tls

    @staticmethod
    def _check_endpoint(description: str) -> None:
        # Parse it now, with no reactor: importing the reactor here would
        # install the default one before twistd or twist picks theirs.
        from twisted.internet.endpoints import clientFromString

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                clientFromString(object(), description)  # type: ignore[no-untyped-call]
            except (ValueError, TypeError, KeyError, OSError) as error:
                raise usage.UsageError(f"bad --endpoint {description!r}: {error}") from None

    def _check_reconnect(self) -> None:
        tuned = {
            field: self[name]
            for name, field in (
                ("reconnect-delay", "initial_delay"),
                ("reconnect-max-delay", "max_delay"),
                ("reconnect-attempts", "max_attempts"),
            )
            if self[name] is not None
        }
        self["reconnect"] = {}
        if self["no-reconnect"]:
            if tuned:
                raise usage.UsageError("--no-reconnect cannot be combined with --reconnect-*")
            self["reconnect"] = {"reconnect": None}
            return
        # The policy a failover URI in --host asks for, or the default.
        named: NamedBrokers = self["brokers"]
        base = named.reconnect
        if tuned:
            # Over a failover URI's own settings, if any.
            try:
                policy = dataclasses.replace(base or ReconnectPolicy(), **tuned)
            except BadArgument as error:
                raise usage.UsageError(str(error)) from None
            self["reconnect"] = {"reconnect": policy}
        elif self.default_attempts is not None and base is not None and base.max_attempts is None:
            # The command's bound, unless a failover URI set its own.
            policy = dataclasses.replace(base, max_attempts=self.default_attempts)
            self["reconnect"] = {"reconnect": policy}

    def _passcode(self) -> str | None:
        sources = [name for name in ("passcode", "passcode-env", "passcode-file") if self[name]]
        if len(sources) > 1:
            raise usage.UsageError(f"give only one of --{', --'.join(sources)}")
        if self["passcode-env"]:
            name = self["passcode-env"]
            if name not in os.environ:
                raise usage.UsageError(f"--passcode-env: ${name} is not set")
            return os.environ[name]
        if self["passcode-file"]:
            try:
                with open(self["passcode-file"], encoding="utf-8") as file:
                    first = file.readline()
            except (OSError, UnicodeDecodeError) as error:
                why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                raise usage.UsageError(f"cannot read --passcode-file: {why}") from None
            return first.rstrip("\r\n")
        passcode: str | None = self["passcode"]
        return passcode

    # --- results ------------------------------------------------------------

    def connect_arguments(self) -> dict[str, Any]:
        """
        The keyword arguments of L{stomp_twisted.connect} (except
        C{reactor}) for these options, which must have been parsed.
        """
        arguments: dict[str, Any] = {
            "connect_headers": dict(self["connect-headers"]),
            "versions": list(self["stomp-version"]),
            "vhost": self["vhost"],
            "heartbeat": self["heartbeat"],
        }
        if self["login"] is not None:
            arguments["login"] = self["login"]
        if self["passcode"] is not None:
            arguments["passcode"] = self["passcode"]
        if self["endpoint"] is not None:
            arguments["host"] = self["endpoint"]
        else:
            arguments["host"] = self["host"]
            arguments["port"] = self["port"]
            arguments["ssl"] = bool(self["ssl"])
            arguments["tls"] = self["tls"]
            if self["websocket-headers"]:
                arguments["websocket_headers"] = dict(self["websocket-headers"])
        arguments.update(self["reconnect"])
        return arguments

    def describe_broker(self) -> str:
        """
        Where the command connects, for the log (never the passcode).
        """
        if self["endpoint"] is not None:
            return str(self["endpoint"])
        host = str(self["host"])
        if is_uri(host):
            return host
        named: NamedBrokers = self["brokers"]
        return str(named.brokers[0])
