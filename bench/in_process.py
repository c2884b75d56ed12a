"""
A client connected over an in-memory transport, for the benchmarks that
measure the client's own work without a broker or a socket
(C{bench/dispatch.py}, C{bench/publish_path.py}).  They run as files and
import it as a sibling module, so that the package they measure can come
from another tree (an older commit's) on C{PYTHONPATH}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from stomp_twisted.client import StompClient
from stomp_twisted.frame import Frame, serialize_frame


@implementer(IStreamClientEndpoint)
class _MemoryEndpoint:
    def __init__(self) -> None:
        self.protocol: Any = None

    def connect(self, factory: IProtocolFactory) -> Deferred[object]:
        protocol = factory.buildProtocol(None)
        assert protocol is not None
        protocol.makeConnection(StringTransport())
        self.protocol = protocol
        return succeed(protocol)


def connected_client(**options: Any) -> tuple[StompClient, Any]:
    """
    A L{StompClient} (given C{options}) that has received C{CONNECTED}
    (STOMP 1.2) on a L{StringTransport}, and its protocol.
    """
    endpoint = _MemoryEndpoint()
    client = StompClient(endpoint, reactor=Clock(), **options)
    client.start()
    protocol = endpoint.protocol
    protocol.dataReceived(serialize_frame(Frame("CONNECTED", {"version": "1.2"}), "1.0"))
    return client, protocol
