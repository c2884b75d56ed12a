"""
stomp_twisted inside asyncio.run(), and connection attempts bounded in
time name resolution included: L{stomp_twisted.resolve} and
L{stomp_twisted.endpoints.TimeoutEndpoint}.

The unit tests run under trial's reactor with fake reactors; everything
that needs the asyncio reactor on a running loop runs in a child process,
as an application would.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from typing import Any

from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

import stomp_twisted
from stomp_twisted.endpoints import (
    DEFAULT_CONNECT_TIMEOUT,
    TimeoutEndpoint,
    broker_endpoint,
    client_endpoint,
)
from stomp_twisted.errors import BadArgument, NotConnected
from stomp_twisted.failover import BrokerAddress
from stomp_twisted.resolve import BrokerNameResolver, asyncio_loop_without_reactor

from .brokers import RABBITMQ, require

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# How long a child process may take before the test kills it and fails.
CHILD_DEADLINE = 30.0


@implementer(IHostResolution)
class _Pending:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver)
class NeverResolver:
    """
    A resolver that begins every resolution and never finishes one: a
    name server that does not answer.
    """

    def __init__(self) -> None:
        self.names: list[str] = []

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        self.names.append(hostName)
        resolution = _Pending(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        return resolution


@implementer(IHostnameResolver)
class FixedResolver(NeverResolver):
    """
    A resolver that answers every name with C{host}, at once.
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        resolution = super().resolveHostName(resolutionReceiver, hostName, portNumber)
        resolutionReceiver.addressResolved(IPv4Address("TCP", self.host, portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


@implementer(IResolutionReceiver)
class Collector:
    """
    Collects what a resolver reports.
    """

    def __init__(self) -> None:
        self.addresses: list[IAddress] = []
        self.complete = False

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        pass

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


def _reactor_with(resolver: IHostnameResolver) -> MemoryReactorClock:
    clock = MemoryReactorClock()
    clock.installNameResolver(resolver)
    return clock


class ResolverTests(SynchronousTestCase):
    """
    L{BrokerNameResolver} answers IP addresses itself and hands names to
    the reactor's resolver outside asyncio.
    """

    def test_ip_addresses_need_no_resolver(self) -> None:
        """
        IPv4 and IPv6 addresses resolve to themselves at once, with the
        port asked for; the reactor's resolver is not asked.
        """
        never = NeverResolver()
        resolver = BrokerNameResolver(_reactor_with(never))
        for name, expected in [
            ("127.0.0.1", IPv4Address("TCP", "127.0.0.1", 61613)),
            ("::1", IPv6Address("TCP", "::1", 61613)),
        ]:
            collector = Collector()
            resolver.resolveHostName(collector, name, 61613)
            self.assertTrue(collector.complete, name)
            self.assertEqual(collector.addresses, [expected])
        self.assertEqual(never.names, [])

    def test_address_of_another_family(self) -> None:
        """
        Asked for IPv6 addresses only, an IPv4 address resolves to
        nothing, as getaddrinfo would have it.
        """
        resolver = BrokerNameResolver(_reactor_with(NeverResolver()))
        collector = Collector()
        resolver.resolveHostName(collector, "127.0.0.1", 61613, [IPv6Address])
        self.assertTrue(collector.complete)
        self.assertEqual(collector.addresses, [])

    def test_names_go_to_reactor_resolver(self) -> None:
        """
        Outside asyncio, a name is resolved by the reactor's own
        resolver (one a user installed, here), and the resolver notes the
        outcome for messages.
        """
        fixed = FixedResolver("10.1.2.3")
        resolver = BrokerNameResolver(_reactor_with(fixed))
        collector = Collector()
        resolver.resolveHostName(collector, "broker.example", 61613)
        self.assertEqual(fixed.names, ["broker.example"])
        self.assertEqual(collector.addresses, [IPv4Address("TCP", "10.1.2.3", 61613)])
        self.assertEqual(
            resolver.last_resolution,
            "'broker.example' resolved to 10.1.2.3 but no TCP connection was made",
        )

    def test_not_asyncio(self) -> None:
        """
        Only the asyncio reactor on a running loop that Twisted does not
        consider running takes the asyncio path; trial's reactor and a
        fake one do not.
        """
        self.assertIsNone(asyncio_loop_without_reactor(MemoryReactorClock()))
        self.assertIsNone(asyncio_loop_without_reactor(reactor))


class TimeoutEndpointTests(SynchronousTestCase):
    """
    L{TimeoutEndpoint} bounds a whole connection attempt, name resolution
    included, and says how far the attempt got.
    """

    def test_resolution_that_never_ends(self) -> None:
        """
        A name that never resolves fails the attempt with L{NotConnected}
        once the timeout has passed, not before, saying it was resolving.
        """
        never = NeverResolver()
        clock = _reactor_with(never)
        endpoint = TimeoutEndpoint(
            clock, client_endpoint(clock, "broker.example", 61613), 3, "broker.example:61613"
        )
        attempt = endpoint.connect(Factory.forProtocol(Protocol))
        self.assertEqual(never.names, ["broker.example"])
        clock.advance(2.9)
        self.assertNoResult(attempt)
        clock.advance(0.2)
        error = self.failureResultOf(attempt, NotConnected).value
        self.assertEqual(
            str(error),
            "no connection to broker.example:61613 within 3 s (connect_timeout):"
            " resolving 'broker.example' did not finish",
        )
        self.assertEqual(clock.tcpClients, [])

    def test_tcp_connection_that_never_ends(self) -> None:
        """
        A TCP connection that never completes fails the attempt the same
        way, saying what the name resolved to, and the connection attempt
        is stopped.
        """
        clock = _reactor_with(FixedResolver("10.1.2.3"))
        endpoint = broker_endpoint(clock, [BrokerAddress("broker.example", 61613)], timeout=5)
        attempt = endpoint.connect(Factory.forProtocol(Protocol))
        self.assertEqual(clock.tcpClients[0][:2], ("10.1.2.3", 61613))
        clock.advance(5)
        error = self.failureResultOf(attempt, NotConnected).value
        self.assertEqual(
            str(error),
            "no connection to tcp://broker.example:61613 within 5 s (connect_timeout):"
            " 'broker.example' resolved to 10.1.2.3 but no TCP connection was made",
        )
        self.assertTrue(clock.connectors[0].stoppedConnecting)

    def test_success_is_untouched(self) -> None:
        """
        An attempt that connects in time gives its protocol, and the
        timeout leaves it alone afterwards.
        """
        clock = _reactor_with(NeverResolver())
        endpoint = broker_endpoint(clock, [BrokerAddress("127.0.0.1", 61613)], timeout=5)
        attempt = endpoint.connect(Factory.forProtocol(Protocol))
        host, port, factory, _timeout, _bind = clock.tcpClients[0]
        self.assertEqual((host, port), ("127.0.0.1", 61613))
        protocol = factory.buildProtocol(IPv4Address("TCP", host, port))
        protocol.makeConnection(StringTransport())
        self.assertIsInstance(self.successResultOf(attempt), Protocol)
        self.assertEqual(clock.getDelayedCalls(), [])  # no timer left to fire
        self.assertFalse(clock.connectors[0].stoppedConnecting)

    def test_cancelled_attempt(self) -> None:
        """
        Cancelling an attempt (the client stopping) still cancels it, and
        the timeout does not rewrite that.
        """
        from twisted.internet.defer import CancelledError

        clock = _reactor_with(NeverResolver())
        endpoint = broker_endpoint(clock, [BrokerAddress("broker.example", 61613)], timeout=5)
        attempt = endpoint.connect(Factory.forProtocol(Protocol))
        attempt.cancel()
        failure = self.failureResultOf(attempt)
        self.assertFalse(failure.check(NotConnected), failure)
        self.assertTrue(failure.check(CancelledError, Exception))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_no_timeout(self) -> None:
        """
        C{timeout=None} gives the brokers' endpoints no bound of their own.
        """
        clock = _reactor_with(NeverResolver())
        endpoint = broker_endpoint(clock, [BrokerAddress("broker.example", 61613)], timeout=None)
        attempt = endpoint.connect(Factory.forProtocol(Protocol))
        clock.advance(3600)
        self.assertNoResult(attempt)

    def test_bad_timeouts(self) -> None:
        """
        A timeout that is not a number above 0 is refused with
        L{BadArgument}, naming the value.
        """
        clock = MemoryReactorClock()
        for bad in (0, -1, float("nan"), float("inf"), True, "5"):
            error = self.assertRaises(
                BadArgument,
                broker_endpoint,
                clock,
                [BrokerAddress("broker.example", 61613)],
                timeout=bad,  # type: ignore[arg-type]
            )
            self.assertIn(repr(bad), str(error))

    def test_connect_covers_resolution(self) -> None:
        """
        Through L{stomp_twisted.connect}, a name that never resolves is a
        failed attempt after the connection timeout: a C{connect_error}
        event saying the name was being resolved, and C{when_connected}
        fails, instead of waiting for ever.
        """
        clock = _reactor_with(NeverResolver())
        client = stomp_twisted.connect(
            "broker.example",
            reactor=clock,
            reconnect=None,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT,
        )
        errors: list[str] = []
        client.reg_cb("connect_error", lambda client, message: errors.append(message))
        connected = client.when_connected()
        clock.advance(DEFAULT_CONNECT_TIMEOUT - 0.1)
        self.assertNoResult(connected)
        self.assertEqual(errors, [])
        clock.advance(0.2)
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("resolving 'broker.example' did not finish", errors[0])
        self.assertIn(f"within {DEFAULT_CONNECT_TIMEOUT:g} s", errors[0])
        self.failureResultOf(connected, NotConnected)


class _Child(ProcessProtocol):
    # Collects a child process's output and its exit status.
    def __init__(self) -> None:
        self.out = b""
        self.err = b""
        self.ended: Deferred[int | None] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Failure) -> None:
        if reason.check(ProcessDone, ProcessTerminated):
            self.ended.callback(reason.value.exitCode)
        else:
            self.ended.errback(reason)


@inlineCallbacks
def run_python(testcase: TestCase, *argv: str) -> Any:
    """
    Run Python on C{argv} from the top of the tree and return its
    C{(standard output, standard error, exit status)}; a child still
    running after L{CHILD_DEADLINE} seconds is killed, and the test fails
    saying it did not exit by itself.
    """
    child = _Child()
    env = dict(os.environ, PYTHONPATH=TOP)
    process = reactor.spawnProcess(  # type: ignore[attr-defined]
        child, sys.executable, [sys.executable, *argv], env=env, path=TOP
    )
    timer = reactor.callLater(  # type: ignore[attr-defined]
        CHILD_DEADLINE, process.signalProcess, signal.SIGKILL
    )
    status = yield child.ended
    if not timer.active():
        testcase.fail(
            f"{' '.join(argv)} did not exit by itself within {CHILD_DEADLINE:g} s;"
            f" output: {child.out!r} {child.err!r}"
        )
    timer.cancel()
    return child.out.decode(), child.err.decode(), status


def _script(testcase: TestCase, text: str) -> str:
    # A child program written to a file of the test's own.
    directory = tempfile.mkdtemp(prefix="stomp-asyncio-")
    testcase.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
    path = os.path.join(directory, "child.py")
    with open(path, "w") as file:
        file.write(textwrap.dedent(text))
    return path


class AsyncioRunTests(TestCase):
    """
    Programs run by C{asyncio.run()}, with the asyncio reactor installed
    on the running loop, as child processes.
    """

    timeout = 2 * CHILD_DEADLINE

    def assertLinesInOrder(self, text: str, expected: list[str]) -> None:
        lines = text.splitlines()
        positions = []
        for line in expected:
            self.assertIn(line, lines)
            positions.append(lines.index(line))
        self.assertEqual(positions, sorted(positions), lines)

    @inlineCallbacks
    def test_example_app(self) -> Any:
        """
        C{docs/examples/asyncio_app.py} connects to RabbitMQ by host name,
        sends with receipts, handles the messages with a coroutine,
        disconnects, and the process exits 0 by itself.
        """
        require(RABBITMQ)
        out, err, status = yield run_python(self, "docs/examples/asyncio_app.py")
        self.assertEqual(status, 0, err)
        self.assertLinesInOrder(
            out,
            [
                "connected to tcp://localhost:61613 (STOMP 1.2)",
                "sent 'message 1', receipt r-2",
                "sent 'message 3', receipt r-4",
                "disconnected",
                "asyncio.run() returned",
            ],
        )
        for number in (1, 2, 3):
            self.assertIn(f"handled 'message {number}'", out.splitlines())

    @inlineCallbacks
    def test_example_consumer(self) -> Any:
        """
        C{docs/examples/asyncio_consumer.py} processes jobs with
        coroutines; the one that fails is refused, redelivered and done;
        nothing is left in the queue; the process exits 0.
        """
        require(RABBITMQ)
        out, err, status = yield run_python(self, "docs/examples/asyncio_consumer.py")
        self.assertEqual(status, 0, err)
        self.assertLinesInOrder(
            out,
            [
                "job 2 failed (attempt 1)",
                "job 2 done (attempt 2)",
                "left in the queue: 'end' (the end marker only)",
            ],
        )
        self.assertIn("job 1 done (attempt 1)", out.splitlines())
        self.assertIn("job 3 done (attempt 1)", out.splitlines())

    @inlineCallbacks
    def test_returning_without_disconnecting(self) -> Any:
        """
        An application that connects by host name and returns without
        disconnecting still ends: no thread is left behind to keep the
        process alive, neither the reactor's pool nor asyncio's executor.
        """
        require(RABBITMQ)
        path = _script(
            self,
            """
            import asyncio, threading

            async def main():
                from twisted.internet import asyncioreactor
                asyncioreactor.install(asyncio.get_running_loop())
                from twisted.internet import reactor
                import stomp_twisted
                client = stomp_twisted.connect(
                    "localhost", reactor=reactor, login="guest", passcode="guest"
                )
                await client.when_connected().asFuture(asyncio.get_running_loop())
                print("connected", client.version)

            asyncio.run(main())
            print("threads left:", [t.name for t in threading.enumerate()
                                    if t is not threading.main_thread()])
            """,
        )
        out, err, status = yield run_python(self, path)
        self.assertEqual(status, 0, err)
        self.assertEqual(out.splitlines(), ["connected 1.2", "threads left: []"])

    @inlineCallbacks
    def test_resolution_timeout_under_asyncio(self) -> Any:
        """
        Under C{asyncio.run()}, names are resolved through the loop (here
        its C{getaddrinfo} never answers): the attempt fails after the
        endpoint's timeout saying so, and the process exits by itself.
        """
        path = _script(
            self,
            """
            import asyncio

            async def main():
                from twisted.internet import asyncioreactor
                loop = asyncio.get_running_loop()
                asyncioreactor.install(loop)
                from twisted.internet import reactor
                from stomp_twisted import StompClient
                from stomp_twisted.endpoints import broker_endpoint
                from stomp_twisted.failover import BrokerAddress
                asked = []

                async def never(host, *args, **kwargs):
                    asked.append(host)
                    await asyncio.Event().wait()

                loop.getaddrinfo = never
                endpoint = broker_endpoint(
                    reactor, [BrokerAddress("broker.invalid", 61613)], timeout=0.5
                )
                client = StompClient(endpoint, reactor=reactor, reconnect=None)
                client.reg_cb("connect_error", lambda client, message: print(message))
                client.start()
                try:
                    await client.when_connected().asFuture(loop)
                except Exception as error:
                    print("when_connected:", type(error).__name__)
                print("asked the loop for:", asked)

            asyncio.run(main())
            """,
        )
        out, err, status = yield run_python(self, path)
        self.assertEqual(status, 0, err)
        self.assertEqual(
            out.splitlines(),
            [
                "could not connect to tcp://broker.invalid:61613: no connection to"
                " tcp://broker.invalid:61613 within 0.5 s (connect_timeout):"
                " resolving 'broker.invalid' did not finish",
                "when_connected: NotConnected",
                "asked the loop for: ['broker.invalid']",
            ],
        )

    @inlineCallbacks
    def test_unknown_name_under_asyncio(self) -> Any:
        """
        A name the system cannot resolve fails at once under
        C{asyncio.run()}, with Twisted's own message, and the process
        exits by itself.
        """
        path = _script(
            self,
            """
            import asyncio, socket

            async def main():
                from twisted.internet import asyncioreactor
                loop = asyncio.get_running_loop()
                asyncioreactor.install(loop)
                from twisted.internet import reactor
                import stomp_twisted

                async def no_such_name(host, *args, **kwargs):
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

                loop.getaddrinfo = no_such_name
                client = stomp_twisted.connect("broker.invalid", reactor=reactor, reconnect=None)
                client.reg_cb("connect_error", lambda client, message: print(message))
                try:
                    await client.when_connected().asFuture(loop)
                except Exception as error:
                    print("when_connected:", type(error).__name__)

            asyncio.run(main())
            """,
        )
        out, err, status = yield run_python(self, path)
        self.assertEqual(status, 0, err)
        self.assertEqual(
            out.splitlines(),
            [
                "could not connect to tcp://broker.invalid:61613:"
                " DNS lookup failed: no results for hostname lookup: broker.invalid.",
                "when_connected: NotConnected",
            ],
        )
