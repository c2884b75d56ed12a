"""
C{docs/examples/service.tac} under C{twistd -ny}, a real process against
RabbitMQ and ActiveMQ: stopped with SIGTERM while it works on a message, it
finishes that message, acknowledges it, exits 0, and leaves the rest queued.

The process runs the work tree's C{stomp_twisted} (through C{PYTHONPATH}),
as a developer running the guide's example from the checkout would; the
installed command itself is C{test.test_listen_e2e}'s subject.  Every wait
is bounded and polls for what it waits for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue
from .test_listen_e2e import wait_for

TOP = Path(__file__).resolve().parent.parent
TAC = TOP / "docs" / "examples" / "service.tac"
TWISTD = Path(sys.executable).parent / "twistd"
#: The bound on each wait for something that should happen.
TIMEOUT = 20.0
#: How long the worker works on each message: long enough for SIGTERM to
#: land while it does.
WORK_SECONDS = 3.0
JOBS = [f"job-{number}".encode() for number in range(1, 6)]
END = b"end-of-queue"


class Worker:
    """
    One C{twistd -ny service.tac} process; its output file (what it started
    and finished) and its log (twistd's standard output and error).
    """

    def __init__(self, test: TestCase, broker: Broker, queue: str) -> None:
        self.directory = Path(test.mktemp()).resolve()
        self.directory.mkdir(parents=True)
        self.output_path = self.directory / "worker-output"
        self.log_path = self.directory / "twistd.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("STOMP_")}
        environment.update(
            PYTHONPATH=str(TOP),
            STOMP_HOST=broker.host,
            STOMP_PORT=str(broker.port),
            STOMP_LOGIN=broker.login or "",
            STOMP_PASSCODE=broker.passcode or "",
            STOMP_QUEUE=queue,
            WORK_SECONDS=str(WORK_SECONDS),
            WORKER_OUTPUT=str(self.output_path),
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(TWISTD), "--pidfile=", "-ny", str(TAC)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=environment,
            )
        test.addCleanup(self.kill)

    def lines(self) -> list[str]:
        if not self.output_path.exists():
            return []
        return self.output_path.read_text(encoding="utf-8").splitlines()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def first_started(self) -> str | None:
        """
        The body of the first message the worker started on, if any; fails
        at once if the process has died.
        """
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited before taking a message:\n{self.log()}")
        started = [line.split(" ", 1)[1] for line in self.lines() if line.startswith("started ")]
        return started[0] if started else None

    async def exited(self) -> int:
        await wait_for(
            f"the worker to exit; its log:\n{self.log()}",
            lambda: self.process.poll() is not None,
            TIMEOUT,
        )
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)


# The mixin's tests call TestCase's methods; trial must not collect it.
_MixinBase = TestCase if TYPE_CHECKING else object


class TacMixin(_MixinBase):
    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    async def client(self) -> StompClient:
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers=self.broker.connect_headers(),
            reactor=reactor,
            receipt_timeout=TIMEOUT,
        )
        self.addCleanup(client.disconnect)
        await client.when_connected().addTimeout(TIMEOUT, reactor)
        return client

    async def remaining(self, queue: str) -> list[bytes]:
        """
        Everything left on C{queue}, consumed: an end marker is sent after
        whatever is there, and every message before it is collected (a
        message the worker left unacknowledged is delivered again before
        the marker on both brokers).
        """
        client = await self.client()
        await client.send(END, queue)
        bodies: list[bytes] = []

        def received(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            bodies.append(body)
            self.received_headers.append(headers)

        self.received_headers: list[dict[str, str]] = []
        await client.subscribe(queue, received)
        await wait_for(f"{END!r} from {queue}", lambda: END in bodies, TIMEOUT)
        return bodies[: bodies.index(END)]

    async def test_sigterm_mid_message(self) -> None:
        """
        Five messages queued; the worker (prefetch 1, C{ack="auto"})
        starts on the first; SIGTERM.  The worker finishes that message,
        its ACK goes out, it disconnects and twistd shuts down cleanly; a
        fresh consumer then finds exactly the other four on the queue.
        """
        queue = unique_queue("service-tac")
        sender = await self.client()
        for job in JOBS:
            await sender.send(job, queue)
        worker = Worker(self, self.broker, queue)
        in_hand = await wait_for("the worker to start on a message", worker.first_started, TIMEOUT)
        worker.process.send_signal(signal.SIGTERM)

        # twistd shuts down cleanly, then ends by the signal it received,
        # as its convention is (systemd counts that as a clean stop).
        self.assertEqual(await worker.exited(), -signal.SIGTERM, worker.log())
        finished = [line for line in worker.lines() if line.startswith("finished ")]
        self.assertEqual(finished, [f"finished {in_hand}"], worker.log())
        log = worker.log()
        self.assertIn("Received SIGTERM", log)
        self.assertIn("Server Shut Down.", log)
        self.assertIn("drained: no callback is running", log)
        self.assertIn("StompService stomp: disconnected", log)
        self.assertNotIn("drain timeout", log)

        left = await self.remaining(queue)
        self.assertEqual(
            sorted(left),
            sorted(job for job in JOBS if job != in_hand.encode()),
            f"received afterwards: {self.received_headers}\nworker's log:\n{log}",
        )


class RabbitMQTacTests(TacMixin, TestCase):
    broker = RABBITMQ


class ActiveMQTacTests(TacMixin, TestCase):
    broker = ACTIVEMQ
