"""
Where to connect and reconnect: broker addresses and their default ports,
broker URIs, ActiveMQ-style C{failover:} URIs (whose options make a
L{ReconnectPolicy<stomp_twisted.reconnect.ReconnectPolicy>}), and the
endpoint that fails over between brokers.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from zope.interface import implementer

from .errors import BadArgument

# The reconnect policy lives beside its loop (L{stomp_twisted.reconnect});
# a failover URI's options make one, and it is still found here.
from .reconnect import DEFAULT_RECONNECT, ReconnectPolicy

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RECONNECT",
    "DEFAULT_TLS_PORT",
    "BrokerAddress",
    "FailoverEndpoint",
    "ReconnectPolicy",
    "default_port",
    "parse_broker_uri",
    "parse_failover_uri",
]

#: The STOMP port, where none is given.
DEFAULT_PORT = 61613
#: The STOMP port over TLS, where none is given.
DEFAULT_TLS_PORT = 61612


def default_port(ssl: bool) -> int:
    """
    The port of a broker named without one: L{DEFAULT_TLS_PORT} over TLS,
    L{DEFAULT_PORT} otherwise.
    """
    return DEFAULT_TLS_PORT if ssl else DEFAULT_PORT


@dataclass(frozen=True)
class BrokerAddress:
    """
    One broker of a list.

    @ivar host: its host name or address.
    @ivar port: its STOMP port (or its WebSocket endpoint's HTTP port).
    @ivar ssl: whether to connect over TLS.
    @ivar path: for STOMP over WebSocket, the HTTP path (and query, if
        any) of the broker's WebSocket endpoint, such as C{"/ws"}: a
        C{ws://} address (C{wss://} with C{ssl}).  C{None}, the default,
        for STOMP straight over TCP.
    """

    host: str
    port: int
    ssl: bool = False
    path: str | None = None

    @property
    def websocket(self) -> bool:
        """
        Whether STOMP goes over WebSocket to this broker.
        """
        return self.path is not None

    def __str__(self) -> str:
        if self.path is not None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"{'wss' if self.ssl else 'ws'}://{host}:{self.port}{self.path}"
        return f"{'ssl' if self.ssl else 'tcp'}://{self.host}:{self.port}"


# ActiveMQ's failover transport options, as stompest and ActiveMQ users
# write them; delays are in milliseconds there.
_URI_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "initialReconnectDelay": ("initial_delay", lambda v: float(v) / 1000),
    "maxReconnectDelay": ("max_delay", lambda v: float(v) / 1000),
    "backOffMultiplier": ("multiplier", float),
    "reconnectDelayJitter": ("jitter_ms", float),
    "maxReconnectAttempts": ("max_attempts", int),
    "randomize": ("randomize", lambda v: _boolean(v)),
    "useExponentialBackOff": ("exponential", lambda v: _boolean(v)),
}


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"expected true or false, not {text!r}")
    return lowered == "true"


def parse_broker_uri(text: str) -> BrokerAddress:
    """
    Parse one broker's URI: C{tcp://host:port} or C{ssl://host:port}
    (C{stomp://} and C{stomp+ssl://} too), or a WebSocket URL,
    C{ws://host:port/path} or C{wss://host:port/path}.  The port
    defaults to L{default_port}'s (61613, 61612 for C{ssl}), or for WebSocket to the HTTP
    one (80, 443 for C{wss}); a WebSocket path to C{/}.

    @raise BadArgument: for another scheme, no host, a bad port, or
        user information (C{user:pass@}) in a WebSocket URL: the STOMP
        login and passcode are given to L{connect<stomp_twisted.connect>}.
    """
    if not isinstance(text, str):
        raise BadArgument(f"a broker URI is a str, not {type(text).__name__}")
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("tcp", "ssl", "stomp", "stomp+ssl", "ws", "wss"):
        raise BadArgument(f"broker URI {text!r}: the scheme must be tcp, ssl, ws or wss")
    if not parts.hostname:
        raise BadArgument(f"broker URI {text!r} names no host")
    try:
        port = parts.port
    except ValueError as error:
        raise BadArgument(f"broker URI {text!r}: {error}") from None
    if scheme in ("ws", "wss"):
        if parts.username is not None or parts.password is not None:
            # It would end up in logs and messages: credentials go to
            # connect()'s login and passcode.
            raise BadArgument(
                "a WebSocket broker URI must not hold user information (user:pass@): "
                "give login and passcode to connect() instead"
            )
        if parts.fragment:
            raise BadArgument(f"broker URI {text!r}: a WebSocket URL has no #fragment")
        secure = scheme == "wss"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return BrokerAddress(parts.hostname, port or (443 if secure else 80), secure, path)
    ssl = scheme in ("ssl", "stomp+ssl")
    return BrokerAddress(parts.hostname, port or default_port(ssl), ssl)


def parse_failover_uri(uri: str) -> tuple[list[BrokerAddress], ReconnectPolicy | None]:
    """
    Parse an ActiveMQ-style failover URI such as
    C{failover:(tcp://h1:61613,ssl://h2:61612)?randomize=false&maxReconnectAttempts=5}
    (or a single C{tcp://host:port}).  WebSocket brokers may be listed
    too, C{failover:(ws://h1:15674/ws,tcp://h2:61613)} (see
    L{parse_broker_uri}); a WebSocket URL's own query stays with it, as
    the failover options come after the closing parenthesis.

    Options, as ActiveMQ names them (delays in milliseconds):
    C{initialReconnectDelay}, C{maxReconnectDelay}, C{backOffMultiplier},
    C{useExponentialBackOff}, C{reconnectDelayJitter},
    C{maxReconnectAttempts}, C{randomize} (true by default, as in
    ActiveMQ).  As in ActiveMQ, C{maxReconnectAttempts} counts retries
    after the first attempt: -1 (the default) retries for ever, 0 never
    reconnects (the policy returned is then C{None}), N gives up after N
    retries (C{max_attempts=N + 1}).

    @return: the brokers, and the reconnect policy (C{None} for none).

    @raise BadArgument: for a URI or option this cannot honour.
    """
    if not isinstance(uri, str):
        raise BadArgument(f"a failover URI is a str, not {type(uri).__name__}")
    text = uri.strip()
    if not text.startswith("failover:"):
        return [parse_broker_uri(text)], ReconnectPolicy()
    rest = text[len("failover:") :]
    query = ""
    if rest.startswith("("):
        close = rest.find(")")
        if close < 0:
            raise BadArgument(f"failover URI {uri!r}: no closing parenthesis")
        brokers, after = rest[1:close], rest[close + 1 :]
        if after and not after.startswith("?"):
            raise BadArgument(f"failover URI {uri!r}: unexpected {after!r}")
        query = after[1:]
    else:
        brokers, _, query = rest.partition("?")
    addresses = [parse_broker_uri(part) for part in brokers.split(",") if part.strip()]
    if not addresses:
        raise BadArgument(f"failover URI {uri!r} lists no broker")
    settings: dict[str, Any] = {"randomize": True}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _URI_OPTIONS:
            raise BadArgument(
                f"failover URI option {name!r} is not supported; known: {', '.join(_URI_OPTIONS)}"
            )
        field_name, convert = _URI_OPTIONS[name]
        try:
            settings[field_name] = convert(value)
        except ValueError as error:
            raise BadArgument(f"failover URI option {name}={value!r}: {error}") from None
    retries = settings.pop("max_attempts", -1)
    if retries == 0:
        return addresses, None
    settings["max_attempts"] = None if retries < 0 else retries + 1
    if settings.pop("exponential", True) is False:
        settings["multiplier"] = 1.0
    jitter_ms = settings.pop("jitter_ms", None)
    if jitter_ms is not None:
        initial = settings.get("initial_delay", ReconnectPolicy.initial_delay)
        settings["jitter"] = min(1.0, jitter_ms / 1000 / initial) if initial else 0.0
    return addresses, ReconnectPolicy(**settings)


@implementer(IStreamClientEndpoint)
class FailoverEndpoint:
    """
    An endpoint over several brokers' endpoints: each connection attempt
    goes to the current one; after a failed attempt or a lost connection
    the next attempt goes to the next one, round the list.

    @ivar current: the index of the endpoint the next attempt uses.
    """

    def __init__(
        self,
        endpoints: Sequence[IStreamClientEndpoint],
        names: Sequence[str] | None = None,
        rand: random.Random | None = None,
        randomize: bool = False,
    ) -> None:
        if not endpoints:
            raise BadArgument("a failover endpoint needs at least one endpoint")
        order = list(range(len(endpoints)))
        if randomize:
            (rand or random.Random()).shuffle(order)
        self._endpoints = [endpoints[i] for i in order]
        given = list(names) if names is not None else [repr(e) for e in endpoints]
        self._names = [given[i] for i in order]
        self.current = 0

    @property
    def current_name(self) -> str:
        """
        The name of the broker the next attempt goes to.
        """
        return self._names[self.current]

    def advance(self) -> None:
        """
        Make the next attempt go to the next broker.
        """
        self.current = (self.current + 1) % len(self._endpoints)

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return self._endpoints[self.current].connect(protocolFactory)

    def __repr__(self) -> str:
        return f"<FailoverEndpoint {', '.join(self._names)} (next: {self.current_name})>"
