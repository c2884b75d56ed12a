"""
Send one message to /queue/hello and print it when it comes back.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
fails or takes more than 10 seconds.
"""

import sys
import uuid

from twisted.internet import defer, task

import stomp_twisted

DESTINATION = "/queue/hello"
TIMEOUT = 10


async def hello(reactor):
    client = stomp_twisted.connect(
        "127.0.0.1",
        destination=DESTINATION,  # subscribe to it once connected
        ack="auto",  # acknowledge each message once on_message returns
        login="guest",
        passcode="guest",
        reactor=reactor,
    )
    text = f"hello, {uuid.uuid4()}"
    arrived = defer.Deferred()

    def on_message(client, body, headers):
        print(f"received {body.decode()!r} from {headers['destination']}")
        if body.decode() == text and not arrived.called:
            # disconnect() below lets this message's automatic ACK go first.
            arrived.callback(None)

    client.reg_cb("MESSAGE", on_message)
    try:
        await client.when_connected()
        print(f"connected to 127.0.0.1:61613 with STOMP {client.version}")
        await client.send(text, DESTINATION)  # fires on the broker's RECEIPT
        print(f"sent {text!r}")
        await arrived
    finally:
        await client.disconnect()


async def main(reactor):
    attempt = defer.ensureDeferred(hello(reactor))
    attempt.addTimeout(TIMEOUT, reactor)
    try:
        await attempt
    except defer.TimeoutError:
        print(f"hello.py: no round trip within {TIMEOUT} seconds", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as error:
        print(f"hello.py: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    task.react(main)
