"""
Heart-beats with RabbitMQ: the negotiated intervals, three idle seconds in
which only heart-beats cross the connection, then a broker that falls
silent (a small proxy in this script stops passing on what it sends) and
is presumed dead, and the reconnection that follows.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 15 seconds.
"""

import uuid

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.protocols import portforward

import stomp_twisted
from stomp_twisted.heartbeat import negotiate

TIMEOUT = 15
BROKER = ("127.0.0.1", 61613)
OFFER = (1000, 1000)  # can send every 1000 ms; wants to hear every 1000 ms


class FromBroker(portforward.ProxyClient):
    def dataReceived(self, data):
        self.peer.factory.bytes_from_broker += len(data)
        super().dataReceived(data)


class FromBrokerFactory(portforward.ProxyClientFactory):
    protocol = FromBroker


class FromClient(portforward.ProxyServer):
    clientProtocolFactory = FromBrokerFactory

    def connectionMade(self):
        self.factory.relays.append(self)
        super().connectionMade()

    def dataReceived(self, data):
        self.factory.bytes_from_client += len(data)
        super().dataReceived(data)


class Proxy(portforward.ProxyFactory):
    """
    Relays each connection to the broker, counting the bytes each way, and
    can stop passing on what the broker sends.
    """

    protocol = FromClient

    def __init__(self):
        super().__init__(*BROKER)
        self.relays = []
        self.bytes_from_broker = self.bytes_from_client = 0

    def silence_broker(self):
        for relay in self.relays:
            relay.peer.transport.pauseProducing()  # stop reading from the broker
        self.relays.clear()


async def run(reactor):
    proxy = Proxy()
    listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(proxy)
    client = stomp_twisted.connect(
        "127.0.0.1",
        listening.getHost().port,
        reactor=reactor,
        login="guest",
        passcode="guest",
        heartbeat=OFFER,
        reconnect=stomp_twisted.ReconnectPolicy(initial_delay=0.05),
    )
    await client.when_connected()
    answer = client.connected_frame.headers.get("heart-beat")
    print(f"offered heart-beat:{OFFER[0]},{OFFER[1]}; the broker answered heart-beat:{answer}")
    send, receive = negotiate(OFFER, answer)
    print(f"the client sends every {send} ms and expects something every {receive} ms")

    # Idle: nothing but heart-beats (one EOL byte each) crosses the proxy.
    proxy.bytes_from_broker = proxy.bytes_from_client = 0
    await task.deferLater(reactor, 3.5, lambda: None)
    print(
        f"in 3.5 idle seconds: {proxy.bytes_from_broker} heart-beats from the broker, "
        f"{proxy.bytes_from_client} from the client; connected: {client.is_connected}"
    )

    # The broker falls silent (its process hangs, a firewall drops its
    # packets): after 3 intervals of silence (heartbeat_tolerance) the
    # client closes the connection and reconnects.
    client.reg_cb("io_error", lambda client, message: print(f"io_error: {message}"))
    destination = f"/topic/stomp-twisted-docs.heartbeats.{uuid.uuid4().hex}"
    proxy.silence_broker()
    try:
        await client.send("unanswered", destination)  # its receipt never comes through
    except stomp_twisted.ConnectionLost as error:
        print(f"the send failed: ConnectionLost, because of {type(error.error).__name__}")
    await client.when_connected()
    print(f"reconnected: {client.is_connected}")
    await client.disconnect()
    await listening.stopListening()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
