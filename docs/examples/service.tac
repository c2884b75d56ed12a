"""
A STOMP worker under twistd: it takes one message at a time from a queue,
works on it for a while, and the client acknowledges it once the work is
done (ack="auto").  Stopping it (SIGTERM, Control-C) lets the message in
hand finish and be acknowledged before it disconnects; the rest stay queued.

Run it in the foreground with:

    STOMP_QUEUE=/queue/work twistd -ny docs/examples/service.tac

Settings come from the environment: STOMP_HOST (127.0.0.1), STOMP_PORT
(61613), STOMP_LOGIN and STOMP_PASSCODE (guest and guest; set them empty
for a broker without login), STOMP_QUEUE (/queue/work), WORK_SECONDS (1.5:
how long each message takes) and WORKER_OUTPUT (a file to which the worker
appends a line as it starts and finishes each message; standard output if
unset).
"""

import os
import sys

from twisted.application import service
from twisted.internet import reactor, task
from twisted.logger import Logger

from stomp_twisted import StompService

log = Logger(namespace="worker")

login = os.environ.get("STOMP_LOGIN", "guest") or None
passcode = os.environ.get("STOMP_PASSCODE", "guest") or None
work_seconds = float(os.environ.get("WORK_SECONDS", "1.5"))
output_path = os.environ.get("WORKER_OUTPUT")

application = service.Application("stomp-worker")

stomp = StompService(
    os.environ.get("STOMP_HOST", "127.0.0.1"),
    int(os.environ.get("STOMP_PORT", "61613")),
    destination=os.environ.get("STOMP_QUEUE", "/queue/work"),
    ack="auto",
    # One message at a time: the broker holds back the rest until this one
    # is acknowledged (prefetch-count is RabbitMQ's name for it,
    # activemq.prefetchSize ActiveMQ's; each broker ignores the other's).
    subscribe_headers={"prefetch-count": 1, "activemq.prefetchSize": 1},
    login=login,
    passcode=passcode,
    # How long stopping waits at most for the message in hand.
    drain_timeout=10,
)
stomp.setName("stomp")
stomp.setServiceParent(application)


def record(event, body):
    """
    Append "EVENT BODY" to the output, flushed at once, so that whoever
    reads the file sees what the worker has done so far.
    """
    line = f"{event} {body.decode('utf-8', 'replace')}\n"
    if output_path is None:
        sys.stdout.write(line)
        sys.stdout.flush()
        return
    with open(output_path, "a", encoding="utf-8") as output:
        output.write(line)


def work(client, body, headers):
    """
    The work: a Deferred that fires WORK_SECONDS later.  Under ack="auto"
    the client sends ACK once it has fired (NACK if it fails).
    """
    record("started", body)
    log.info("working on {body!r}", body=body)
    return task.deferLater(reactor, work_seconds, record, "finished", body)


stomp.client.reg_cb("MESSAGE", work)
