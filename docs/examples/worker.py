"""
A worker with automatic acknowledgements: each message's callback returns a
Deferred that does the work.  The client sends ACK once that Deferred
succeeds and NACK if it fails, and the broker then delivers the message
again.  Here "job 2" fails the first time.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.  The failure of "job 2" is
logged to standard error, with its traceback.
"""

import uuid
from collections import Counter

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10
JOBS = ["job 1", "job 2", "job 3"]


async def run(reactor):
    client = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    destination = f"/topic/stomp-twisted-docs.worker.{uuid.uuid4().hex}"
    attempts = Counter()
    finished = set()
    all_done = defer.Deferred()

    def work(client, body, headers):
        job = body.decode()
        attempts[job] += 1
        print(f"working on {job} (redelivered: {headers.get('redelivered', '?')})")

        def finish():
            if job == "job 2" and attempts[job] == 1:
                raise RuntimeError(f"{job} failed")  # the client sends NACK
            print(f"done with {job}")  # the client sends ACK
            finished.add(job)
            if finished == set(JOBS):
                all_done.callback(None)

        # The "work": a Deferred that fires 0.1 s later.
        return task.deferLater(reactor, 0.1, finish)

    await client.subscribe(destination, work, ack="auto")
    for job in JOBS:
        await client.send(job, destination)
    await all_done
    # The ACK of the last job is sent before DISCONNECT.
    await client.disconnect()
    print(f"attempts: {dict(attempts)}")


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
