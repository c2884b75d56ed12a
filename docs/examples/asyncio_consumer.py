"""
An asyncio consumer: jobs from a queue are processed by an async def
handler; with ack="auto" a job is acknowledged once its coroutine
returns, and refused (NACK: the broker delivers it again) if it raises.
Job 2 fails on its first delivery, as if a service it calls were down,
and succeeds on its redelivery.  Runs under asyncio.run() against the
local RabbitMQ ("localhost", guest/guest), checks that the queue is left
empty, and exits by itself.  Exits with status 1 if anything goes
differently or takes more than 10 seconds.
"""

import asyncio
import sys
import uuid

TIMEOUT = 10


class JobConsumer:
    """
    Runs C{process(job)}, a coroutine function, for every job sent to
    C{destination}; C{finished} is set once C{expected} jobs succeeded.
    """

    def __init__(self, client, destination, process, expected):
        self.client = client
        self.destination = destination
        self.process = process
        self.succeeded = 0
        self.expected = expected
        self.finished = asyncio.Event()

    async def start(self):
        subscribed = self.client.subscribe(self.destination, self.on_message, ack="auto")
        await subscribed.asFuture(asyncio.get_running_loop())

    def on_message(self, client, body, headers):
        from twisted.internet.defer import Deferred

        work = asyncio.ensure_future(self.process(body.decode()))
        # The client waits on this Deferred: ACK if it fires, NACK if it fails.
        return Deferred.fromFuture(work).addCallback(self.job_succeeded)

    def job_succeeded(self, _):
        self.succeeded += 1
        if self.succeeded == self.expected:
            self.finished.set()


async def application():
    from twisted.internet import asyncioreactor

    asyncioreactor.install(asyncio.get_running_loop())
    from twisted.internet import reactor

    import stomp_twisted

    loop = asyncio.get_running_loop()
    destination = f"/queue/stomp-twisted-docs.asyncio-jobs.{uuid.uuid4().hex}"
    client = stomp_twisted.connect(
        "localhost", reactor=reactor, login="guest", passcode="guest", connect_timeout=5
    )
    attempts = {}

    async def process(job):
        attempts[job] = attempts.get(job, 0) + 1
        await asyncio.sleep(0.05)
        if job == "job 2" and attempts[job] == 1:
            print(f"{job} failed (attempt 1)")
            raise ConnectionError("the service it calls is down")
        print(f"{job} done (attempt {attempts[job]})")

    consumer = JobConsumer(client, destination, process, expected=3)
    await consumer.start()
    for number in (1, 2, 3):
        await client.send(f"job {number}", destination).asFuture(loop)
    await consumer.finished.wait()
    await client.disconnect().asFuture(loop)

    # Every job was acknowledged: a new client finds the queue empty.
    checker = stomp_twisted.connect("localhost", reactor=reactor, login="guest", passcode="guest")
    arrived = asyncio.Queue()
    await checker.subscribe(
        destination, lambda client, body, headers: arrived.put_nowait(body)
    ).asFuture(loop)
    await checker.send("end", destination).asFuture(loop)
    print(f"left in the queue: {(await arrived.get()).decode()!r} (the end marker only)")
    await checker.disconnect().asFuture(loop)


async def main():
    try:
        await asyncio.wait_for(application(), TIMEOUT)
    except asyncio.TimeoutError:
        print(f"not done within {TIMEOUT} s", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
