"""
L{connect}: the client made from a broker's name, AnyEvent::STOMP's entry point.

It checks every argument at the call, turns the host (a name, a list, a URI,
an endpoint) into the endpoint that L{StompClient} reconnects through, and
starts the client.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from twisted.internet.interfaces import (
    IReactorTCP,
    IReactorTime,
    IReactorUNIX,
    IStreamClientEndpoint,
)
from twisted.python.failure import Failure

from . import arguments
from ._brokers import NamedBrokers, brokers_from
from ._subscriptions import AckMode
from ._subscriptions import ack_mode as _ack_mode
from .arguments import HeaderValues
from .client import StompClient
from .endpoints import DEFAULT_CONNECT_TIMEOUT, TimeoutEndpoint, TLSOptions, broker_endpoint
from .errors import BadArgument, ClientClosed, NotConnected
from .factory import StompClientFactory
from .factory import endpoint_name as _endpoint_name
from .failover import BrokerAddress, FailoverEndpoint
from .frame import VERSIONS
from .reconnect import ReconnectPolicy

__all__ = ["connect"]


def connect(
    host: str
    | IStreamClientEndpoint
    | Sequence[tuple[str, int] | BrokerAddress]
    | Sequence[IStreamClientEndpoint],
    port: int | None = None,
    ssl: bool = False,
    destination: str | None = None,
    ack: AckMode | Literal[0] = None,
    connect_headers: HeaderValues | None = None,
    subscribe_headers: HeaderValues | None = None,
    *,
    reactor: Any = None,
    tls: TLSOptions | None = None,
    start: bool = True,
    websocket_headers: Mapping[str, str] | None = None,
    **options: Any,
) -> StompClient:
    """
    Connect to a STOMP broker, as AnyEvent::STOMP's C{connect} does: the
    client is returned at once and connects in the background, and keeps
    reconnecting after failures and losses (see C{reconnect}).

    @param host: the broker's host name or address; or a list of
        C{(host, port)} pairs (or L{BrokerAddress}es, or broker URIs such
        as C{"ws://h1:15674/ws"}) to fail over between; or a broker URI,
        C{tcp://h:61613}, C{ssl://h:61612}, or for STOMP over WebSocket
        C{ws://h:15674/ws} or C{wss://h/ws} (these need the C{websocket}
        extra: C{pip install 'stomp_twisted[websocket]'}); or an
        ActiveMQ-style URI,
        C{failover:(tcp://h1:61613,ssl://h2:61612)?randomize=false} (it
        may list C{ws://} and C{wss://} brokers too), whose options set
        the reconnect policy; or a Twisted endpoint
        description string such as C{"tls:host=h:port=61612"}; or a
        Twisted client endpoint object (C{IStreamClientEndpoint}), or a
        list of them to fail over between, for custom transports and
        tests (TLS, if wanted, is then the endpoint's own).
    @param port: the port of a single C{host}; 61613, or 61612 with
        C{ssl}.
    @param ssl: connect over TLS, verifying the broker's certificate and
        host name.
    @param destination: if given, subscribe to it once connected.
    @param ack: the acknowledgement policy of that subscription: C{None}
        or C{0} for none, C{"auto"} or C{"manual"}.
    @param connect_headers: extra C{CONNECT} headers.
    @param subscribe_headers: extra C{SUBSCRIBE} headers for
        C{destination}.
    @param reactor: the reactor to use; the global one if omitted.
    @param tls: TLS settings (a private CA, a client certificate, ...);
        giving them implies C{ssl}.  They apply to the C{ssl://} and
        C{wss://} brokers of a URI or list as well.
    @param start: start connecting now (the default); with C{False} the
        client waits for L{StompClient.start}, so that observers can be
        registered first (L{StompService<stomp_twisted.service.StompService>}
        does this).
    @param websocket_headers: extra headers of the WebSocket opening
        handshake with C{ws://} and C{wss://} brokers, such as
        C{{"Origin": "https://app.example"}} for an endpoint (Spring's)
        that checks it; only with a WebSocket broker.
    @param options: passed to L{StompClient} (C{reconnect},
        C{receipt_timeout}, ...); a C{reconnect} given here overrides a
        failover URI's options.
    @raise BadArgument: for any argument of the wrong type or out of
        range, checked here rather than on each connection attempt: an
        unknown option (the message lists the valid ones), a C{port}
        outside 0-65535 (C{0} and C{None} mean the default, as in
        AnyEvent::STOMP) or given with a list of brokers, C{ack} or
        C{subscribe_headers} without a C{destination}, a reactor without
        C{IReactorTime} (and C{IReactorTCP} for a host name), a C{ws://}
        or C{wss://} broker without autobahn installed (the message says
        what to install), C{websocket_headers} without a WebSocket
        broker or naming a header the handshake sets itself, and every
        setting L{StompClient} checks.
    @raise UnrepresentableHeader: for a C{CONNECT} header, login,
        passcode or vhost that cannot be written (the message never
        quotes the value), or for C{subscribe_headers} or a
        C{destination} that some offered version cannot write.
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    _check_connect_options(options)
    arguments.check_provides(reactor, "reactor", IReactorTime)
    ack_mode = _ack_mode(ack)
    named = brokers_from(host, port, ssl, tls)
    _check_reactor_reaches(reactor, named.brokers)
    websocket_headers = _check_websocket_headers(websocket_headers, named)
    # A failover URI's policy, unless a reconnect was given.
    options.setdefault("reconnect", named.reconnect)
    reconnect = options["reconnect"]
    arguments.check_instance(reconnect, ReconnectPolicy, "reconnect", allow_none=True)
    if "versions" in options:
        # Read once here (it may be an iterator), and handed on as read.
        options["versions"] = arguments.check_versions(options["versions"])
    sub_headers = _subscription_headers(
        destination, ack_mode, subscribe_headers, options.get("versions", VERSIONS)
    )
    randomize = bool(reconnect is not None and reconnect.randomize)
    # connect_timeout bounds reaching the broker too (name resolution, TCP),
    # then, from the connection on, the TLS handshake and CONNECTED.
    connect_timeout = options.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    arguments.check_number(connect_timeout, "connect_timeout", above=True)
    if not named.endpoints:
        endpoint = broker_endpoint(
            reactor,
            named.brokers,
            tls=tls,
            randomize=randomize,
            timeout=connect_timeout,
            versions=options.get("versions", VERSIONS),
            websocket_headers=websocket_headers,
        )
    else:
        names = [_endpoint_name(given) for given in named.endpoints]
        bounded: list[IStreamClientEndpoint] = [
            TimeoutEndpoint(reactor, given, connect_timeout, name)
            for given, name in zip(named.endpoints, names, strict=True)
        ]
        endpoint = FailoverEndpoint(bounded, names, randomize=randomize)
    client = StompClient(endpoint, reactor=reactor, connect_headers=connect_headers, **options)
    if destination is not None:
        subscribed = client.subscribe(destination, ack=ack_mode, headers=sub_headers, receipt=False)

        def never_connected(failure: Failure) -> Failure | None:
            # Nobody else holds this Deferred: if the client never
            # connects, when_connected() and connect_error say so already.
            if isinstance(failure.value, (NotConnected, ClientClosed)):
                return None
            return failure

        subscribed.addErrback(never_connected)
    arguments.check_bool(start, "start")
    if start:
        client.start()
    return client


def _client_options() -> list[str]:
    # StompClient's settings, as connect() passes them on: read from its
    # signature, so that a new setting is accepted without a list to
    # keep in step.
    parameters = inspect.signature(StompClientFactory.__init__).parameters.values()
    passed_by_connect = {"reactor", "connect_headers", "client"}
    return sorted(
        parameter.name
        for parameter in parameters
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.name not in passed_by_connect
    )


def _check_connect_options(options: Mapping[str, object]) -> None:
    valid = _client_options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise BadArgument(
            f"unknown option(s) {', '.join(map(repr, unknown))}; connect() takes host, port, "
            "ssl, destination, ack, connect_headers, subscribe_headers, reactor, tls, "
            "start, websocket_headers and "
            f"these options of StompClient: {', '.join(valid)}"
        )


def _check_reactor_reaches(reactor: object, brokers: Sequence[BrokerAddress | str]) -> None:
    # The reactor must be able to make the connections the brokers need,
    # or every attempt would fail the same way, for ever.
    for broker in brokers:
        if isinstance(broker, str) and broker.startswith("unix:"):
            arguments.check_provides(reactor, "reactor", IReactorUNIX)
        else:
            arguments.check_provides(reactor, "reactor", IReactorTCP)


def _check_websocket_headers(headers: object, named: NamedBrokers) -> dict[str, str] | None:
    if headers is None:
        return None
    if not named.websocket:
        raise BadArgument("websocket_headers apply to ws:// and wss:// brokers only")
    from .websocket import check_websocket_headers

    return check_websocket_headers(headers)


def _subscription_headers(
    destination: object,
    ack_mode: AckMode,
    headers: HeaderValues | None,
    versions: Iterable[str],
) -> dict[str, str]:
    # The SUBSCRIBE of connect()'s destination is written once CONNECTED
    # arrives, under whichever version the broker chose: it must be
    # writable in every version offered, or it would be dropped then.
    if destination is None:
        if headers is not None:
            raise BadArgument("subscribe_headers apply to the subscription to destination")
        if ack_mode is not None:
            raise BadArgument("ack applies to the subscription to destination")
        return {}
    if not isinstance(destination, str) or not destination:
        raise BadArgument(
            f"destination must be a non-empty str or None, not {type(destination).__name__}"
        )
    sub_headers = arguments.request_headers(headers, "subscribe_headers")
    arguments.refuse_receipt_header(sub_headers, "subscribe_headers")
    trial = dict(sub_headers)
    trial.setdefault("ack", "auto" if ack_mode is None else "client-individual")
    trial["destination"] = destination
    trial["id"] = "sub-1"
    arguments.check_representable("SUBSCRIBE", trial, versions, "the subscription to destination")
    return sub_headers
