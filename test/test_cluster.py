"""
Broker clusters that lose a node under load: the three-node RabbitMQ
cluster (a quorum queue) and the ActiveMQ shared-store master/slave pair
that C{scripts/brokers cluster start} runs.

In each test a producer (an outbox, a receipt for every message) and a
consumer (C{ack="auto"}, a prefetch) share one C{failover:} URI over the
nodes, so both start on the same node.  Once the consumer has received a
third of the messages, that node is killed with SIGKILL while the producer
is still sending (it stays at most L{AHEAD} messages ahead of the
consumer).  The test then waits, bounded, until every message has been
confirmed to the producer and received at least once, checks that both
clients came back by themselves on another node, restarts the killed node
and checks that it is back in its cluster.  The figures (sent, received,
duplicates, how long each client took to come back) are printed and
appended to C{cluster-figures.txt} in trial's working directory.

Killing and restarting nodes needs root (as CI runs).  On a developer
machine without the cluster, or without root, the tests are skipped; in CI
(C{CI} set) they fail.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

import stomp_twisted
from stomp_twisted import OutboxPolicy, StompClient

from .brokers import ACTIVEMQ_PAIR, RABBITMQ_CLUSTER, Broker, require, require_any
from .hostile import deadline

ROOT = Path(__file__).resolve().parent.parent
#: How many messages each test sends.
MESSAGES = 2000
#: The node is killed once the consumer has this many distinct messages.
KILL_AT = MESSAGES // 3
#: The producer sends message I only once the consumer has I - AHEAD
#: distinct ones, so that it is still sending when the node dies.
AHEAD = 200
#: At most this many sends await their receipts at once.
WINDOW = 100
#: The bound on each wait for the brokers or the clients.  Generous: two
#: cores, shared with other work; a quorum queue elects a new leader and a
#: slave replays the store before anything moves again.
WAIT = 120.0
#: The reconnect options of both clients: retry every 100 ms at first, at
#: most every second, through the nodes in the order given.
OPTIONS = "randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000"
#: Where the figures are appended (relative to trial's working directory).
FIGURES = "cluster-figures.txt"


def failover_uri(brokers: tuple[Broker, ...]) -> str:
    nodes = ",".join(f"tcp://{broker.host}:{broker.port}" for broker in brokers)
    return f"failover:({nodes})?{OPTIONS}"


def require_root() -> None:
    """
    Killing and restarting nodes takes root; CI runs as root.
    """
    if os.geteuid() == 0:
        return
    reason = "killing cluster nodes needs root (scripts/brokers cluster kill)"
    if os.environ.get("CI"):
        raise AssertionError(f"cluster tests must run in CI: {reason}")
    raise SkipTest(reason)


async def run(*command: str) -> tuple[str, int]:
    """
    Run C{command}, bounded by L{WAIT}; return its output (standard output
    and error together) and exit code.
    """
    result = await deadline(
        getProcessOutputAndValue(command[0], command[1:], env=dict(os.environ), path=str(ROOT)),
        WAIT,
        f"end of {' '.join(command)}",
    )
    out, err, code = result
    return (out + err).decode(errors="replace"), code


async def cluster(*arguments: str) -> tuple[str, int]:
    """
    C{scripts/brokers cluster ARGUMENTS...}: its output and exit code.
    """
    return await run("/bin/bash", str(ROOT / "scripts" / "brokers"), "cluster", *arguments)


class Connections:
    """
    Where and when a client connected: each C{CONNECTED}, with the time
    on the reactor's clock and the port of the node that sent it.
    """

    def __init__(self, client: StompClient) -> None:
        self.connected: list[tuple[float, int]] = []
        #: Fires on the first C{CONNECTED}, once its observers ran (the
        #: client's C{when_connected} may fire before they do).
        self.first: Deferred[None] = Deferred()
        self._port = 0
        client.reg_cb("connect", self._connecting)
        client.reg_cb("CONNECTED", self._connected)

    def _connecting(
        self, client: StompClient, protocol: Any, host: str, port: int, retry: Any
    ) -> None:
        self._port = port

    def _connected(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.connected.append((reactor.seconds(), self._port))
        if not self.first.called:
            self.first.callback(None)

    @property
    def port(self) -> int:
        """
        The port of the node of the latest session.
        """
        assert self.connected, "never connected"
        return self.connected[-1][1]

    def first_after(self, moment: float) -> tuple[float, int] | None:
        """
        The first connection made after C{moment}, as (seconds after it,
        port), or C{None}.
        """
        for when, port in self.connected:
            if when > moment:
                return when - moment, port
        return None


class Tally:
    """
    Counts the messages a consumer receives, by sequence number, and lets
    a test wait until it has a number of distinct ones.
    """

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        #: When each new (not duplicate) message arrived, in order.
        self.new_at: list[float] = []
        self._waiters: list[tuple[int, Deferred[None]]] = []

    def on_message(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        seq = int(headers["seq"])
        assert body == f"message {seq}".encode(), (seq, body)
        self.counts[seq] += 1
        if self.counts[seq] == 1:
            self.new_at.append(reactor.seconds())
            self._wake()

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @property
    def received(self) -> int:
        return sum(self.counts.values())

    def when_distinct(self, count: int) -> Deferred[None]:
        """
        A Deferred that fires once C{count} distinct messages arrived.
        """
        waiter: Deferred[None] = Deferred()
        self._waiters.append((count, waiter))
        self._wake()
        return waiter

    def _wake(self) -> None:
        ready = [waiter for count, waiter in self._waiters if self.distinct >= count]
        self._waiters = [
            (count, waiter) for count, waiter in self._waiters if self.distinct < count
        ]
        for waiter in ready:
            waiter.callback(None)


if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class ClusterLosesANodeMixin(_Base):
    """
    The test, for one kind of cluster; subclasses say which.
    """

    #: The nodes, in the order of the failover URI.
    nodes: tuple[Broker, ...]
    #: The kind, for the figures.
    kind: str
    #: SUBSCRIBE headers (the prefetch) and headers both SEND and SUBSCRIBE
    #: carry (RabbitMQ declares the queue from either, with these arguments).
    prefetch_headers: dict[str, str]
    queue_headers: dict[str, str] = {}

    timeout = 4 * WAIT

    def require_cluster(self) -> None:
        raise NotImplementedError

    def setUp(self) -> Deferred[None]:  # type: ignore[override]
        self.require_cluster()
        require_root()
        return ensureDeferred(self.require_whole())

    async def require_whole(self) -> None:
        output, code = await cluster("status")
        assert code == 0, f"the cluster is not whole before the test: {output}"

    def client(self, **kwargs: Any) -> StompClient:
        client = stomp_twisted.connect(
            failover_uri(self.nodes),
            connect_headers=self.nodes[0].connect_headers(),
            reactor=reactor,
            **kwargs,
        )
        self.addCleanup(client.disconnect)
        return client

    async def produce(self, producer: StompClient, queue: str, tally: Tally) -> int:
        """
        Send L{MESSAGES} persistent messages, each with a receipt, paced
        by the consumer; return how many were sent once all are confirmed.
        """
        pending: deque[Deferred[Any]] = deque()
        for seq in range(MESSAGES):
            await deadline(
                tally.when_distinct(seq - AHEAD), WAIT, f"message {seq - AHEAD} at the consumer"
            )
            while len(pending) >= WINDOW:
                await deadline(pending.popleft(), WAIT, "a receipt")
            headers = {**self.queue_headers, "persistent": "true", "seq": str(seq)}
            pending.append(producer.send(f"message {seq}", queue, headers))
        await deadline(gatherResults(list(pending), consumeErrors=True), WAIT, "the last receipts")
        return MESSAGES

    async def lose_a_node(self) -> None:
        queue = f"/queue/stomp-twisted-test.cluster-{self.kind}-{uuid.uuid4().hex[:12]}"
        tally = Tally()
        consumer = self.client(
            destination=queue,
            ack="auto",
            subscribe_headers={**self.queue_headers, **self.prefetch_headers},
        )
        consumer.reg_cb("MESSAGE", tally.on_message)
        producer = self.client(outbox=OutboxPolicy())
        consumer_connections = Connections(consumer)
        producer_connections = Connections(producer)
        await deadline(
            gatherResults([consumer_connections.first, producer_connections.first]),
            WAIT,
            "CONNECTED",
        )

        victim = consumer_connections.port
        assert producer_connections.port == victim, (producer_connections.connected, victim)
        output, code = await cluster("pid", str(victim))
        assert code == 0, output
        victim_pid = int(output.split()[-1])

        killed: list[tuple[float, int]] = []

        def kill(ignored: None) -> None:
            # Called from the consumer's MESSAGE callback: the node dies with
            # the next message already on its way, and the kill is timed to
            # the reactor's clock exactly.
            killed.append((reactor.seconds(), tally.distinct))
            os.kill(victim_pid, signal.SIGKILL)

        when_killed = tally.when_distinct(KILL_AT).addCallback(kill)
        self.addCleanup(self.make_whole)
        production = ensureDeferred(self.produce(producer, queue, tally))
        await deadline(when_killed, WAIT, f"{KILL_AT} messages before the kill")
        [(killed_at, received_before)] = killed
        assert not production.called, "the producer had finished before the kill: not mid-stream"

        sent = await deadline(production, WAIT, "every receipt")
        await deadline(tally.when_distinct(MESSAGES), WAIT, "every message at the consumer")
        assert set(tally.counts) == set(range(MESSAGES)), sorted(
            set(tally.counts) - set(range(MESSAGES))
        )

        consumer_back = consumer_connections.first_after(killed_at)
        producer_back = producer_connections.first_after(killed_at)
        assert consumer_back is not None and consumer_back[1] != victim, (
            consumer_connections.connected
        )
        assert producer_back is not None and producer_back[1] != victim, (
            producer_connections.connected
        )
        back_at = killed_at + consumer_back[0]
        first_new = next((when for when in tally.new_at if when >= back_at), None)
        assert first_new is not None, "no new message arrived after the consumer came back"
        resumed = first_new - killed_at
        await self.check_queue(queue, consumer_back[1])

        restarted_at = reactor.seconds()
        output, code = await cluster("restart", str(victim))
        assert code == 0, f"node {victim} did not come back: {output}"
        restart_seconds = reactor.seconds() - restarted_at
        output, code = await cluster("status")
        assert code == 0, f"the cluster is not whole after the restart: {output}"

        self.report(
            f"{self.kind}: sent {sent}, received {tally.received} ({tally.distinct} distinct), "
            f"duplicates {tally.received - tally.distinct}; node {victim} killed (SIGKILL) after "
            f"{received_before} received; consumer back after {consumer_back[0]:.2f} s on "
            f"{consumer_back[1]}, producer back after {producer_back[0]:.2f} s "
            f"on {producer_back[1]}, "
            f"the consumer's first new message on its new session {resumed:.2f} s after the kill; "
            f"node restarted and back in its cluster in {restart_seconds:.1f} s"
        )

    async def check_queue(self, queue: str, live_port: int) -> None:
        """
        Anything to check about the queue on the broker, through the node
        on C{live_port}.
        """

    async def make_whole(self) -> None:
        """
        Whatever happened, leave the cluster whole for the next test.
        """
        output, code = await cluster("status")
        if code != 0:
            output, code = await cluster("start")
            assert code == 0, f"could not restart the cluster after the test: {output}"

    def report(self, line: str) -> None:
        print(f"\ncluster figures: {line}", file=sys.stdout, flush=True)
        with open(FIGURES, "a", encoding="utf-8") as figures:
            figures.write(line + "\n")


class RabbitMQClusterTests(ClusterLosesANodeMixin, TestCase):
    """
    Three RabbitMQ nodes, a quorum queue declared through STOMP headers;
    the node both clients use (the queue's leader: RabbitMQ puts it on the
    node that declares it) is killed.
    """

    nodes = RABBITMQ_CLUSTER
    kind = "rabbitmq"
    prefetch_headers = {"prefetch-count": "50"}
    # Quorum queues are durable and not auto-deleted; x-expires removes the
    # queue once it has gone unused for 5 minutes, so runs leave nothing.
    queue_headers = {
        "x-queue-type": "quorum",
        "durable": "true",
        "auto-delete": "false",
        "x-expires": "300000",
    }

    def require_cluster(self) -> None:
        for node in self.nodes:
            require(node)

    def test_quorum_queue_loses_its_node(self) -> Deferred[None]:
        """
        Every message arrives at least once, and both clients come back on
        another node, when the node they use dies mid-stream.
        """
        return ensureDeferred(self.lose_a_node())

    async def check_queue(self, queue: str, live_port: int) -> None:
        """
        The queue the headers declared is a quorum queue.
        """
        node = f"cluster{live_port - 61650}@localhost"
        name = queue.removeprefix("/queue/")
        output, code = await run(
            "/usr/sbin/rabbitmqctl", "-n", node, "-q", "list_queues", "name", "type"
        )
        assert code == 0, output
        rows = [line.split() for line in output.splitlines()]
        self.assertIn([name, "quorum"], rows)


class ActiveMQPairTests(ClusterLosesANodeMixin, TestCase):
    """
    An ActiveMQ master/slave pair on one KahaDB store; the master is
    killed and the slave, taking the store's lock, becomes the master.
    """

    nodes = ACTIVEMQ_PAIR
    kind = "activemq"
    prefetch_headers = {"activemq.prefetchSize": "50"}

    def require_cluster(self) -> None:
        require_any(self.nodes)

    def test_master_dies(self) -> Deferred[None]:
        """
        Every message arrives at least once, and both clients come back on
        the former slave, when the master dies mid-stream.
        """
        return ensureDeferred(self.lose_a_node())


class ClusterScriptTests(TestCase):
    """
    What C{scripts/brokers cluster} refuses, before it touches anything.
    """

    def test_unknown_node(self) -> Deferred[None]:
        """
        A node that is not one of the cluster's is refused with a message
        listing the valid ones, and exit status 1.
        """

        async def check() -> None:
            output, code = await cluster("kill", "rabbit9")
            self.assertEqual(code, 1)
            self.assertIn("unknown cluster node 'rabbit9'", output)
            self.assertIn("rabbit1..rabbit3", output)

        return ensureDeferred(check())
