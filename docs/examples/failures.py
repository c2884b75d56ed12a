"""
What the client does when the broker misbehaves, against four small
brokers of this file's own on 127.0.0.1 (no real broker needed):

- one that refuses CONNECT and keeps the socket open;
- one that never sends a RECEIPT;
- one that ends every session right after CONNECTED;
- one that stops reading.

Exits with status 1 if anything goes differently or takes more than 30
seconds.
"""

import time

from twisted.internet import defer, task
from twisted.internet.protocol import Factory, Protocol

import stomp_twisted
from stomp_twisted.frame import Frame, FrameDecoder, NeedData, serialize_frame

TIMEOUT = 30


class MisbehavingBroker(Protocol):
    """
    Speaks just enough STOMP 1.2 to misbehave in one way, named by
    C{self.factory.behaviour}.
    """

    def connectionMade(self):
        self.decoder = FrameDecoder("1.2")

    def reply(self, command, headers):
        self.transport.write(serialize_frame(Frame(command, headers), "1.2"))

    def dataReceived(self, data):
        self.decoder.receive_data(data)
        while not isinstance(event := self.decoder.next_event(), NeedData):
            if isinstance(event, Frame):
                self.frame_received(event)

    def frame_received(self, frame):
        behaviour = self.factory.behaviour
        if frame.command == "CONNECT":
            if behaviour == "refuse":
                self.reply("ERROR", {"message": "Virtual host '/' not served"})
                return  # and keep the socket open
            self.reply("CONNECTED", {"version": "1.2", "server": f"misbehaving/{behaviour}"})
            if behaviour == "close":
                self.transport.loseConnection()
            elif behaviour == "deaf":
                self.transport.pauseProducing()
        elif behaviour != "no-receipts" and "receipt" in frame.headers:
            self.reply("RECEIPT", {"receipt-id": frame.headers["receipt"]})


def listen(reactor, behaviour):
    factory = Factory.forProtocol(MisbehavingBroker)
    factory.behaviour = behaviour
    return reactor.listenTCP(0, factory, interface="127.0.0.1")


async def refused(reactor):
    port = listen(reactor, "refuse")
    client = stomp_twisted.connect("127.0.0.1", port.getHost().port, reactor=reactor)
    try:
        await client.when_connected()
    except stomp_twisted.BrokerError as error:
        # At the first refusal, although the broker keeps the socket open.
        print(f"refused: when_connected failed at once: {error.message}")
    await client.disconnect()
    await port.stopListening()


async def no_receipts(reactor):
    port = listen(reactor, "no-receipts")
    client = stomp_twisted.connect(
        "127.0.0.1",
        port.getHost().port,
        reactor=reactor,
        receipt_timeout=0.5,
        disconnect_timeout=0.5,  # DISCONNECT's receipt will not come either
    )
    await client.when_connected()
    try:
        await client.send("hello", "/queue/a")
    except stomp_twisted.ReceiptTimeout as error:
        print(f"no receipts: {type(error).__name__}")
    await client.disconnect()
    await port.stopListening()


async def short_sessions(reactor):
    port = listen(reactor, "close")
    policy = stomp_twisted.ReconnectPolicy(initial_delay=0.2, jitter=0, max_attempts=3)
    client = stomp_twisted.StompClient(
        stomp_twisted.endpoints.client_endpoint(reactor, "127.0.0.1", port.getHost().port),
        reactor=reactor,
        reconnect=policy,
    )
    gave_up = defer.Deferred()
    last = [time.monotonic()]

    def on_disconnect(client, reason):
        now = time.monotonic()
        print(f"short sessions: disconnect after {now - last[0]:.1f} s: {reason.split(';')[0]}")
        last[0] = now
        if "gave up" in reason:
            gave_up.callback(None)

    client.reg_cb("disconnect", on_disconnect)
    client.start()
    await gave_up
    await port.stopListening()


async def deaf(reactor):
    port = listen(reactor, "deaf")
    client = stomp_twisted.connect(
        "127.0.0.1",
        port.getHost().port,
        reactor=reactor,
        disconnect_timeout=2,
        max_send_buffer=1 << 30,
    )
    await client.when_connected()
    # Fill the socket buffers of a broker that no longer reads: a send
    # without a receipt waits once they are full.
    while True:
        sent = client.send(b"x" * 65536, "/queue/a", receipt=False)
        sent.addErrback(lambda _: None)
        if not sent.called:
            break
    started = time.monotonic()
    await client.disconnect()
    print(f"deaf broker: disconnect() ended within {round(time.monotonic() - started)} s")
    await port.stopListening()


async def run(reactor):
    await refused(reactor)
    await no_receipts(reactor)
    await short_sessions(reactor)
    await deaf(reactor)


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
