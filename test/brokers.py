"""
The real brokers the integration tests talk to, as C{scripts/brokers}
starts them.  Loopback only.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from twisted.trial.unittest import SkipTest


@dataclass(frozen=True)
class Broker:
    name: str
    port: int
    login: str | None = None
    passcode: str | None = None

    host = "127.0.0.1"

    def connect_headers(self) -> dict[str, str]:
        headers = {}
        if self.login is not None:
            headers["login"] = self.login
        if self.passcode is not None:
            headers["passcode"] = self.passcode
        return headers


RABBITMQ = Broker("rabbitmq", 61613, "guest", "guest")
ACTIVEMQ = Broker("activemq", 61623)
#: The brokers every broker test (and the contract suite) runs against.
BROKERS = (RABBITMQ, ACTIVEMQ)
#: CoilMQ, a small Python STOMP server, for the tests of how the client
#: copes with servers that bend the protocol (test.test_other_servers); not
#: in L{BROKERS}: it lacks NACK, real C{client-individual} and 1.2's C{ack}.
COILMQ = Broker("coilmq", 61633)
#: Debian's stompserver 0.9.9, STOMP 1.0 only, likewise not in L{BROKERS}.
STOMPSERVER = Broker("stompserver", 61643)


def require(broker: Broker) -> None:
    """
    Skip the calling test if C{broker} does not accept connections, on a
    developer's machine; in CI (C{CI} set) a missing broker is a failure.
    """
    try:
        socket.create_connection((broker.host, broker.port), timeout=2).close()
    except OSError as error:
        reason = (
            f"{broker.name} is not listening on {broker.host}:{broker.port} ({error}); "
            "start it with scripts/brokers start"
        )
        if os.environ.get("CI"):
            raise AssertionError(f"broker tests must run in CI: {reason}") from error
        raise SkipTest(reason) from error


def unique_queue(stem: str) -> str:
    """
    A queue name no other test run uses.
    """
    return f"/queue/stomp-twisted-test.{stem}.{uuid.uuid4().hex[:12]}"
