"""
Two subscriptions made while the client is still connecting: one whose
messages are acknowledged by hand (ACK, or NACK to have one delivered
again), one without acknowledgements, which is then ended.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10


async def run(reactor):
    client = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    run_id = uuid.uuid4().hex
    orders = f"/topic/stomp-twisted-docs.orders.{run_id}"
    news = f"/topic/stomp-twisted-docs.news.{run_id}"
    order_queue = defer.DeferredQueue()
    news_queue = defer.DeferredQueue()

    # Not connected yet: both SUBSCRIBE frames are written as soon as
    # CONNECTED arrives, before when_connected() fires.
    subscribed = defer.gatherResults(
        [
            client.subscribe(
                orders,
                lambda client, body, headers: order_queue.put((body, headers)),
                ack="manual",
                headers={"prefetch-count": 10},  # extra SUBSCRIBE headers
            ),
            client.subscribe(news, lambda client, body, headers: news_queue.put((body, headers))),
        ]
    )
    await client.when_connected()
    _, news_sub = await subscribed  # once the broker's receipts are in
    print(f"subscribed: {[(s.id, s.ack) for s in client.subscriptions]}")

    await client.send("order 1", orders)
    await client.send("order 2", orders)

    body, headers = await order_queue.get()
    await client.ack(headers)  # the message's headers say which message
    print(f"acknowledged {body.decode()}")

    body, headers = await order_queue.get()
    await client.nack(headers)
    print(f"refused {body.decode()}")

    body, headers = await order_queue.get()
    print(f"{body.decode()} again, redelivered: {headers['redelivered']}")
    await client.ack(headers)

    await client.send("hello", news)
    body, headers = await news_queue.get()
    try:
        client.ack(headers)
    except stomp_twisted.AckError:
        print(f"{body.decode()!r} needs no acknowledgement")

    await client.unsubscribe(news_sub)
    print(f"after unsubscribe: {[s.id for s in client.subscriptions]}")
    await client.disconnect()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
