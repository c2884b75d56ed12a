"""
Print the events of a client's life, in the order they happen: the
connection's, each frame's, and those of a client that cannot connect.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.  The broken observer's
exception is logged to standard error, with its traceback.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted.endpoints import client_endpoint

TIMEOUT = 10


def observe_connection(client, name):
    # As in AnyEvent::STOMP: "prepare" gets the new connection's protocol
    # (its handle) before anything is written; "connect" gets it once
    # CONNECT is written, with the broker's address and a retry callable.
    client.reg_cb("prepare", lambda client, protocol: print(f"{name}: prepare"))
    client.reg_cb(
        "connect",
        lambda client, protocol, host, port, retry: print(f"{name}: connect to {host}:{port}"),
    )
    client.reg_cb("connect_error", lambda client, message: print(f"{name}: connect_error"))
    client.reg_cb("io_error", lambda client, message: print(f"{name}: io_error {message}"))
    client.reg_cb("disconnect", lambda client, reason: print(f"{name}: disconnect: {reason}"))


async def run(reactor):
    # A StompClient made by hand starts when told: every observer is in
    # place before the first attempt.
    client = stomp_twisted.StompClient(
        client_endpoint(reactor, "127.0.0.1", 61613),
        reactor=reactor,
        login="guest",
        passcode="guest",
    )
    observe_connection(client, "client")
    frames = client.reg_cb(
        "frame", lambda client, command, body, headers: print(f"frame {command}")
    )
    client.reg_cb("CONNECTED", lambda client, body, headers: print("CONNECTED, priority 0"))
    client.reg_cb(
        "CONNECTED", lambda client, body, headers: print("CONNECTED, priority -1"), priority=-1
    )

    def broken(client, body, headers):
        raise RuntimeError("a broken observer")  # logged; the others still run

    client.reg_cb("MESSAGE", broken)
    client.reg_cb("MESSAGE", lambda client, body, headers: print(f"MESSAGE {body.decode()}"))
    client.start()
    await client.when_connected()
    print(f"when_connected fired: STOMP {client.version}")

    destination = f"/topic/stomp-twisted-docs.events.{uuid.uuid4().hex}"
    arrived = defer.Deferred()

    def on_message(client, body, headers):
        print(f"subscription callback {body.decode()}")
        reactor.callLater(0, arrived.callback, None)

    await client.subscribe(destination, on_message)
    await client.send("hello", destination)
    await arrived
    client.unreg_cb(frames)
    await client.disconnect()

    # A client that cannot connect: one attempt, then it gives up.
    refused = stomp_twisted.StompClient(
        client_endpoint(reactor, "127.0.0.1", 1), reactor=reactor, reconnect=None
    )
    observe_connection(refused, "refused")
    refused.start()
    try:
        await refused.when_connected()
    except stomp_twisted.NotConnected:
        print("refused: when_connected failed with NotConnected")


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
