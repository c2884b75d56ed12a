"""
A client-level property test (issue 10): whatever a hostile broker sends
and whatever a careless caller does, nothing but L{StompError} subclasses
escapes, nothing is logged as an unhandled error, and once the client is
told to leave, every Deferred it handed out fires.

Hypothesis plays L{Program}s (see L{test.hostile_strategies}) against a
real L{StompClient} over an in-memory network and a L{Clock}, so that each
example takes milliseconds and every run is the same.  Set
C{HYPOTHESIS_EXAMPLES} to run more examples than CI does, for instance::

    HYPOTHESIS_EXAMPLES=20000 .venv/bin/python -m twisted.trial test.test_hostile_property

The invariants, checked for every example:

  1. No exception but a L{StompError} escapes a call the caller makes
     (C{send}, C{subscribe}, C{ack}, ...) or the L{StompClient} constructor.
  2. No exception at all escapes what the reactor calls
     (C{dataReceived}, C{connectionMade}, C{connectionLost}, a delayed
     call): a real reactor logs any of them, L{StompError}s included, as
     "Unhandled Error" and drops the connection.
  3. Nothing is logged at critical level and no failure is logged (which
     covers "Unhandled error in Deferred", forced out with
     C{gc.collect()}), except the failures of the test's own
     subscription callbacks, which the client is right to log.
  4. Every Deferred the client returned fails, if it does, with a
     L{StompError}; and after C{disconnect()} and C{disconnect_timeout}
     seconds (plus one) none is still pending, every connection is closed,
     and C{when_connected()} called after C{disconnect()} fails with
     L{ClientClosed}.
  5. The passcode appears in no exception, event or log line.
"""

from __future__ import annotations

import gc
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    formatEvent,
    globalLogPublisher,
)
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from stomp_twisted import ClientClosed, FrameLimits, OutboxPolicy, ReconnectPolicy, StompError
from stomp_twisted.client import StompClient, Subscription, Transaction
from stomp_twisted.protocol import StompProtocol

from . import hostile_strategies as strategies
from .hostile_strategies import (
    SECRET,
    AnswerReceipt,
    BrokerClose,
    Call,
    ClientConfig,
    Feed,
    Program,
    Ref,
    SetRefusing,
    SetStalled,
    Step,
    SubscriptionSpec,
    Tick,
    programs,
)

BROKER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 61613)

#: Examples per CI run (about 12 s here when passing); set HYPOTHESIS_EXAMPLES for more.
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "1200"))

_OUR_PACKAGE = f"{os.sep}stomp_twisted{os.sep}"


class UserCallbackError(Exception):
    """
    What the test's failing subscription callbacks raise: the client logs
    these (that is what it should do), so they are no finding.
    """


# --- the in-memory network ------------------------------------------------------


class BrokerTransport(StringTransport):
    """
    A L{StringTransport} that pauses and resumes as a TCP transport does,
    without complaint after C{loseConnection}, and says whether it was
    aborted.
    """

    def __init__(self) -> None:
        super().__init__(peerAddress=BROKER_ADDRESS)
        self.aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        self.disconnecting = True

    def pauseProducing(self) -> None:
        self.producerState = "paused"

    def resumeProducing(self) -> None:
        self.producerState = "producing"


@dataclass(eq=False)
class Link:
    """
    One connection, from the broker's side: what is still to be read by
    the client, and whether the broker reads what the client writes.
    """

    protocol: StompProtocol
    transport: BrokerTransport
    pending: list[bytes]
    stalled: bool = False
    lost: bool = False


@dataclass(frozen=True)
class Finding:
    """
    One broken invariant.

    @ivar kind: which invariant, and where (the call, the reactor entry).
    @ivar error: the exception's type name, if there is one.
    @ivar location: the innermost stomp_twisted frame, C{file:line in
        function}, if known.
    @ivar detail: the message and the traceback.
    """

    kind: str
    error: str
    location: str
    detail: str

    def exception(self, context: str = "") -> AssertionError:
        """
        An exception of a class of its own per kind, error and place, so
        that Hypothesis reports (and shrinks) each bug apart.
        """
        name = f"{self.kind}: {self.error} at {self.location}"
        cls = _FINDING_CLASSES.get(name)
        if cls is None:
            cls = _FINDING_CLASSES[name] = type(name, (AssertionError,), {})
        return cls(f"\n{self.detail}\n{context}")


_FINDING_CLASSES: dict[str, type[AssertionError]] = {}


def _innermost(frames: list[tuple[str, int, str]]) -> str:
    # frames: (file, line, function), outermost first.
    ours = [frame for frame in frames if _OUR_PACKAGE in frame[0]]
    chosen = ours[-1] if ours else (frames[-1] if frames else None)
    if chosen is None:
        return "(no traceback)"
    path, line, function = chosen
    short = path.split(os.sep + "main" + os.sep, 1)[-1]
    return f"{short}:{line} in {function}"


def finding_from_exception(kind: str, error: BaseException) -> Finding:
    extracted = traceback.extract_tb(error.__traceback__)
    frames = [(frame.filename, frame.lineno or 0, frame.name) for frame in extracted]
    text = "".join(traceback.format_exception(error))
    return Finding(kind, type(error).__name__, _innermost(frames), text)


def finding_from_failure(kind: str, failure: Failure, where: str = "") -> Finding:
    """
    @param where: the place to name if the failure has no traceback (an
        exception made and passed on, never raised): the log namespace.
    """
    frames = [(str(f[1]), int(f[2]), str(f[0])) for f in failure.frames]
    location = _innermost(frames) if frames else (where or "(no traceback)")
    text = failure.getTraceback()
    return Finding(kind, type(failure.value).__name__, location, text)


@implementer(IStreamClientEndpoint)
class HostileEndpoint:
    """
    Connects in memory, as L{test.fakes.FakeEndpoint}, with transports
    that can stall; reports what escapes C{connectionMade}.
    """

    def __init__(self, run: Run) -> None:
        self.refusing = False
        self.links: list[Link] = []
        self._run = run

    def connect(self, factory: IProtocolFactory) -> Deferred[Any]:
        if self.refusing:
            return fail(ConnectionRefusedError())
        # As Twisted's endpoints: what buildProtocol raises fails the attempt.
        try:
            protocol = factory.buildProtocol(BROKER_ADDRESS)
        except Exception:
            return fail()
        assert isinstance(protocol, StompProtocol)
        transport = BrokerTransport()
        self.links.append(Link(protocol, transport, []))
        # What makeConnection raises, a reactor logs as Unhandled Error.
        self._run.reactor_call("connectionMade", protocol.makeConnection, transport)
        return succeed(protocol)


# --- running a program ----------------------------------------------------------


class _Stop(Exception):
    # A finding ends the example: the client's state is not to be trusted.
    pass


@dataclass(eq=False)
class Tracked:
    """
    A Deferred the client returned, and what became of it.
    """

    label: str
    deferred: Deferred[Any]
    settled: bool = False
    failure: Failure | None = None


class Run:
    """
    Plays one L{Program} against a fresh client and collects L{Finding}s.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.config = program.config
        self.clock = Clock()
        self.endpoint = HostileEndpoint(self)
        self.findings: list[Finding] = []
        self.texts: list[str] = []
        self.tracked: list[Tracked] = []
        self.messages: list[dict[str, str]] = []
        self.transactions: list[Transaction | str] = []
        self.subscriptions: list[Subscription | str] = []
        self.client: StompClient | None = None
        self.disconnect_called = False
        self.step: object = "(setup)"

    # --- guards ---------------------------------------------------------------

    def _found(self, finding: Finding) -> None:
        self.findings.append(finding)
        raise _Stop()

    def caller_call(
        self, kind: str, function: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """
        A call the caller makes: a L{StompError} is a legitimate answer.
        """
        try:
            return function(*args, **kwargs)
        except StompError as error:
            self.texts.append(str(error))
            return None
        except _Stop:
            raise
        except Exception as error:
            self._found(finding_from_exception(f"escaped {kind}", error))

    def reactor_call(self, kind: str, function: Callable[..., Any], *args: Any) -> None:
        """
        A call the reactor makes: nothing may escape.
        """
        try:
            function(*args)
        except _Stop:
            raise
        except Exception as error:
            self._found(finding_from_exception(f"escaped {kind}", error))

    def track(self, label: str, deferred: object) -> None:
        if not isinstance(deferred, Deferred):
            return
        tracked = Tracked(label, deferred)
        self.tracked.append(tracked)
        deferred.addBoth(self._settled, tracked)

    def _settled(self, result: object, tracked: Tracked) -> None:
        tracked.settled = True
        if isinstance(result, Failure):
            tracked.failure = result
            self.texts.append(str(result.value))
            if not isinstance(result.value, StompError):
                # Not raised here: this may run inside the client.
                self.findings.append(
                    finding_from_failure(f"{tracked.label} Deferred failed with", result)
                )
        elif isinstance(result, Transaction):
            self.transactions.append(result)
        elif isinstance(result, Subscription):
            self.subscriptions.append(result)

    # --- the program ------------------------------------------------------------

    def execute(self) -> list[Finding]:
        try:
            if self._make_client():
                for index, step in enumerate(self.program.steps):
                    self.step = f"step {index}: {step!r}"
                    self._do(step)
                    self.pump()
                    if self.findings:
                        raise _Stop()
                self.step = "(leaving)"
                self._leave()
        except _Stop:
            pass
        self._check_secret()
        for finding in self.findings:
            object.__setattr__(finding, "detail", f"{self.step}\n{finding.detail}")
        return self.findings

    def _make_client(self) -> bool:
        config = self.config
        options: dict[str, Any] = {
            "reactor": self.clock,
            "versions": config.versions,
            "login": "guest",
            "passcode": SECRET + config.passcode_suffix,
            "heartbeat": config.heartbeat,
            "reconnect": _policy(config),
            "receipt_timeout": config.receipt_timeout,
            "connect_timeout": config.connect_timeout,
            "disconnect_timeout": config.disconnect_timeout,
            "outbox": OutboxPolicy() if config.outbox else None,
            "max_in_flight": config.max_in_flight,
        }
        if config.small_limits:
            options["limits"] = FrameLimits(max_header_block=300, max_headers=8, max_body=32)
        options.update(dict(config.odd_settings))
        client = self.caller_call("StompClient()", StompClient, self.endpoint, **options)
        if client is None:
            return False
        self.client = client
        for spec in config.subscriptions:
            subscribed = self.caller_call(
                "subscribe",
                client.subscribe,
                spec.destination,
                self._subscriber(spec.callback),
                ack=spec.ack,
                receipt=False,
            )
            self.track("subscribe (before start)", subscribed)
        client.reg_cb("MESSAGE", self._message_seen)
        for event in ("connect_error", "io_error", "disconnect"):
            client.reg_cb(event, self._event_seen)
        self.caller_call("start", client.start)
        self.pump()
        return True

    def _do(self, step: Step) -> None:
        if isinstance(step, Feed):
            link = self._current()
            if link is not None:
                link.pending.extend(step.chunks())
        elif isinstance(step, Call):
            self._call(step)
        elif isinstance(step, Tick):
            self.reactor_call("a delayed call", self.clock.advance, step.seconds)
        elif isinstance(step, BrokerClose):
            link = self._current()
            if link is not None:
                self._deliver(link)
                reason = ConnectionDone() if step.clean else TCPConnectionLost()
                self._lose(link, reason)
        elif isinstance(step, SetStalled):
            link = self._current()
            if link is not None and link.stalled != step.stalled:
                link.stalled = step.stalled
                producer = link.transport.producer
                if producer is not None:
                    if step.stalled:
                        self.reactor_call("pauseProducing", producer.pauseProducing)
                    else:
                        self.reactor_call("resumeProducing", producer.resumeProducing)
        elif isinstance(step, SetRefusing):
            self.endpoint.refusing = step.refusing
        elif isinstance(step, AnswerReceipt):
            self._answer_receipt(step)

    def _current(self) -> Link | None:
        links = self.endpoint.links
        if links and not links[-1].lost:
            return links[-1]
        return None

    def _answer_receipt(self, step: AnswerReceipt) -> None:
        link = self._current()
        if link is None:
            return
        asked = re.findall(rb"\nreceipt:([^\n\r]*)", link.transport.value())
        if not asked:
            return
        receipt_id = asked[step.index % len(asked)]
        if step.command == "RECEIPT":
            frame = b"RECEIPT\nreceipt-id:" + receipt_id + b"\n\n\0"
        else:
            frame = b"ERROR\nmessage:refused\nreceipt-id:" + receipt_id + b"\n\nno\0"
        link.pending.append(frame)

    # --- what the reactor does ----------------------------------------------------

    def pump(self) -> None:
        """
        Deliver what the broker sent while the client reads, and end the
        connections the client closed (unless the broker stalls: then only
        an abort ends them, as over TCP).
        """
        for link in list(self.endpoint.links):
            if link.lost:
                continue
            self._deliver(link)
            transport = link.transport
            if transport.disconnecting and (not link.stalled or transport.aborted):
                self._lose(link, ConnectionDone())

    def _deliver(self, link: Link) -> None:
        transport = link.transport
        while (
            link.pending
            and not link.lost
            and not transport.disconnecting
            and transport.producerState != "paused"
        ):
            chunk = link.pending.pop(0)
            self.reactor_call("dataReceived", link.protocol.dataReceived, chunk)

    def _lose(self, link: Link, reason: Exception) -> None:
        link.lost = True
        link.pending.clear()
        self.reactor_call("connectionLost", link.protocol.connectionLost, Failure(reason))

    # --- the caller ---------------------------------------------------------------

    def _call(self, step: Call) -> None:
        assert self.client is not None
        args = [self._resolve(arg) for arg in step.args]
        kwargs = {name: self._resolve(value) for name, value in step.kwargs}
        label = step.method
        if step.method == "subscribe":
            args[1] = self._subscriber(str(args[1]))
        elif step.method == "reg_cb":
            args[1] = (lambda *_: None) if args[1] == "callable" else args[1]
        elif step.method == "when_connected" and self.disconnect_called:
            label = "when_connected after disconnect"
        result = self.caller_call(label, getattr(self.client, step.method), *args, **kwargs)
        if step.method == "disconnect":
            self.disconnect_called = True
        self.track(label, result)

    def _resolve(self, value: object) -> object:
        if not isinstance(value, Ref):
            return value
        if value.kind in ("message", "ack-id"):
            if not self.messages:
                return {"message-id": "m-none"} if value.kind == "message" else "m-none"
            headers = self.messages[value.index % len(self.messages)]
            if value.kind == "message":
                return dict(headers)
            return headers.get("ack") or headers.get("message-id") or "m-none"
        if value.kind == "transaction":
            items: list[Any] = self.transactions
            fallback = "tx-1"
        else:
            items = self.subscriptions
            fallback = "sub-1"
        return items[value.index % len(items)] if items else fallback

    def _subscriber(self, kind: str) -> Callable[..., object] | None:
        clock = self.clock

        def callback(client: StompClient, body: bytes, headers: dict[str, str]) -> object:
            if kind == "raise":
                raise UserCallbackError("a subscription callback failed")
            if kind in ("later", "fail-later"):
                done: Deferred[None] = Deferred()
                if kind == "later":
                    clock.callLater(0.5, done.callback, None)
                else:
                    clock.callLater(0.5, done.errback, UserCallbackError("failed later"))
                return done
            if kind == "never":
                return Deferred()
            if kind == "disconnect":
                self.disconnect_called = True
                self.track("disconnect (in a callback)", client.disconnect())
            return None

        return None if kind == "none" else callback

    def _message_seen(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        if len(self.messages) < 20:
            self.messages.append(dict(headers))

    def _event_seen(self, client: StompClient, *args: object) -> None:
        self.texts.extend(str(arg) for arg in args)

    # --- leaving ------------------------------------------------------------------

    def _leave(self) -> None:
        assert self.client is not None
        client = self.client
        if not self.disconnect_called:
            self.track("disconnect", self.caller_call("disconnect", client.disconnect))
            self.disconnect_called = True
        self.pump()
        # In small steps, so that each close the client asks for reaches
        # connectionLost before the next timer, as in a reactor.
        limit = self.clock.seconds() + _disconnect_timeout(self.config) + 1.0
        while self.clock.seconds() < limit:
            self.reactor_call("a delayed call", self.clock.advance, 0.25)
            self.pump()
        self._check_settled()

    def _check_settled(self) -> None:
        for tracked in self.tracked:
            if not tracked.settled:
                self.findings.append(
                    Finding(
                        f"{tracked.label} Deferred still pending after disconnect()",
                        "pending",
                        "-",
                        f"{tracked.label}: {tracked.deferred!r}",
                    )
                )
            elif tracked.label == "when_connected after disconnect" and not (
                tracked.failure is not None and isinstance(tracked.failure.value, ClientClosed)
            ):
                outcome = tracked.failure.value if tracked.failure else tracked.deferred.result
                self.findings.append(
                    Finding(
                        "when_connected() after disconnect() did not fail with ClientClosed",
                        type(outcome).__name__,
                        "-",
                        repr(outcome),
                    )
                )
        for index, link in enumerate(self.endpoint.links):
            if not link.lost:
                self.findings.append(
                    Finding(
                        "connection still open after disconnect()",
                        "open",
                        "-",
                        f"connection {index}: stalled={link.stalled}, "
                        f"closing={link.transport.disconnecting}, "
                        f"aborted={link.transport.aborted}",
                    )
                )

    def _check_secret(self) -> None:
        for text in self.texts:
            if SECRET in text:
                self.findings.append(
                    Finding("the passcode appears in an exception or event", "secret", "-", text)
                )
                return


def _policy(config: ClientConfig) -> ReconnectPolicy | None:
    if config.reconnect is None:
        return None
    initial_delay, max_attempts = config.reconnect
    return ReconnectPolicy(initial_delay=initial_delay, max_attempts=max_attempts, jitter=0.0)


def _disconnect_timeout(config: ClientConfig) -> float:
    # An odd disconnect_timeout was refused at the constructor, or the
    # example would not get here.
    value = dict(config.odd_settings).get("disconnect_timeout", config.disconnect_timeout)
    return float(value) if isinstance(value, (int, float)) else config.disconnect_timeout


# --- the log --------------------------------------------------------------------


@implementer(ILogObserver)
class LogWatch:
    """
    Keeps every log event of an example: the critical ones and the failures
    are findings (but for the test's own callbacks'), and no line may hold
    the passcode.
    """

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def __call__(self, event: LogEvent) -> None:
        self.events.append(event)

    def findings(self) -> list[Finding]:
        result: list[Finding] = []
        # Twisted logs a garbage-collected failure as two events: a critical
        # "Unhandled error in Deferred:", then the failure itself.
        unhandled: str | None = None
        for event in self.events:
            text = formatEvent(event)
            failure = event.get("log_failure")
            if isinstance(failure, Failure):
                text = f"{text}\n{failure.getTraceback()}"
            if SECRET in text:
                result.append(Finding("the passcode appears in a log line", "secret", "-", text))
            critical = event.get("log_level") == LogLevel.critical
            if isinstance(failure, Failure):
                title = unhandled or _first_line(text)
                if failure.check(UserCallbackError) and unhandled is None:
                    continue
                unhandled = None
                namespace = str(event.get("log_namespace", ""))
                result.append(finding_from_failure(f"logged ({title})", failure, namespace))
            elif critical:
                if unhandled is not None:
                    result.append(Finding("logged at critical level", "-", "-", unhandled))
                unhandled = _first_line(text)
                if not unhandled.startswith("Unhandled error in Deferred"):
                    result.append(Finding("logged at critical level", "-", "-", text))
                    unhandled = None
        if unhandled is not None:
            result.append(Finding("logged at critical level", "-", "-", unhandled))
        return result


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:60]


# --- the test -------------------------------------------------------------------


class HostileBrokerPropertyTests(SynchronousTestCase):
    """
    Random and malformed broker frames, in reads of any size, against
    random caller calls and clock advances.
    """

    def check(self, program: Program) -> None:
        """
        Play C{program}; fail with the first finding (a class of its own
        per kind and place, so that Hypothesis keeps distinct bugs apart).
        """
        watch = LogWatch()
        globalLogPublisher.addObserver(watch)
        # Deferreds dropped with a failure log "Unhandled error in
        # Deferred" when collected: collect them now, in this example.  The
        # run's objects are kept in the youngest generation, so that
        # collecting it alone finds them (a full collection would take
        # longer than the example, as Hypothesis's data grows).
        gc.collect(0)
        gc.disable()
        try:
            findings = Run(program).execute()
            gc.collect(0)
        finally:
            gc.enable()
            globalLogPublisher.removeObserver(watch)
        findings += watch.findings()
        # trial saw the same failures; the watch has reported them.
        self.flushLoggedErrors()
        if findings:
            # (trial does not print the notes where Hypothesis puts the
            # falsifying example: the message carries it.)
            raise findings[0].exception(f"falsifying example: {program!r}")

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(programs())
    def test_nothing_escapes(self, program: Program) -> None:
        """
        Whatever the broker sends and the caller does, only L{StompError}s
        reach the caller, nothing is logged as unhandled, and after
        C{disconnect()} no Deferred is left pending.
        """
        self.check(program)


class HarnessTests(SynchronousTestCase):
    """
    The checks of L{HostileBrokerPropertyTests} can fail: each kind of
    finding is reported when it happens.
    """

    connected = Feed(b"CONNECTED\nversion:1.2\n\n\0")

    def findings_of(self, run: Run) -> list[Finding]:
        """
        Play C{run} as L{HostileBrokerPropertyTests.check} does and return
        its findings, the log's included.
        """
        watch = LogWatch()
        globalLogPublisher.addObserver(watch)
        gc.collect(0)
        gc.disable()
        try:
            findings = run.execute()
            del run
            gc.collect(0)
        finally:
            gc.enable()
            globalLogPublisher.removeObserver(watch)
        self.flushLoggedErrors()
        return findings + watch.findings()

    def test_clean_program(self) -> None:
        """
        A broker that behaves and a caller who does too: no finding.
        """
        program = Program(
            ClientConfig(),
            [self.connected, Call.send(b"x", "/queue/a"), AnswerReceipt("RECEIPT", 0)],
        )
        self.assertEqual(self.findings_of(Run(program)), [])

    def test_escape_from_data_received(self) -> None:
        """
        A foreign exception out of C{dataReceived} is a finding that names
        it and the step.
        """
        run = Run(Program(ClientConfig(), [self.connected]))

        def broken(data: bytes) -> None:
            raise ZeroDivisionError("not a StompError")

        original = HostileEndpoint.connect

        def connect(endpoint: HostileEndpoint, factory: IProtocolFactory) -> Any:
            connected = original(endpoint, factory)
            endpoint.links[-1].protocol.dataReceived = broken  # type: ignore[method-assign]
            return connected

        self.patch(HostileEndpoint, "connect", connect)
        [finding] = self.findings_of(run)
        self.assertEqual(
            (finding.kind, finding.error), ("escaped dataReceived", "ZeroDivisionError")
        )
        self.assertIn("step 0: Feed(", finding.detail)

    def test_stomp_error_from_the_reactor_is_a_finding(self) -> None:
        """
        Even a L{StompError} may not escape a delayed call: a reactor logs
        it as an unhandled error.
        """
        run = Run(Program(ClientConfig(), [Tick(1.0)]))

        def refuse() -> None:
            raise ClientClosed("from a timer")

        run.clock.callLater(0.5, refuse)
        [finding] = self.findings_of(run)
        self.assertEqual((finding.kind, finding.error), ("escaped a delayed call", "ClientClosed"))

    def test_unhandled_error_in_deferred(self) -> None:
        """
        A Deferred dropped with a failure is found once collected, with
        the place the failure was raised.
        """
        run = Run(Program(ClientConfig(), [Tick(1.0)]))

        def drop_a_failure() -> None:
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError:
                dropped: Deferred[None] = fail()
                del dropped

        run.clock.callLater(0.5, drop_a_failure)
        findings = self.findings_of(run)
        self.assertEqual(
            [(f.kind, f.error) for f in findings],
            [("logged (Unhandled error in Deferred:)", "ZeroDivisionError")],
        )

    def test_pending_after_disconnect(self) -> None:
        """
        A Deferred still waiting once the client is gone is a finding.
        """
        run = Run(Program(ClientConfig(), [self.connected]))
        run.clock.callLater(0.5, run.track, "forgotten", Deferred())
        [finding] = self.findings_of(run)
        self.assertEqual(finding.kind, "forgotten Deferred still pending after disconnect()")

    def test_stalled_close_is_found(self) -> None:
        """
        A connection the client only asked to close, to a broker that does
        not read, is still open at the end: a finding (unless the client
        aborts it).
        """
        run = Run(Program(ClientConfig(), [self.connected, SetStalled(True)]))
        # As if the client never aborted: only loseConnection.
        self.patch(BrokerTransport, "abortConnection", StringTransport.loseConnection)
        kinds = {finding.kind for finding in self.findings_of(run)}
        self.assertIn("connection still open after disconnect()", kinds)

    def test_secret_in_log(self) -> None:
        """
        The passcode in a log line is a finding.
        """
        run = Run(Program(ClientConfig(), [Tick(1.0)]))
        log = Logger()
        run.clock.callLater(0.5, lambda: log.info("passcode is {p}", p=SECRET))
        [finding] = self.findings_of(run)
        self.assertEqual(finding.kind, "the passcode appears in a log line")

    def test_replayable(self) -> None:
        """
        A printed program is Python that makes the same program again.
        """
        program = Program(
            ClientConfig(subscriptions=(SubscriptionSpec("/queue/a", "auto", "later"),)),
            [self.connected, Call.ack(Ref("message", 1), None, receipt=True), Tick(0.5)],
        )
        namespace = dict(vars(strategies))
        self.assertEqual(eval(repr(program), namespace), program)
