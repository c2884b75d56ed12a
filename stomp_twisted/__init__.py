"""
stomp_twisted: a Twisted-native STOMP 1.0/1.1/1.2 client.

Start with L{connect}, which returns a L{StompClient}; its
L{StompClientFactory} serves C{reactor.connectTCP} and Twisted's
C{ClientService}; the exceptions are L{StompError}s (L{stomp_twisted.errors});
see the documentation for guides.
"""

from ._connect import connect
from .client import State, StompClient, Subscription, Transaction
from .endpoints import TLSOptions
from .errors import (
    AckError,
    BadArgument,
    BrokerError,
    ClientClosed,
    ConnectionLost,
    FrameTooLarge,
    HeartbeatTimeout,
    LocalProtocolError,
    NotConnected,
    OutboxFull,
    ProtocolError,
    ReceiptTimeout,
    RemoteProtocolError,
    SendBufferFull,
    StompError,
    TLSError,
    TransactionAborted,
    UndefinedEscape,
    UnrepresentableHeader,
    WebSocketHandshakeError,
)
from .factory import StompClientFactory
from .failover import BrokerAddress
from .frame import Frame, FrameLimits
from .outbox import OutboxPolicy
from .reconnect import ReconnectPolicy
from .redelivery import DEFAULT_REDELIVERY, RedeliveryPolicy
from .service import StompService

#: This release's version, and the only place it is written: setup.cfg
#: reads it from here (C{attr:}), so a checkout, an sdist and a wheel agree.
__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_REDELIVERY",
    "AckError",
    "BadArgument",
    "BrokerAddress",
    "BrokerError",
    "ClientClosed",
    "ConnectionLost",
    "Frame",
    "FrameLimits",
    "FrameTooLarge",
    "HeartbeatTimeout",
    "LocalProtocolError",
    "NotConnected",
    "OutboxFull",
    "OutboxPolicy",
    "ProtocolError",
    "ReceiptTimeout",
    "ReconnectPolicy",
    "RedeliveryPolicy",
    "RemoteProtocolError",
    "SendBufferFull",
    "State",
    "StompClient",
    "StompClientFactory",
    "StompError",
    "StompService",
    "Subscription",
    "TLSError",
    "TLSOptions",
    "Transaction",
    "TransactionAborted",
    "UndefinedEscape",
    "UnrepresentableHeader",
    "WebSocketHandshakeError",
    "connect",
]
