"""
Test helpers for programs that use stomp_twisted: an in-memory STOMP
broker double, L{MemoryBroker}, and L{connect_client}, which connects a
real L{StompClient<stomp_twisted.client.StompClient>} to it with no
sockets and no real time.

This is a test double, not a broker for production: it keeps everything
in memory, moves bytes only when a test calls L{MemoryBroker.flush}, and
trusts its clients.  It is kept honest by contract tests that run the
same behaviour tests against it and against RabbitMQ and ActiveMQ; where
those brokers differ, it follows a L{BrokerBehaviour} (L{LIKE_RABBITMQ}
by default, or L{LIKE_ACTIVEMQ}).

A test of a consumer::

    broker = MemoryBroker()
    client = connect_client(broker)
    consumer = MyConsumer(client)           # subscribes to /queue/work
    broker.publish("/queue/work", b"job")   # as another producer would
    broker.flush()                          # deliver, acknowledge, ...
    assert broker.unacknowledged("/queue/work") == []
"""

from ..errors import (
    MemoryBrokerError,
    MemoryBrokerStuck,
    MemoryBrokerTimeout,
    NoMemoryConnection,
)
from .behaviour import LIKE_ACTIVEMQ, LIKE_RABBITMQ, BrokerBehaviour, NackPolicy, ReceiptTiming
from .broker import MemoryBroker, MemoryEndpoint, connect_client
from .destinations import AckMode, BrokerSubscription, Message
from .session import MemoryConnection
from .wire import MemoryTransport

__all__ = [
    "LIKE_ACTIVEMQ",
    "LIKE_RABBITMQ",
    "AckMode",
    "BrokerBehaviour",
    "BrokerSubscription",
    "MemoryBroker",
    "MemoryBrokerError",
    "MemoryBrokerStuck",
    "MemoryBrokerTimeout",
    "MemoryConnection",
    "MemoryEndpoint",
    "MemoryTransport",
    "Message",
    "NackPolicy",
    "NoMemoryConnection",
    "ReceiptTiming",
    "connect_client",
]
