"""
Flow control: a slow consumer whose callbacks take 10 ms each, with
max_in_flight=10 and then with the broker's prefetch as the only bound; a
sender that outruns its connection's send buffer; and an outbox that is
full.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 20 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted import OutboxPolicy

TIMEOUT = 20
MESSAGES = 300


def connect(reactor, **options):
    return stomp_twisted.connect(
        "127.0.0.1", reactor=reactor, login="guest", passcode="guest", **options
    )


async def slow_consumer(reactor, **options):
    client = connect(reactor, **options)
    destination = f"/topic/stomp-twisted-docs.flow.{uuid.uuid4().hex}"
    in_flight = most = done = 0
    all_done = defer.Deferred()

    def work(client, body, headers):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)

        def finished():
            nonlocal in_flight, done
            in_flight -= 1
            done += 1
            if done == MESSAGES:
                all_done.callback(None)

        # The client reads on while this Deferred is pending, up to
        # max_in_flight such messages.
        return task.deferLater(reactor, 0.01, finished)

    # The broker sends at most 100 unacknowledged messages ahead; with
    # ack="auto" a message is acknowledged once its Deferred has fired.
    await client.subscribe(destination, work, ack="auto", headers={"prefetch-count": 100})
    await defer.gatherResults([client.send(f"job {n}", destination) for n in range(MESSAGES)])
    await all_done
    await client.disconnect()
    return most


async def fast_sender(reactor):
    # A small max_send_buffer, to reach it soon.
    client = connect(reactor, max_send_buffer=256 * 1024)
    await client.when_connected()
    destination = f"/topic/stomp-twisted-docs.flow.{uuid.uuid4().hex}"
    chunk = b"x" * 64 * 1024

    # Without waiting: the send buffer fills at once, since nothing is
    # written to the socket before control returns to the reactor.
    written = []
    try:
        while True:
            written.append(client.send(chunk, destination, receipt=False))
    except stomp_twisted.SendBufferFull as error:
        print(f"{len(written)} sends of 64 KiB without waiting, then SendBufferFull: {error}")
    await defer.gatherResults(written)  # each fires once the buffer has drained

    # Waiting on each send: paced by the network, never refused.
    for _ in range(100):
        await client.send(chunk, destination, receipt=False)
    await client.send("the last one", destination)  # with a receipt
    print("100 sends of 64 KiB, each waited on: no SendBufferFull")
    await client.disconnect()


async def full_outbox(reactor):
    client = connect(reactor, outbox=OutboxPolicy(max_messages=3))
    destination = f"/topic/stomp-twisted-docs.flow.{uuid.uuid4().hex}"
    # Not connected yet: the outbox keeps the messages until it is.
    kept = [client.send(f"message {n}", destination) for n in range(1, 4)]
    try:
        await client.send("message 4", destination)
    except stomp_twisted.OutboxFull as error:
        print(f"message 4: OutboxFull: {error}")
    await defer.gatherResults(kept)
    print(f"messages 1 to 3: {len(kept)} receipts once connected")
    await client.disconnect()


async def run(reactor):
    most = await slow_consumer(reactor, max_in_flight=10)
    print(f"max_in_flight=10: {MESSAGES} messages, at most {most} in flight")
    most = await slow_consumer(reactor)
    print(f"max_in_flight=1000 (the default): at most {most} in flight, the prefetch-count")
    await fast_sender(reactor)
    await full_outbox(reactor)


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
