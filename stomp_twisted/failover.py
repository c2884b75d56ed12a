"""
Where to reconnect, and when: broker lists, ActiveMQ-style C{failover:}
URIs, and the back-off between attempts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from zope.interface import implementer

from .errors import BadArgument

__all__ = [
    "DEFAULT_RECONNECT",
    "BrokerAddress",
    "FailoverEndpoint",
    "ReconnectPolicy",
    "parse_broker_uri",
    "parse_failover_uri",
]


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


@dataclass(frozen=True)
class ReconnectPolicy:
    """
    How long to wait before each connection attempt after a failure or a
    lost connection: C{initial_delay * multiplier ** (attempt - 1)}, at
    most C{max_delay}, plus up to C{jitter} of that delay at random so that
    many clients of one broker do not return at the same instant.

    @ivar initial_delay: seconds before the first retry.
    @ivar max_delay: the longest wait, in seconds, before jitter.
    @ivar multiplier: the factor by which the wait grows per failure.
    @ivar jitter: the random fraction added to each wait (0 for none).
    @ivar max_attempts: consecutive failed attempts after which the client
        gives up, or C{None} to retry for ever.
    @ivar randomize: try the brokers of a list in a random order.
    @ivar refused_delay: the shortest wait after the broker refused
        CONNECT (bad credentials, say), so that a refusal is never retried
        in a tight loop.
    @ivar stable_after: how long, in seconds, a session must last after
        CONNECTED before the client counts it as working.  A session lost
        sooner (a broker that closes, or sends ERROR, right after
        CONNECTED or after a SUBSCRIBE it refuses) counts as a failed
        attempt: the back-off keeps growing and C{max_attempts} counts
        it, so a broker that ends every session at once is never hammered.
    """

    initial_delay: float = 0.1
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.1
    max_attempts: int | None = None
    randomize: bool = False
    refused_delay: float = 5.0
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "initial_delay",
            "max_delay",
            "multiplier",
            "jitter",
            "refused_delay",
            "stable_after",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise BadArgument(f"{name} must be a finite number, not {value!r}")
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int)
        ):
            raise BadArgument(f"max_attempts must be an int or None, not {self.max_attempts!r}")
        if self.refused_delay < 0 or self.stable_after < 0:
            raise BadArgument("refused_delay and stable_after cannot be negative")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise BadArgument("reconnect delays cannot be negative")
        if self.multiplier < 1:
            raise BadArgument("the back-off multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise BadArgument("jitter is a fraction between 0 and 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise BadArgument("max_attempts must be at least 1, or None for no limit")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """
        The wait before retry number C{attempt} (1 for the first).
        """
        exponent = min(max(attempt - 1, 0), 64)
        base = min(self.initial_delay * self.multiplier**exponent, self.max_delay)
        return base * (1 + self.jitter * rand())


#: The reconnect policy clients use unless told otherwise.
DEFAULT_RECONNECT = ReconnectPolicy()

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
    defaults to 61613 (61612 for C{ssl}), or for WebSocket to the HTTP
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
    return BrokerAddress(parts.hostname, port or (61612 if ssl else 61613), ssl)


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
