"""
Which brokers a host names: L{brokers_from} reads what
L{connect<stomp_twisted.connect>} is given, and what the command-line
tools (L{stomp_twisted.cli_options}) pass on to it, so that a host name,
a port, C{ssl}, a broker or failover URI, a list, an endpoint description
string or endpoint objects mean the same wherever they are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twisted.internet.interfaces import IStreamClientEndpoint

from . import arguments
from .endpoints import TLSOptions, is_endpoint_description
from .errors import BadArgument
from .failover import BrokerAddress, parse_broker_uri, parse_failover_uri
from .reconnect import DEFAULT_RECONNECT, ReconnectPolicy

__all__ = ["NamedBrokers", "brokers_from", "is_uri", "refuse_port"]


@dataclass(frozen=True)
class NamedBrokers:
    """
    The brokers a host names: either addresses (and endpoint description
    strings) for L{broker_endpoint<stomp_twisted.endpoints.broker_endpoint>},
    or endpoint objects given as they are.

    @ivar brokers: the addresses, or description strings, in order.
    @ivar endpoints: the endpoint objects, for custom transports and tests.
    @ivar reconnect: the reconnect policy the host asks for: a failover
        URI's options (C{None} for C{maxReconnectAttempts=0}), otherwise
        the default.  A C{reconnect} given explicitly wins over it.
    """

    brokers: tuple[BrokerAddress | str, ...] = ()
    endpoints: tuple[IStreamClientEndpoint, ...] = ()
    reconnect: ReconnectPolicy | None = DEFAULT_RECONNECT

    @property
    def websocket(self) -> bool:
        """
        Whether some broker is reached over WebSocket.
        """
        return any(isinstance(b, BrokerAddress) and b.websocket for b in self.brokers)


def is_uri(host: str) -> bool:
    """
    Whether C{host} is a broker URI (C{tcp://h:61613}, C{ws://h/ws}, ...)
    or a C{failover:} URI rather than a host name.
    """
    return host.startswith("failover:") or "://" in host


def brokers_from(
    host: object, port: object = None, ssl: object = False, tls: object = None
) -> NamedBrokers:
    """
    The brokers C{host} names, with C{port}, C{ssl} and C{tls} as
    L{connect<stomp_twisted.connect>} takes them (see its C{host}).

    @param host: a host name or address; a broker URI or C{failover:} URI;
        a Twisted endpoint description string; a list of C{(host, port)}
        pairs, L{BrokerAddress}es and broker URIs; or an endpoint object,
        or a list of them.
    @param port: the port of a host name; C{None} and C{0} mean
        L{default_port<stomp_twisted.failover.default_port>}'s.
    @param ssl: connect to a host name (or the pairs of a list) over TLS.
    @param tls: TLS settings; giving them implies C{ssl}.
    @raise BadArgument: for a host of the wrong type or a bad URI, a
        C{port} with anything but a host name, TLS with endpoint objects
        or a description string, or a C{ws://} or C{wss://} broker
        without autobahn installed (the message says what to install).
    """
    arguments.check_bool(ssl, "ssl")
    if tls is not None and not isinstance(tls, TLSOptions):
        raise BadArgument(f"tls must be a TLSOptions, not {type(tls).__name__}")
    # TLS settings only make sense over TLS: asking for them asks for it.
    secure = bool(ssl) or tls is not None
    endpoints = _endpoint_objects(host)
    if endpoints is not None:
        refuse_port(port, "an endpoint object, which knows where it connects")
        if secure:
            raise BadArgument(
                "ssl and tls= do not apply to endpoint objects: make the endpoint a TLS one "
                "(twisted.internet.endpoints.wrapClientTLS)"
            )
        return NamedBrokers(endpoints=tuple(endpoints))
    named = _addresses(host, port, secure, tls)
    if named.websocket:
        # Said now, not on every connection attempt.
        from .websocket import require_autobahn

        require_autobahn()
    return named


def _addresses(host: object, port: object, ssl: bool, tls: object) -> NamedBrokers:
    if isinstance(host, str) and is_uri(host):
        refuse_port(port, "a URI, which gives its own ports (a ws:// URL too)")
        addresses, policy = parse_failover_uri(host)
        return NamedBrokers(tuple(addresses), reconnect=policy)
    if isinstance(host, str) and is_endpoint_description(host):
        refuse_port(port, "an endpoint description string, which gives its own port")
        if tls is not None:
            raise BadArgument(
                "tls= does not apply to an endpoint description string: give the TLS "
                "settings in the string (tls:host=...:trustRoots=...)"
            )
        return NamedBrokers((host,))
    if isinstance(host, str):
        arguments.check_host(host)
        return NamedBrokers((BrokerAddress(host, arguments.check_port(port, ssl), ssl),))
    if isinstance(host, Sequence) and host:
        refuse_port(port, "a list of brokers: give each broker's port in the list")
        return NamedBrokers(tuple(_broker_address(item, ssl) for item in host))
    raise BadArgument(
        f"host must be a host name, a list of (host, port) or a URI, not {type(host).__name__}"
    )


def _endpoint_objects(host: object) -> list[IStreamClientEndpoint] | None:
    # Twisted client endpoints given as the broker (one, or a list to fail
    # over between), for custom transports and tests; None for any other
    # kind of host.
    if IStreamClientEndpoint.providedBy(host):
        return [host]
    if isinstance(host, str) or not isinstance(host, Sequence) or not host:
        return None
    provided = [IStreamClientEndpoint.providedBy(item) for item in host]
    if not any(provided):
        return None
    if not all(provided):
        raise BadArgument(
            "a list of brokers holds either endpoint objects or (host, port) pairs, not both"
        )
    return list(host)


def refuse_port(port: object, what: str) -> None:
    """
    Refuse a C{port} given with a host that is not a host name.

    @param what: what the host is, for the message.
    @raise BadArgument: for a port other than C{None} or C{0} (the default).
    """
    if port is not None and not (port == 0 and isinstance(port, int)):
        raise BadArgument(f"port applies to a single host name, not to {what}")


def _broker_address(item: object, ssl: bool) -> BrokerAddress:
    if isinstance(item, str) and "://" in item:
        # A broker URI in a list ("ws://h:15674/ws"): its scheme says
        # whether it is TLS, not connect()'s ssl.
        return parse_broker_uri(item)
    if isinstance(item, BrokerAddress):
        arguments.check_host(item.host, "a BrokerAddress's host")
        arguments.check_int(item.port, "a BrokerAddress's port", minimum=1, maximum=65535)
        arguments.check_bool(item.ssl, "a BrokerAddress's ssl")
        if item.path is not None and (
            not isinstance(item.path, str) or not item.path.startswith("/")
        ):
            raise BadArgument(
                f"a BrokerAddress's path must be None or a str starting with /, not {item.path!r}"
            )
        return item
    if isinstance(item, tuple) and len(item) == 2:
        host, port = item
        arguments.check_host(host, "a broker's host")
        # (A port of 0 means the default, as for connect()'s port.)
        return BrokerAddress(host, arguments.check_port(port, ssl, "a broker's port"), ssl)
    raise BadArgument(
        "a broker is a (host, port) pair, a BrokerAddress or a URI such as"
        f" ws://host:15674/ws, not {type(item).__name__}"
    )
