"""
A durable topic subscription: the subscriber leaves, three persistent
messages are published to the topic while it is away, it comes back and
receives them.  Then the durable subscription is ended, and a message
published after that is not kept for it.

    python docs/examples/durable.py rabbitmq    # RabbitMQ on 127.0.0.1:61613
    python docs/examples/durable.py activemq    # ActiveMQ on 127.0.0.1:61623

The two brokers spell "durable" differently: see DURABLE below.  Exits with
status 1 if anything goes differently or takes more than 20 seconds.
"""

import sys
import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 20


class RabbitMQ:
    """
    A durable subscription is a durable queue bound to the topic, named by
    x-queue-name; it outlives the connection only with auto-delete:false.
    """

    port = 61613
    login = {"login": "guest", "passcode": "guest"}

    def __init__(self, name):
        self.name = name
        self.connect_options = dict(self.login)
        self.subscribe_headers = {"durable": "true", "auto-delete": "false", "x-queue-name": name}

    async def end(self, client, subscription):
        # The UNSUBSCRIBE that ends the subscription itself carries
        # durable:true (a plain one first would leave the queue, and
        # RabbitMQ refuses a second UNSUBSCRIBE of the same id).
        await client.unsubscribe(subscription, {"durable": "true", "x-queue-name": self.name})


class ActiveMQ:
    """
    A durable subscription is named by the connection's client-id and the
    subscription's activemq.subscriptionName.
    """

    port = 61623
    login = {}

    def __init__(self, name):
        self.name = name
        self.connect_options = {"connect_headers": {"client-id": name}}
        self.subscribe_headers = {"activemq.subscriptionName": name}

    async def end(self, client, subscription):
        # The consumer goes first (ActiveMQ refuses to remove a durable
        # subscription in use), then a second UNSUBSCRIBE removes it.
        await client.unsubscribe(subscription)
        headers = {"id": subscription.id, "activemq.subscriptionName": self.name}
        await client.send_frame("UNSUBSCRIBE", headers=headers)


DURABLE = {"rabbitmq": RabbitMQ, "activemq": ActiveMQ}


async def publish(reactor, broker, topic, bodies):
    publisher = stomp_twisted.connect(
        "127.0.0.1", broker.port, reactor=reactor, reconnect=None, **broker.login
    )
    for body in bodies:
        # persistent:true: the broker writes the message to disk.
        await publisher.send(body, topic, {"persistent": "true"})
    await publisher.disconnect()


async def subscribe(reactor, broker, topic):
    """
    Connect as the durable subscriber: the client, its subscription, and
    a queue of the messages it receives.
    """
    client = stomp_twisted.connect(
        "127.0.0.1", broker.port, reactor=reactor, reconnect=None, **broker.connect_options
    )
    received = defer.DeferredQueue()
    subscription = await client.subscribe(
        topic,
        lambda client, body, headers: received.put(body.decode()),
        ack="auto",
        headers=broker.subscribe_headers,
    )
    return client, subscription, received


async def run(reactor, broker_name):
    run_id = uuid.uuid4().hex[:8]
    topic = f"/topic/stomp-twisted-docs.durable.{run_id}"
    broker = DURABLE[broker_name](f"stomp-twisted-docs-durable-{run_id}")

    client, _, _ = await subscribe(reactor, broker, topic)
    print(f"{broker_name}: subscribed durably to the topic")
    await client.disconnect()
    print("the subscriber has left")

    await publish(reactor, broker, topic, ["news 1", "news 2", "news 3"])
    print("published news 1, news 2, news 3 to the topic")

    client, subscription, received = await subscribe(reactor, broker, topic)
    kept = [await received.get() for _ in range(3)]
    print(f"back again, it receives: {', '.join(kept)}")

    await broker.end(client, subscription)
    await client.disconnect()
    print("durable subscription ended")

    # Proof that it is gone: subscribing again makes a new, empty one.
    await publish(reactor, broker, topic, ["news 4"])
    client, subscription, received = await subscribe(reactor, broker, topic)
    await publish(reactor, broker, topic, ["news 5"])
    print(f"subscribed again, the first message is: {await received.get()}")
    await broker.end(client, subscription)
    await client.disconnect()


def main(reactor, broker_name):
    return defer.ensureDeferred(run(reactor, broker_name)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in DURABLE:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(DURABLE)}")
    task.react(main, sys.argv[1:])
