"""
stomp_twisted: a Twisted-native STOMP 1.0/1.1/1.2 client.

Start with L{connect}; see the documentation for guides.
"""

from .client import StompClient, Subscription, connect
from .errors import (
    AckError,
    BadArgument,
    BrokerError,
    ClientClosed,
    ConnectionLost,
    FrameTooLarge,
    LocalProtocolError,
    NotConnected,
    ProtocolError,
    RemoteProtocolError,
    StompError,
    UndefinedEscape,
    UnrepresentableHeader,
)
from .frame import Frame, FrameLimits

__all__ = [
    "AckError",
    "BadArgument",
    "BrokerError",
    "ClientClosed",
    "ConnectionLost",
    "Frame",
    "FrameLimits",
    "FrameTooLarge",
    "LocalProtocolError",
    "NotConnected",
    "ProtocolError",
    "RemoteProtocolError",
    "StompClient",
    "StompError",
    "Subscription",
    "UndefinedEscape",
    "UnrepresentableHeader",
    "connect",
]
