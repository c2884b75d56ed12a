"""
C{stomp-send}: its command line, its input readers and its sender in
memory (L{FakeEndpoint}, L{MemoryReactorClock}), then the installed
console script as a real process against RabbitMQ, round trip with
C{twistd stomp-listen} included.

After changing the package, C{make install} before running the end-to-end
tests: they run the installed command.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, formatEvent, globalLogPublisher
from twisted.python import usage
from twisted.python.reflect import accumulateClassList
from twisted.trial.unittest import SynchronousTestCase, TestCase

from stomp_twisted import send
from stomp_twisted._send_input import ArgumentMessages, InputReader, LineInput, WholeInput
from stomp_twisted._send_loop import Sender
from stomp_twisted.cli_options import ConnectionOptions
from stomp_twisted.client import StompClient
from stomp_twisted.errors import LineTooLong
from stomp_twisted.reconnect import ReconnectPolicy
from stomp_twisted.send import Options
from stomp_twisted.tap import Options as ListenOptions

from .brokers import RABBITMQ, require, unique_queue
from .fakes import FakeConnection, FakeEndpoint
from .test_listen_e2e import TIMEOUT, Listener, clean_environment, wait_for

TOP = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUEUE = "/queue/a"


def parse(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


def all_options(cls: type[Any]) -> tuple[list[list[Any]], list[list[Any]]]:
    parameters: list[list[Any]] = []
    flags: list[list[Any]] = []
    accumulateClassList(cls, "optParameters", parameters)
    accumulateClassList(cls, "optFlags", flags)
    return parameters, flags


class OptionsTests(SynchronousTestCase):
    """
    The command line: defaults, what each option becomes, usage errors.
    """

    def test_defaults(self) -> None:
        """
        --destination is enough: the local broker, standard input whole,
        a window of 100, 30 s per receipt, and at most 3 connection
        attempts (a command, unlike a service, does not wait for ever).
        """
        options = parse("-d", QUEUE)
        self.assertEqual(options["destination"], QUEUE)
        self.assertEqual(options["messages"], [])
        self.assertFalse(options["lines"])
        self.assertEqual(options["window"], 100)
        self.assertEqual(options["receipt-timeout"], 30.0)
        self.assertEqual(options.send_headers(), {})
        arguments = options.connect_arguments()
        self.assertEqual(arguments["host"], "127.0.0.1")
        self.assertEqual(arguments["reconnect"], ReconnectPolicy(max_attempts=3))

    def test_everything(self) -> None:
        """
        Headers repeat and win over --content-type and --persistent;
        messages come after the options, as bytes; the connection options
        are stomp-listen's.
        """
        options = parse(
            "-H", "mq", "-p", "1234", "-u", "me", "--passcode", "pw", "-d", QUEUE,
            "--header", "priority=9", "--header", "x-eq=a=b", "--content-type", "text/plain",
            "--persistent", "--header", "persistent=false", "--connect-header", "client-id=c",
            "--receipt-timeout", "2.5", "-w", "7", "--reconnect-attempts", "5", "--",
            "one", "-two", "caf\u00e9",
        )  # fmt: skip
        self.assertEqual(options["messages"], [b"one", b"-two", "caf\u00e9".encode()])
        self.assertEqual(
            options.send_headers(),
            {"content-type": "text/plain", "persistent": "false", "priority": "9", "x-eq": "a=b"},
        )
        self.assertEqual((options["receipt-timeout"], options["window"]), (2.5, 7))
        arguments = options.connect_arguments()
        self.assertEqual((arguments["host"], arguments["port"]), ("mq", 1234))
        self.assertEqual((arguments["login"], arguments["passcode"]), ("me", "pw"))
        self.assertEqual(arguments["connect_headers"], {"client-id": "c"})
        self.assertEqual(arguments["reconnect"].max_attempts, 5)

    def test_failover_uri_keeps_its_attempts(self) -> None:
        """
        A failover URI that says how often to retry is obeyed; one that
        does not gets the command's bound.
        """
        uri = "failover:(tcp://a:1,tcp://b:2)"
        self.assertEqual(
            parse("-d", QUEUE, "-H", uri).connect_arguments()["reconnect"].max_attempts, 3
        )
        # connect() reads the URI's own policy.
        bounded = parse("-d", QUEUE, "-H", f"{uri}?maxReconnectAttempts=6")
        self.assertNotIn("reconnect", bounded.connect_arguments())
        self.assertIsNone(parse("-d", QUEUE, "--no-reconnect").connect_arguments()["reconnect"])

    def test_usage_errors(self) -> None:
        """
        Each bad command line raises L{usage.UsageError} (exit status 64).
        """
        cases = [
            [],
            ["one message"],
            ["-d", ""],
            ["-d", QUEUE, "--lines", "a message"],
            ["-d", QUEUE, "--header", "no-equals"],
            ["-d", QUEUE, "--header", "destination=/queue/b"],
            ["-d", QUEUE, "--header", "receipt=r"],
            ["-d", QUEUE, "--header", "content-length=3"],
            ["-d", QUEUE, "--window", "0"],
            ["-d", QUEUE, "--receipt-timeout", "0"],
            ["-d", QUEUE, "--receipt-timeout", "-1"],
            ["-d", QUEUE, "--port", "70000"],
            ["-d", QUEUE, "--passcode-env", "STOMP_SEND_TEST_UNSET_VARIABLE"],
            ["-d", QUEUE, "--endpoint", "tcp:host=h:port=1", "--host", "h"],
            ["-d", QUEUE, "--no-reconnect", "--reconnect-attempts", "2"],
        ]
        for argv in cases:
            with self.assertRaises(usage.UsageError, msg=repr(argv)):
                parse(*argv)

    def test_shares_connection_options(self) -> None:
        """
        Every connection option of stomp-send is stomp-listen's, from the
        same class; -H is --host in both.
        """
        self.assertTrue(issubclass(Options, ConnectionOptions))
        send_names = {o[0] for group in all_options(Options) for o in group}
        listen_names = {o[0] for group in all_options(ListenOptions) for o in group}
        shared = {o[0] for group in all_options(ConnectionOptions) for o in group}
        self.assertGreater(len(shared), 15)
        self.assertLessEqual(shared | {"reconnect-attempts"}, send_names & listen_names)
        self.assertEqual(parse("-d", QUEUE, "-H", "mq")["host"], "mq")

    def test_help_documents_every_option(self) -> None:
        """
        --help describes every option, and so does the manual page.
        """
        parameters, flags = all_options(Options)
        names = [p[0] for p in parameters] + [f[0] for f in flags]
        names += [a[4:].replace("_", "-") for a in dir(Options) if a.startswith("opt_")]
        text = str(Options())
        manual = (TOP / "docs" / "stomp-send.rst").read_text()
        for name in set(names) - {"help", "version"}:
            if len(name) == 1:
                continue
            self.assertIn(f"--{name}", text)
            self.assertIn(f"--{name}", manual, f"docs/stomp-send.rst does not describe --{name}")


class FakeReader:
    """
    Standard input in memory: hands out the given chunks, one per read,
    and counts the reads.
    """

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0
        self.closed = False

    def read(self) -> Deferred[bytes]:
        self.reads += 1
        return succeed(self.chunks.pop(0) if self.chunks else b"")

    def close(self) -> None:
        self.closed = True


class InputTests(SynchronousTestCase):
    """
    Where the messages come from.
    """

    def drain(self, source: Any) -> list[bytes]:
        messages = []
        while (message := self.successResultOf(source.next())) is not None:
            messages.append(message)
        return messages

    def test_lines(self) -> None:
        """
        One message per line, whatever the chunks: LF or CRLF endings
        removed, an empty line is an empty message, a last line without
        an ending counts.
        """
        reader = FakeReader([b"a\r\nb", b"c\n\n", b"d\ne", b"", b""])
        self.assertEqual(self.drain(LineInput(reader)), [b"a", b"bc", b"", b"d", b"e"])

    def test_lines_read_as_needed(self) -> None:
        """
        The input is read only when no complete line is left: memory stays
        bounded whatever its size.
        """
        reader = FakeReader([b"1\n2\n", b"3\n"] + [b"x\n"] * 1000)
        lines = LineInput(reader)
        self.assertEqual(self.successResultOf(lines.next()), b"1")
        self.assertEqual(self.successResultOf(lines.next()), b"2")
        self.assertEqual(reader.reads, 1)
        self.assertEqual(self.successResultOf(lines.next()), b"3")
        self.assertEqual(reader.reads, 2)

    def test_line_too_long(self) -> None:
        """
        A line longer than the limit fails with L{LineTooLong} instead of
        filling memory.
        """
        lines = LineInput(FakeReader([b"x" * 6, b"y" * 6]), max_line=10)
        self.assertIn("line 1 of standard input", str(self.failureResultOf(lines.next()).value))
        self.assertIsInstance(
            self.failureResultOf(LineInput(FakeReader([b"z" * 11]), 10).next()).value, LineTooLong
        )

    def test_whole(self) -> None:
        """
        Without --lines the whole input is one message, empty included.
        """
        self.assertEqual(self.drain(WholeInput(FakeReader([b"a\n", b"b"]))), [b"a\nb"])
        self.assertEqual(self.drain(WholeInput(FakeReader([]))), [b""])

    def test_arguments(self) -> None:
        """
        Each argument is a message.
        """
        self.assertEqual(self.drain(ArgumentMessages([b"a", b""])), [b"a", b""])


class InputReaderTests(TestCase):
    """
    L{InputReader} reads a real pipe in its thread, only when asked.
    """

    async def test_pipe(self) -> None:
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        reader = InputReader(reactor, read_end, chunk_size=4)
        self.addCleanup(reader.close)
        os.write(write_end, b"hello")
        self.assertEqual(await reader.read().addTimeout(TIMEOUT, reactor), b"hell")
        os.write(write_end, b"!")
        os.close(write_end)
        self.assertEqual(await reader.read().addTimeout(TIMEOUT, reactor), b"o!")
        self.assertEqual(await reader.read().addTimeout(TIMEOUT, reactor), b"")

    async def test_error(self) -> None:
        """
        A read that fails fails the Deferred with its C{OSError}.
        """
        read_end, write_end = os.pipe()
        os.close(read_end)
        self.addCleanup(os.close, write_end)
        reader = InputReader(reactor, write_end)
        self.addCleanup(reader.close)
        with self.assertRaises(OSError):
            await reader.read().addTimeout(TIMEOUT, reactor)


class SenderTests(SynchronousTestCase):
    """
    L{Sender} with a client on a L{FakeEndpoint} that plays the broker.
    """

    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        self.endpoint = FakeEndpoint()
        self.events: list[LogEvent] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        self.confirmed: list[tuple[int, int]] = []

    def logged(self) -> str:
        return "\n".join(formatEvent(e) for e in self.events)

    def sender(
        self, messages: Any, window: int = 100, passcode: str | None = None, **options: Any
    ) -> tuple[Sender, Deferred[int]]:
        client = StompClient(
            self.endpoint,
            reactor=self.clock,
            passcode=passcode,
            reconnect=ReconnectPolicy(max_attempts=3),
            **options,
        )
        client.start()
        sender = Sender(
            client,
            QUEUE,
            messages,
            headers={"persistent": "true"},
            window=window,
            broker="tcp://broker:61613",
            passcode=passcode,
            confirmed=lambda number, size: self.confirmed.append((number, size)),
        )
        return sender, Deferred.fromCoroutine(sender.run())

    def connected(self) -> FakeConnection:
        connection = self.endpoint.last
        connection.sent()
        connection.connected("1.2")
        return connection

    def finish(self, connection: FakeConnection) -> None:
        # The graceful exit: DISCONNECT's receipt, then the close.
        disconnect = connection.sent()[-1]
        self.assertEqual(disconnect.command, "DISCONNECT")
        connection.receipt(disconnect.headers["receipt"])
        connection.lose()

    def test_all_confirmed(self) -> None:
        """
        Each message goes with the headers and a receipt; the first alone,
        then up to the window at once; status 0 once all are confirmed.
        """
        bodies = [f"m{n}".encode() for n in range(1, 7)]
        _, done = self.sender(ArgumentMessages(bodies), window=2)
        connection = self.connected()
        first = connection.sent_one()
        self.assertEqual(first.body, b"m1")
        self.assertEqual(first.headers["persistent"], "true")
        self.assertEqual(first.headers["destination"], QUEUE)
        connection.receipt(first.headers["receipt"])
        second, third = connection.sent()
        self.assertEqual((second.body, third.body), (b"m2", b"m3"))
        self.assertEqual(connection.sent(), [])
        # Each receipt makes room for one more, never more than 2 waiting.
        connection.receipt(second.headers["receipt"])
        fourth = connection.sent_one()
        self.assertEqual(fourth.body, b"m4")
        connection.receipt(fourth.headers["receipt"])
        fifth = connection.sent_one()
        connection.receipt(third.headers["receipt"])
        sixth = connection.sent_one()
        self.assertEqual((fifth.body, sixth.body), (b"m5", b"m6"))
        self.assertNoResult(done)
        connection.receipt(fifth.headers["receipt"])
        connection.receipt(sixth.headers["receipt"])
        self.finish(connection)
        self.assertEqual(self.successResultOf(done), 0)
        self.assertEqual([n for n, _ in self.confirmed], [1, 2, 4, 3, 5, 6])

    def test_all_confirmed_status(self) -> None:
        """
        Status 0 once every message is confirmed and the client has left.
        """
        sender, done = self.sender(ArgumentMessages([b"a", b"b"]))
        connection = self.connected()
        connection.receipt(connection.sent_one().headers["receipt"])
        connection.receipt(connection.sent_one().headers["receipt"])
        self.finish(connection)
        self.assertEqual(self.successResultOf(done), 0)
        self.assertEqual(self.confirmed, [(1, 1), (2, 1)])
        self.assertEqual((sender.sent, sender.confirmed), (2, 2))

    def test_refused_destination(self) -> None:
        """
        A message the broker refuses (ERROR, then it closes): status 1,
        the broker's reason, nothing more sent.
        """
        sender, done = self.sender(ArgumentMessages([b"a", b"b", b"c"]))
        connection = self.connected()
        connection.sent_one()
        connection.receive("ERROR", {"message": "not_found"}, b"NOT_FOUND - no exchange 'x'")
        connection.lose()
        self.assertEqual(self.successResultOf(done), 1)
        self.assertEqual(sender.sent, 1)
        self.assertIn(
            "message 1 was not confirmed: broker sent ERROR: not_found (NOT_FOUND - no exchange"
            " 'x') (the connection was closed); 0 of 1 message(s) confirmed by tcp://broker:61613",
            self.logged(),
        )

    def test_receipt_timeout(self) -> None:
        """
        A receipt that never comes fails the run after the timeout.
        """
        sender, done = self.sender(ArgumentMessages([b"a"]), receipt_timeout=5)
        connection = self.connected()
        connection.sent_one()
        self.clock.advance(5)
        self.finish(connection)
        self.assertEqual(self.successResultOf(done), 1)
        self.assertIn("message 1 was not confirmed: no receipt", sender.failure or "")

    def test_refused_connect(self) -> None:
        """
        A refused CONNECT: status 1 at once, with the broker's reason and
        never the passcode, even if the broker echoes it.
        """
        sender, done = self.sender(ArgumentMessages([b"a"]), passcode="pw-s3cret")
        connection = self.endpoint.last
        connection.sent()
        connection.receive("ERROR", {"message": "Bad CONNECT"}, b"no pw-s3cret for you")
        connection.lose()
        self.assertEqual(self.successResultOf(done), 1)
        self.assertEqual(self.endpoint.attempts, 1)
        self.assertEqual(
            sender.failure, "tcp://broker:61613 refused CONNECT: Bad CONNECT (no *** for you)"
        )
        own = [e for e in self.events if e.get("log_namespace") == "stomp_twisted.send"]
        self.assertNotIn("pw-s3cret", "\n".join(formatEvent(e) for e in own))

    def test_unreachable(self) -> None:
        """
        A broker that cannot be reached: status 1 once the client gives up.
        """
        self.endpoint.refuse = ConnectionRefusedError("refused")
        sender, done = self.sender(ArgumentMessages([b"a"]))
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(done), 1)
        self.assertIn("cannot connect to tcp://broker:61613: gave up after 3", sender.failure or "")

    def test_interrupted(self) -> None:
        """
        A signal stops reading; messages already sent get their receipts
        waited for; the status is 128 + the signal.
        """
        reader = FakeReader([])
        pending: Deferred[bytes] = Deferred()
        reader.read = lambda: pending  # type: ignore[method-assign]
        sender, done = self.sender(LineInput(reader))
        connection = self.connected()
        sender.interrupt(signal.SIGINT)
        self.finish(connection)
        self.assertEqual(self.successResultOf(done), 128 + signal.SIGINT)
        self.assertIn("interrupted by SIGINT: no message sent to", self.logged())
        pending.callback(b"late\n")  # dropped: nothing more is sent
        self.assertEqual(connection.sent(), [])

    def test_interrupted_waits_for_receipts(self) -> None:
        """
        Interrupted with messages in flight, the sender waits for their
        receipts before leaving.
        """
        sender, done = self.sender(ArgumentMessages([b"a"]))
        connection = self.connected()
        frame = connection.sent_one()
        sender.interrupt(signal.SIGTERM)
        self.assertNoResult(done)
        connection.receipt(frame.headers["receipt"])
        self.finish(connection)
        self.assertEqual(self.successResultOf(done), 128 + signal.SIGTERM)
        self.assertEqual(sender.confirmed, 1)


class VerboseTests(SynchronousTestCase):
    """
    --verbose's lines, and a closed standard output.
    """

    def test_lines(self) -> None:
        stream = io.StringIO()
        send.VerboseOutput(QUEUE, stream)(3, 12)
        self.assertEqual(
            stream.getvalue(), f"sent message 3 (12 bytes) to {QUEUE}: broker receipt received\n"
        )

    def test_broken_pipe(self) -> None:
        """
        A closed standard output stops the lines, said once, and nothing
        else.
        """

        class Broken(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError(32, "Broken pipe")

        silenced: list[bool] = []
        self.patch(send, "_silence_stdout", lambda: silenced.append(True))
        events: list[LogEvent] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        output = send.VerboseOutput(QUEUE, Broken())
        output(1, 1)
        output(2, 1)
        self.assertEqual(silenced, [True])
        said = [formatEvent(e) for e in events if "no more --verbose" in formatEvent(e)]
        self.assertEqual(said, ["standard output: Broken pipe; no more --verbose lines"])


class MainTests(SynchronousTestCase):
    """
    L{send.main}'s exits that need no reactor.
    """

    def run_main(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as exited:
            send.main(list(argv))
        code = exited.exception.code
        assert isinstance(code, int)
        return code, out.getvalue(), err.getvalue()

    def test_usage_error(self) -> None:
        code, out, err = self.run_main("-d", QUEUE, "--window", "none")
        self.assertEqual(code, 64)
        self.assertEqual(out, "")
        self.assertIn("stomp-send: ", err)
        self.assertIn("Run 'stomp-send --help'", err)

    def test_help(self) -> None:
        code, out, err = self.run_main("--help")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("Usage: stomp-send [options] --destination DEST"))
        self.assertEqual(err, "")


# --- end to end ---------------------------------------------------------------


class EndToEndTests(TestCase):
    """
    The installed C{stomp-send} as a process, from outside the work tree,
    against RabbitMQ; C{twistd stomp-listen} receives.
    """

    def setUp(self) -> None:
        require(RABBITMQ)

    def stomp_send(
        self, *argv: str, stdin: bytes = b"", environment: dict[str, str] | None = None
    ) -> tuple[int, bytes, str, float]:
        started = time.monotonic()
        process = subprocess.run(
            [str(BIN / "stomp-send"), "--host", RABBITMQ.host, "--port", str(RABBITMQ.port), *argv],
            input=stdin,
            capture_output=True,
            cwd="/",
            env={**clean_environment(), **(environment or {})},
            timeout=TIMEOUT,
        )
        elapsed = time.monotonic() - started
        return process.returncode, process.stdout, process.stderr.decode(errors="replace"), elapsed

    async def test_round_trip(self) -> None:
        """
        Lines from standard input, then arguments, with headers: status 0,
        nothing on standard output, and stomp-listen receives each as
        sent, headers included.
        """
        queue = unique_queue("send")
        lines = "one\r\ntwo \u2603\n\nlast without newline".encode()
        status, out, err, _ = self.stomp_send(
            "-d", queue, "--lines", "--header", "x-test=yes", "--content-type", "text/plain",
            stdin=lines,
        )  # fmt: skip
        self.assertEqual((status, out, err), (0, b"", ""))
        status, out, err, _ = self.stomp_send("-d", queue, "-v", "five", "six")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.count(b"broker receipt received"), 2)
        listener = Listener(
            self,
            ["--host", RABBITMQ.host, "--port", str(RABBITMQ.port), "-d", queue,
             "--count", "6", "-f", "json"],
        )  # fmt: skip
        self.assertEqual(await listener.exited(), 0, listener.log())
        import json

        records = [json.loads(line) for line in listener.lines()]
        self.assertEqual(
            [r["body"] for r in records],
            ["one", "two \u2603", "", "last without newline", "five", "six"],
        )
        self.assertEqual(records[0]["headers"]["x-test"], "yes")
        self.assertEqual(records[0]["headers"]["content-type"], "text/plain")

    async def test_refused_destination(self) -> None:
        """
        A destination RabbitMQ refuses: status 1 at once, the broker's
        reason on standard error, nothing on standard output.
        """
        exchange = f"nonexistent-exchange-{uuid.uuid4().hex[:12]}"
        status, out, err, _ = self.stomp_send("-d", f"/exchange/{exchange}", "a", "b", "c")
        self.assertEqual(status, 1, err)
        self.assertEqual(out, b"")
        self.assertIn(f"NOT_FOUND - no exchange '{exchange}'", err)
        self.assertIn("0 of 1 message(s) confirmed", err)
        self.assertNotIn("Traceback", err)

    async def test_wrong_passcode(self) -> None:
        """
        A wrong passcode: status 1 within seconds, the broker's reason,
        never the passcode.
        """
        passcode = f"wrong-{uuid.uuid4().hex}"
        status, out, err, elapsed = self.stomp_send(
            "-u", "guest", "--passcode-env", "STOMP_SEND_TEST_PASSCODE", "-d", QUEUE, "x",
            environment={"STOMP_SEND_TEST_PASSCODE": passcode},
        )  # fmt: skip
        self.assertEqual(status, 1, err)
        self.assertLess(elapsed, 5.0)
        self.assertIn("refused CONNECT: Bad CONNECT (Access refused for user 'guest')", err)
        self.assertNotIn(passcode, err)
        self.assertNotIn(passcode.encode(), out)

    async def test_sigint(self) -> None:
        """
        SIGINT while waiting for input: the sender leaves, status 130, and
        says so.
        """
        process = subprocess.Popen(
            [str(BIN / "stomp-send"), "--host", RABBITMQ.host, "--port", str(RABBITMQ.port),
             "-d", unique_queue("sigint"), "--lines", "-v"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",
            env=clean_environment(),
        )  # fmt: skip
        self.addCleanup(lambda: process.poll() is None and process.kill())
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"first\n")
        process.stdin.flush()
        line = await wait_for("the first receipt", process.stdout.readline)
        self.assertIn(b"sent message 1", line)
        process.send_signal(signal.SIGINT)
        await wait_for("stomp-send to exit", lambda: process.poll() is not None)
        assert process.stderr is not None
        err = process.stderr.read().decode()
        self.assertEqual(process.returncode, 130, err)
        self.assertIn("interrupted by SIGINT: 1 of 1 message(s) confirmed", err)
        process.stdin.close()
        process.stdout.close()
        process.stderr.close()

    def test_help_without_broker(self) -> None:
        """
        --help and usage errors need neither a broker nor a reactor.
        """
        help_run = subprocess.run(
            [str(BIN / "stomp-send"), "--help"], capture_output=True, text=True, timeout=TIMEOUT
        )
        self.assertEqual(help_run.returncode, 0, help_run.stderr)
        self.assertIn("--destination=", help_run.stdout)
        bad = subprocess.run(
            [str(BIN / "stomp-send"), "--lines", "x"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        self.assertEqual(bad.returncode, 64)
        self.assertIn("--destination is required", bad.stderr)
