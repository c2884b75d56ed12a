"""
Resolving broker host names without depending on a running reactor's
thread pool.

Twisted's default name resolver runs C{getaddrinfo} in the reactor's
thread pool, and that pool only starts when the reactor runs
(C{reactor.run()}).  An C{asyncio.run()} application that installs the
asyncio reactor on its running loop never runs the reactor that way: a
resolution would wait for ever.  L{BrokerNameResolver} answers IP
addresses at once, resolves names through the asyncio loop's own executor
in that case, and otherwise asks the reactor's resolver as Twisted would.

Not API (C{docs/api.rst}): the endpoints the package builds use it, and
C{docs/asyncio.rst} describes what that means for a program.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = ["BrokerNameResolver", "ResolvingReactor", "asyncio_loop_without_reactor"]

_log = Logger()

_FAMILIES = {
    frozenset([IPv4Address]): socket.AF_INET,
    frozenset([IPv6Address]): socket.AF_INET6,
    frozenset([IPv4Address, IPv6Address]): socket.AF_UNSPEC,
}


def asyncio_loop_without_reactor(reactor: object) -> asyncio.AbstractEventLoop | None:
    """
    The asyncio loop driving C{reactor} while Twisted does not consider
    it running: the asyncio reactor installed on the loop of an
    C{asyncio.run()} application, which never calls C{reactor.run()}.

    @return: that loop, or C{None} for any other reactor, or when the
        reactor runs (its thread pool works then), or when the loop does
        not run yet.
    """
    # Not imported: a reactor of that class exists only if it was.
    module = sys.modules.get("twisted.internet.asyncioreactor")
    if module is None or not isinstance(reactor, module.AsyncioSelectorReactor):
        return None
    if getattr(reactor, "running", False):
        return None
    loop: asyncio.AbstractEventLoop | None = getattr(reactor, "_asyncioEventloop", None)
    if loop is None or not loop.is_running() or loop.is_closed():
        return None
    return loop


def _uses_reactor_thread_pool(resolver: IHostnameResolver) -> bool:
    # Twisted's default resolver; one a user installed is theirs to run.
    from twisted.internet._resolver import GAIResolver

    return isinstance(resolver, GAIResolver)


def _ip_address(name: str) -> IPv4Address | IPv6Address | None:
    # A numeric address resolves to itself: no thread, no lookup.  Scoped
    # IPv6 addresses ("fe80::1%eth0") are left to getaddrinfo.
    try:
        parsed = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        return None if parsed.scope_id else IPv6Address("TCP", name, 0)
    return IPv4Address("TCP", name, 0)


@implementer(IHostResolution)
class _Resolution:
    # A resolution in progress; cancelling it stops waiting for it.
    def __init__(self, name: str, cancel: Callable[[], object] = lambda: None) -> None:
        self.name = name
        self._cancel = cancel

    def cancel(self) -> None:
        self._cancel()


@implementer(IHostnameResolver)
class BrokerNameResolver:
    """
    The resolver of the endpoints L{client_endpoint
    <stomp_twisted.endpoints.client_endpoint>} builds:

      - an IP address resolves to itself at once, with no thread;
      - with the asyncio reactor on a running loop that Twisted does not
        consider running (an C{asyncio.run()} application), a name is
        resolved by the loop's C{getaddrinfo}, in asyncio's default
        executor, which C{asyncio.run()} shuts down when it returns;
      - otherwise the reactor's own C{nameResolver} resolves it.

    @ivar last_resolution: what the latest resolution came to, for
        messages: C{None} before any, then C{"resolving NAME"} until it
        finishes, then C{"NAME resolved to A, B"} or C{"NAME did not
        resolve"}.
    """

    def __init__(self, reactor: Any) -> None:
        """
        @param reactor: the reactor whose C{nameResolver} resolves names
            in the ordinary case.
        """
        self._reactor = reactor
        self.last_resolution: str | None = None

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        See L{IHostnameResolver.resolveHostName}.
        """
        receiver = _Noting(resolutionReceiver, hostName, self)
        literal = _ip_address(hostName)
        if literal is not None:
            return self._answer_literal(receiver, hostName, literal, portNumber, addressTypes)
        reactor_resolver: IHostnameResolver = self._reactor.nameResolver
        loop = asyncio_loop_without_reactor(self._reactor)
        if loop is not None and _uses_reactor_thread_pool(reactor_resolver):
            return _resolve_in_loop(loop, receiver, hostName, portNumber, addressTypes)
        return reactor_resolver.resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )

    def _answer_literal(
        self,
        receiver: IResolutionReceiver,
        name: str,
        literal: IPv4Address | IPv6Address,
        port: int,
        address_types: Sequence[type[IAddress]] | None,
    ) -> IHostResolution:
        resolution = _Resolution(name)
        receiver.resolutionBegan(resolution)
        if address_types is None or type(literal) in address_types:
            receiver.addressResolved(type(literal)("TCP", literal.host, port))
        receiver.resolutionComplete()
        return resolution


@implementer(IResolutionReceiver)
class _Noting:
    # Passes results on, noting how far the resolution got.
    def __init__(
        self, receiver: IResolutionReceiver, name: str, resolver: BrokerNameResolver
    ) -> None:
        self._receiver = receiver
        self._name = name
        self._resolver = resolver
        self._hosts: list[str] = []

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        self._resolver.last_resolution = f"resolving {self._name!r} did not finish"
        self._receiver.resolutionBegan(resolutionInProgress)

    def addressResolved(self, address: IAddress) -> None:
        self._hosts.append(str(getattr(address, "host", address)))
        self._receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        if self._hosts:
            self._resolver.last_resolution = (
                f"{self._name!r} resolved to {', '.join(self._hosts)}"
                " but no TCP connection was made"
            )
        else:
            self._resolver.last_resolution = f"{self._name!r} did not resolve"
        self._receiver.resolutionComplete()


def _resolve_in_loop(
    loop: asyncio.AbstractEventLoop,
    receiver: IResolutionReceiver,
    name: str,
    port: int,
    address_types: Sequence[type[IAddress]] | None,
) -> IHostResolution:
    family = _FAMILIES.get(frozenset(address_types or (IPv4Address, IPv6Address)), socket.AF_UNSPEC)
    task = loop.create_task(loop.getaddrinfo(name, port, family=family, type=socket.SOCK_STREAM))
    resolution = _Resolution(name, task.cancel)
    receiver.resolutionBegan(resolution)

    def answered(results: list[tuple[Any, ...]]) -> None:
        for result_family, _type, _proto, _canonical, sockaddr in results:
            if result_family == socket.AF_INET:
                receiver.addressResolved(IPv4Address("TCP", sockaddr[0], sockaddr[1]))
            elif result_family == socket.AF_INET6:
                receiver.addressResolved(IPv6Address("TCP", *sockaddr))
        receiver.resolutionComplete()

    def failed(failure: Failure) -> None:
        # Like Twisted's resolver: no addresses, and the endpoint says the
        # name did not resolve.  Anything but "no such name" is logged.
        if not isinstance(failure.value, (socket.gaierror, asyncio.CancelledError)):
            _log.failure("resolving {name!r} failed", failure, name=name)
        receiver.resolutionComplete()

    Deferred.fromFuture(task).addCallbacks(answered, failed)
    return resolution


@implementer(IReactorPluggableNameResolver)
class ResolvingReactor:
    """
    C{reactor}, except that its C{nameResolver} is C{resolver}: handed to
    L{HostnameEndpoint<twisted.internet.endpoints.HostnameEndpoint>},
    which takes its resolver from the reactor it is given.
    """

    def __init__(self, reactor: Any, resolver: IHostnameResolver) -> None:
        self._reactor = reactor
        self._resolver = resolver

    @property
    def nameResolver(self) -> IHostnameResolver:
        return self._resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        previous, self._resolver = self._resolver, resolver
        return previous

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def __repr__(self) -> str:
        return f"<ResolvingReactor {self._reactor!r}>"
