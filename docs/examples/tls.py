"""
STOMP over TLS to ActiveMQ: a message sent and received over a verified
connection, the same with a client certificate, and the refusals a user
sees when the certificate cannot be verified.

Needs ActiveMQ's stomp+ssl connectors on 127.0.0.1:61624 (and 61625, which
requires a client certificate) and the test certificates that
`scripts/brokers start activemq` makes in .brokers/tls/.  Another directory
holding ca.pem, client.pem and client.key can be given as the first
argument, or in STOMP_TWISTED_TLS_DIR.  Exits with status 1 if anything
goes differently or takes more than 15 seconds.
"""

import os
import shutil
import sys
import tempfile
import uuid

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted import TLSOptions

TIMEOUT = 15
TLS_DIR = (sys.argv[1:] or [os.environ.get("STOMP_TWISTED_TLS_DIR", ".brokers/tls")])[0]
CA_FILE = os.path.join(TLS_DIR, "ca.pem")
CLIENT_CERT = os.path.join(TLS_DIR, "client.pem")
CLIENT_KEY = os.path.join(TLS_DIR, "client.key")


async def round_trip(reactor, what, *where, **options):
    client = stomp_twisted.connect(*where, reactor=reactor, reconnect=None, **options)
    destination = f"/topic/stomp-twisted-docs.tls.{uuid.uuid4().hex}"
    received = defer.DeferredQueue()
    await client.subscribe(destination, lambda client, body, headers: received.put(body))
    await client.send("over TLS", destination)
    body = await received.get()
    print(f"{what}: received {body.decode()!r} from {client.connected_frame.headers['server']}")
    await client.disconnect()


async def refused(reactor, what, port, tls=None):
    client = stomp_twisted.connect(
        "localhost", port, ssl=True, tls=tls, reactor=reactor, reconnect=None
    )
    try:
        await client.when_connected()
    except stomp_twisted.NotConnected as error:
        print(f"{what}: {error}")
    else:
        raise SystemExit(f"{what}: connected")


async def run(reactor):
    # The broker's certificate is for "localhost" (and 127.0.0.1).
    await round_trip(reactor, "private CA", "localhost", 61624, tls=TLSOptions(ca_file=CA_FILE))
    await round_trip(
        reactor,
        "client certificate",
        "localhost",
        61625,
        tls=TLSOptions(ca_file=CA_FILE, cert_file=CLIENT_CERT, key_file=CLIENT_KEY),
    )
    # Twisted's endpoint syntax: trustRoots is a directory of CA certificates.
    with tempfile.TemporaryDirectory() as roots:
        shutil.copy(CA_FILE, roots)
        await round_trip(reactor, "endpoint string", f"tls:localhost:61624:trustRoots={roots}")

    await refused(reactor, "platform roots", 61624)
    await refused(
        reactor, "wrong name", 61624, TLSOptions(ca_file=CA_FILE, server_name="broker.example.com")
    )
    await refused(reactor, "no client certificate", 61625, TLSOptions(ca_file=CA_FILE))


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
