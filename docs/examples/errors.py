"""
Provoke each of stomp_twisted's errors once: against the local RabbitMQ,
then against a deliberately picky "broker" run by this script, which
refuses every SEND with an ERROR naming its receipt and answers SUBSCRIBE
with bytes that are not STOMP.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, protocol, task

import stomp_twisted
from stomp_twisted.frame import CLIENT_COMMANDS, NEED_DATA, Frame, FrameDecoder, serialize_frame

TIMEOUT = 10


def show(error):
    print(f"{type(error).__name__}: {error}")


async def with_rabbitmq(reactor):
    client = stomp_twisted.connect(
        "127.0.0.1", reactor=reactor, login="guest", passcode="guest", reconnect=None
    )
    destination = f"/topic/stomp-twisted-docs.errors.{uuid.uuid4().hex}"
    # Nothing listens on port 1: without reconnection the client gives up.
    nowhere = stomp_twisted.connect("127.0.0.1", 1, reactor=reactor, reconnect=None)
    try:
        await nowhere.when_connected()  # a failed Deferred
    except stomp_twisted.NotConnected as error:
        show(error)
    await client.when_connected()

    # The caller's mistakes raise at the call.
    for mistake in [
        lambda: client.send("x", ""),
        lambda: client.send("x", destination, {"x-note": "NUL \0 here"}),
        lambda: client.ack("no-such-message"),
    ]:
        try:
            mistake()
        except stomp_twisted.LocalProtocolError as error:
            show(error)

    # RabbitMQ's ERROR frames name no receipt: the requests in flight fail
    # with ConnectionLost, which quotes the ERROR.
    client.reg_cb(
        "ERROR", lambda client, body, headers: print(f"ERROR frame: {headers['message']}")
    )
    results = await defer.DeferredList(
        [client.send("x", "/no-such-kind-of/destination"), client.send("y", destination)],
        consumeErrors=True,
    )
    for _, failure in results:
        show(failure.value)

    await client.disconnect()
    try:
        client.send("too late", destination)
    except stomp_twisted.ClientClosed as error:
        show(error)


class PickyBroker(protocol.Protocol):
    def connectionMade(self):
        self.decoder = FrameDecoder(commands=CLIENT_COMMANDS)

    def dataReceived(self, data):
        self.decoder.receive_data(data)
        while (frame := self.decoder.next_event()) is not NEED_DATA:
            if frame.command == "CONNECT":
                self.reply("CONNECTED", {"version": "1.2"})
            elif frame.command == "SEND":
                headers = {"message": "no SEND here", "receipt-id": frame.headers["receipt"]}
                self.reply("ERROR", headers, b"this broker refuses every message")
            elif frame.command == "SUBSCRIBE":
                self.transport.write(b"NONSENSE\n\n\0")

    def reply(self, command, headers, body=b""):
        self.transport.write(serialize_frame(Frame(command, headers, body)))


async def with_picky_broker(reactor):
    factory = protocol.Factory.forProtocol(PickyBroker)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    address = port.getHost()
    try:
        client = stomp_twisted.connect(address.host, address.port, reactor=reactor)
        client.reg_cb("io_error", lambda client, message: print(f"io_error: {message}"))

        await client.when_connected()
        try:
            await client.send("x", "/queue/a")
        except stomp_twisted.BrokerError as error:
            show(error)
            print(f"  .message={error.message!r} .body={error.body!r}")
            print(f"  .frame.headers={error.frame.headers}")

        await client.when_connected()  # the client reconnects by itself
        try:
            await client.subscribe("/queue/a")
        except stomp_twisted.ConnectionLost as error:
            show(error)
        await client.disconnect()
    finally:
        await port.stopListening()


async def run(reactor):
    await with_rabbitmq(reactor)
    await with_picky_broker(reactor)


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
