"""
Send one message and wait for its receipt, then 100 at once, then one
without a receipt; show the mistakes that raise at the call.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10
COUNT = 100


async def run(reactor):
    client = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    # A topic of its own, so that nothing is left in the broker afterwards.
    destination = f"/topic/stomp-twisted-docs.sending.{uuid.uuid4().hex}"
    received = []
    all_received = defer.Deferred()

    def on_message(client, body, headers):
        received.append(body)
        if len(received) == COUNT + 2:
            all_received.callback(None)

    # Subscribing waits for the connection, then for the broker's receipt.
    await client.subscribe(destination, on_message)

    # One message: the Deferred fires when the broker has it.
    receipt = await client.send("one message", destination)
    print(f"the broker has it: {receipt.command} {receipt.headers['receipt-id']}")

    # Many: every send is written at once, then all receipts are awaited.
    sends = [client.send(f"message {n}", destination, {"n": n}) for n in range(COUNT)]
    receipts = await defer.gatherResults(sends, consumeErrors=True)
    print(f"{len(receipts)} receipts for {COUNT} messages in flight")

    # No receipt: the Deferred fires with None once the frame is written.
    written = await client.send(b"\x00raw bytes\xff", destination, receipt=False)
    print(f"without a receipt: {written}")

    # The caller's mistakes raise at once; nothing is written.
    mistakes = [
        lambda: client.send(42, destination),  # a body must be bytes or str
        lambda: client.send("x", destination, {"priority": 1.5}),  # str or int
        lambda: client.send("x", destination, {"x-note": "a\0b"}),  # NUL in a header
    ]
    for mistake in mistakes:
        try:
            mistake()
        except stomp_twisted.LocalProtocolError as error:
            print(f"{type(error).__name__}: {error}")

    await all_received
    print(f"received {len(received)} messages, the last {received[-1]!r}")
    await client.disconnect()
    try:
        client.send("too late", destination)
    except stomp_twisted.ClientClosed as error:
        print(f"ClientClosed: {error}")


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
