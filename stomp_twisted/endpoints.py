"""
Building the Twisted client endpoint a STOMP client connects through.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint

__all__ = ["client_endpoint"]


def client_endpoint(
    reactor: Any, host: str, port: int, *, ssl: bool = False, timeout: float = 30
) -> IStreamClientEndpoint:
    """
    An endpoint for C{host}:C{port}, over TLS if C{ssl} is true.

    With C{ssl}, the broker's certificate must chain to the platform's
    trusted roots and name C{host}, checked by C{service_identity}.
    """
    endpoint: IStreamClientEndpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    if ssl:
        from twisted.internet.ssl import optionsForClientTLS

        endpoint = wrapClientTLS(optionsForClientTLS(host), endpoint)
    return endpoint
