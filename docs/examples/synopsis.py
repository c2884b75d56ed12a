"""
AnyEvent::STOMP's SYNOPSIS, translated: connect and subscribe with manual
acknowledgements, acknowledge each message from a MESSAGE callback, watch
every frame, send a message, and stop once it has come back.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
fails or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10
DESTINATION = "/queue/stomp-twisted-docs.synopsis"


async def synopsis(reactor):
    # my $client = AnyEvent::STOMP->connect($host, $port, $ssl, $destination,
    #     $ack, { connect_headers }, { subscribe_headers });
    client = stomp_twisted.connect(
        "127.0.0.1",
        61613,
        False,
        DESTINATION,
        "manual",
        {"login": "guest", "passcode": "guest"},
        {"prefetch-count": 10},
        reactor=reactor,
    )
    text = f"hello, {uuid.uuid4()}"
    done = defer.Deferred()  # in place of AnyEvent->condvar

    # $client->reg_cb(MESSAGE => sub { my (undef, $body, $headers) = @_; ... });
    def on_message(client, body, headers):
        print(f"MESSAGE {body.decode()!r}")
        acked = client.ack(headers)  # $client->ack($headers->{'message-id'})
        if body.decode() == text and not done.called:
            done.callback(None)
        return acked  # if the ACK fails, the client logs why

    client.reg_cb("MESSAGE", on_message)

    # $client->reg_cb(frame => sub { my (undef, $type, $body, $headers) = @_; ... });
    client.reg_cb("frame", lambda client, command, body, headers: print(f"frame {command}"))

    # $client->send($body, $destination, $headers);
    await client.when_connected()
    await client.send(text, DESTINATION, {"content-type": "text/plain"})
    print(f"sent {text!r}")

    # AnyEvent->condvar->recv;
    await done
    await client.disconnect()


def main(reactor):
    return defer.ensureDeferred(synopsis(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
