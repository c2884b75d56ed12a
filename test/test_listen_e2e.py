"""
C{twistd stomp-listen} end to end: the installed command runs as a real
subprocess (no PYTHONPATH, started outside the work tree, as an operator
would run it after C{make install}) against RabbitMQ and ActiveMQ; this
process sends messages with stomp_twisted and reads the listener's output
and log.

Every wait is bounded and polls for what it waits for; nothing sleeps and
hopes.  After changing the package, C{make install} before running these
(C{test_installed_is_the_work_tree} says so when it was forgotten).
"""

from __future__ import annotations

import base64
import filecmp
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue

#: The bound on each wait for something that should happen.
TIMEOUT = 15.0

TOP = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TLS_DIR = TOP / ".brokers" / "tls"
PASSCODE_VARIABLE = "STOMP_LISTEN_TEST_PASSCODE"
WRONG_PASSCODE_VARIABLE = "STOMP_LISTEN_TEST_WRONG_PASSCODE"
#: How soon a listener refused on its first connection must have exited,
#: twistd's start-up included (about 1 s here).
REFUSED_EXIT_BOUND = 5.0
RESET_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)

T = TypeVar("T")


def clean_environment() -> dict[str, str]:
    """
    The environment of an operator's shell: no PYTHONPATH pointing at the
    work tree.
    """
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment[PASSCODE_VARIABLE] = "guest"
    return environment


async def wait_for(what: str, check: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    """
    Poll C{check} until it returns something true, for at most C{timeout}
    seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await deferLater(reactor, 0.05, lambda: None)


class Listener:
    """
    One C{stomp-listen} process.  Its standard output goes to a file (or
    to a descriptor the test gives), its standard error to another.
    """

    def __init__(
        self,
        test: TestCase,
        argv: Sequence[str],
        *,
        command: Sequence[str] = ("twistd", "--nodaemon", "--pidfile="),
        stdout: int | None = None,
        default_sigint: bool = False,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.default_sigint = default_sigint
        self.environment = {**clean_environment(), **(environment or {})}
        self.directory = Path(test.mktemp())
        self.directory.mkdir(parents=True)
        self.stdout_path = self.directory / "stdout"
        self.stderr_path = self.directory / "stderr"
        executable = str(BIN / command[0])
        with open(self.stderr_path, "wb") as stderr:
            if stdout is None:
                with open(self.stdout_path, "wb") as out:
                    self.process = self._spawn(executable, command, argv, out.fileno(), stderr)
            else:
                self.process = self._spawn(executable, command, argv, stdout, stderr)
        test.addCleanup(self.kill)

    def _spawn(
        self, executable: str, command: Sequence[str], argv: Sequence[str], stdout: Any, stderr: Any
    ) -> subprocess.Popen[bytes]:
        prefix = []
        if self.default_sigint:
            # A shell without job control starts background commands with
            # SIGINT ignored, and exec keeps it so: restore the default.
            prefix = [sys.executable, "-S", "-c", RESET_SIGINT]
        return subprocess.Popen(
            [*prefix, executable, *command[1:], "stomp-listen", *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=self.directory,
            env=self.environment,
        )

    def output(self) -> bytes:
        return self.stdout_path.read_bytes() if self.stdout_path.exists() else b""

    def lines(self) -> list[bytes]:
        return self.output().splitlines()

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    async def exited(self, timeout: float = TIMEOUT) -> int:
        """
        Wait for the process to end; its return code (negative: the
        signal that ended it).
        """
        await wait_for(f"the listener to exit; its log:\n{self.log()}", self._ended, timeout)
        return self.process.returncode

    def _ended(self) -> bool:
        return self.process.poll() is not None

    async def logged(self, text: str) -> None:
        await wait_for(f"{text!r} in the log", lambda: text in self.log() or self._dead(text))

    def _dead(self, text: str) -> bool:
        if self.process.poll() is not None and text not in self.log():
            raise AssertionError(f"the listener exited without logging {text!r}:\n{self.log()}")
        return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)


# The mixin's tests call TestCase's methods; trial must not collect it.
_MixinBase = TestCase if TYPE_CHECKING else object


class BrokerMixin(_MixinBase):
    """
    The listener against one broker; the concrete classes below name it.
    """

    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def broker_args(self) -> list[str]:
        args = ["--host", self.broker.host, "--port", str(self.broker.port)]
        if self.broker.login is not None:
            # From the environment: a passcode never shows in `ps`.
            args += ["--login", self.broker.login, "--passcode-env", PASSCODE_VARIABLE]
        return args

    def listener(self, *argv: str, **kwargs: Any) -> Listener:
        return Listener(self, [*self.broker_args(), *argv], **kwargs)

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

    async def send(self, queue: str, bodies: Sequence[bytes], **headers: str) -> None:
        """
        Send each body to C{queue}, in order, each confirmed by the broker.
        """
        client = await self.client()
        for body in bodies:
            await client.send(body, queue, headers)

    async def receive(self, queue: str, count: int) -> list[bytes]:
        """
        The bodies of the next C{count} messages of C{queue}, consumed
        (acknowledged) by a client of this process.
        """
        client = await self.client()
        bodies: list[bytes] = []
        client.subscribe(queue, lambda c, body, h: bodies.append(body), ack="auto")
        await wait_for(f"{count} messages from {queue}", lambda: len(bodies) >= count)
        return bodies

    # --- the tests ----------------------------------------------------------

    async def test_formats(self) -> None:
        """
        Each format, for a text message with headers, a non-ASCII one and a
        binary one: the body alone, one per line; JSON lines with the
        destination, the headers, and the body or (binary) C{body_base64};
        and the pretty form.  Standard output holds the messages and
        nothing else; the log is on standard error.  (The body listener
        connects through --endpoint.)
        """
        bodies = [b"plain text", "caf\u00e9 \u2603".encode(), b"\x00\xff\xfebinary\n\x01"]
        queues = {style: unique_queue(f"format-{style}") for style in ("body", "json", "pretty")}
        for queue in queues.values():
            await self.send(queue, bodies, **{"x-test": "a:b \u00e9"})
        listeners = {}
        for style, queue in queues.items():
            if style == "body":
                where = ["--endpoint", f"tcp:host={self.broker.host}:port={self.broker.port}"]
                if self.broker.login is not None:
                    where += ["--login", self.broker.login, "--passcode-env", PASSCODE_VARIABLE]
                listeners[style] = Listener(
                    self, [*where, "-d", queue, "--format", style, "--count", "3"]
                )
            else:
                listeners[style] = self.listener("-d", queue, "--format", style, "--count", "3")
        for listener in listeners.values():
            self.assertEqual(await listener.exited(), 0, listener.log())
            self.assertNotIn(b"stomp_twisted", listener.output())
            self.assertIn("connected to", listener.log())

        self.assertEqual(listeners["body"].output(), b"".join(b + b"\n" for b in bodies))

        records = [json.loads(line) for line in listeners["json"].lines()]
        self.assertEqual(len(records), 3)
        for record in records:
            self.assertEqual(record["destination"], queues["json"])
            self.assertEqual(record["headers"]["x-test"], "a:b \u00e9")
        self.assertEqual(
            [records[0]["body"], records[1]["body"]], ["plain text", "caf\u00e9 \u2603"]
        )
        self.assertNotIn("body", records[2])
        self.assertEqual(base64.b64decode(records[2]["body_base64"]), bodies[2])

        pretty = listeners["pretty"].output().decode("utf-8")
        for number in (1, 2, 3):
            self.assertIn(f"=== message {number} from {queues['pretty']} at ", pretty)
        self.assertIn("  x-test: a:b \u00e9\n", pretty)
        self.assertIn("\nplain text\n", pretty)
        self.assertIn("\ncaf\u00e9 \u2603\n", pretty)
        self.assertIn("(binary body, 11 bytes)\n00000000  00 ff fe 62", pretty)

    async def test_count_and_peek(self) -> None:
        """
        C{--ack manual --count 2} peeks: two messages are written and all
        stay with the broker.  Then C{--count 2} exits with status 0 after
        two messages, and exactly the other three are left for the next
        consumer: none lost, none taken beyond the count.
        """
        queue = unique_queue("count")
        sent = [f"message {n}".encode() for n in range(1, 6)]
        await self.send(queue, sent)
        peek = self.listener("-d", queue, "--ack", "manual", "--count", "2")
        self.assertEqual(await peek.exited(), 0, peek.log())
        self.assertEqual(len(peek.lines()), 2)
        count = self.listener("-d", queue, "--count", "2")
        self.assertEqual(await count.exited(), 0, count.log())
        taken = count.lines()
        self.assertEqual(len(taken), 2)
        self.assertIn("2 message(s) written (--count): leaving", count.log())
        rest = await self.receive(queue, 3)
        self.assertEqual(sorted(taken + rest), sorted(sent))

    async def test_sigterm_disconnects_gracefully(self) -> None:
        """
        On SIGTERM the listener sends DISCONNECT, the broker confirms it
        with a receipt, and the process ends promptly, by the signal as
        twistd does.
        """
        queue = unique_queue("sigterm")
        listener = self.listener("-d", queue)
        await listener.logged("connected to")
        await self.send(queue, [b"before SIGTERM"])
        await wait_for("the message", lambda: listener.output() == b"before SIGTERM\n")
        asked = time.monotonic()
        listener.signal(signal.SIGTERM)
        self.assertEqual(await listener.exited(), -signal.SIGTERM)
        self.assertLess(time.monotonic() - asked, 5)
        log = listener.log()
        self.assertIn("leaving: sending DISCONNECT", log)
        self.assertIn("the broker confirmed DISCONNECT (receipt", log)
        self.assertIn("disconnected; 1 message(s) written", log)

    async def test_kill_loses_nothing(self) -> None:
        """
        With --ack auto, a listener killed (SIGKILL) in the middle of a
        stream loses nothing: each message it acknowledged was in its
        output first, and a second listener gets all the others
        (duplicates allowed).

        The first listener writes to a pipe this test stops reading after
        a few lines, so that it is certainly mid-stream when killed: the
        messages do not fit in the pipe.
        """
        queue = unique_queue("kill")
        total = 150
        padding = "." * 1000
        sent = [f"{n:04d} {padding}".encode() for n in range(total)]
        await self.send(queue, sent)
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        first = self.listener("-d", queue, stdout=write_end)
        os.close(write_end)
        os.set_blocking(read_end, False)
        received = bytearray()

        def read_lines(at_least: int) -> bool:
            try:
                while chunk := os.read(read_end, 65536):
                    received.extend(chunk)
            except BlockingIOError:
                pass
            return received.count(b"\n") >= at_least

        await wait_for("5 lines from the first listener", lambda: read_lines(5))
        first.signal(signal.SIGKILL)
        self.assertEqual(await first.exited(), -signal.SIGKILL)
        os.set_blocking(read_end, True)
        while chunk := os.read(read_end, 65536):
            received.extend(chunk)
        written_first = {line for line in bytes(received).split(b"\n") if len(line) > 1000}
        self.assertGreaterEqual(len(written_first), 5)
        self.assertLess(len(written_first), total)

        second = self.listener("-d", queue)

        def everything() -> bool:
            return written_first | set(second.lines()) >= set(sent)

        await wait_for("the second listener to get the rest", everything)
        second.signal(signal.SIGTERM)
        await second.exited()
        self.assertEqual(written_first | set(second.lines()), set(sent))

    async def test_broken_pipe(self) -> None:
        """
        When its standard output is closed, the listener logs why, exits
        with status 1, and does not acknowledge the message it could not
        write: the next consumer gets it.
        """
        queue = unique_queue("epipe")
        read_end, write_end = os.pipe()
        listener = self.listener("-d", queue, stdout=write_end)
        os.close(write_end)
        await self.send(queue, [b"first"])
        with os.fdopen(read_end, "rb") as pipe:
            self.assertEqual(pipe.readline(), b"first\n")
        await self.send(queue, [b"second"])
        self.assertEqual(await listener.exited(), 1, listener.log())
        log = listener.log()
        self.assertIn("cannot write to standard output: Broken pipe", log)
        self.assertIn("is not acknowledged: the broker will redeliver it", log)
        self.assertIn("the broker confirmed DISCONNECT", log)
        self.assertNotIn("Traceback", log)
        self.assertEqual(await self.receive(queue, 1), [b"second"])


class RabbitMQTests(BrokerMixin, TestCase):
    broker = RABBITMQ

    async def test_sigint(self) -> None:
        """
        SIGINT (Control-C) leaves as gracefully as SIGTERM.
        """
        listener = self.listener("-d", unique_queue("sigint"), default_sigint=True)
        await listener.logged("connected to")
        listener.signal(signal.SIGINT)
        self.assertEqual(await listener.exited(), -signal.SIGINT)
        self.assertIn("the broker confirmed DISCONNECT (receipt", listener.log())

    async def test_twist(self) -> None:
        """
        C{twist stomp-listen} works too; twist logs to standard error.
        """
        queue = unique_queue("twist")
        await self.send(queue, [b"via twist"])
        listener = self.listener("-d", queue, "--count", "1", command=("twist",))
        self.assertEqual(await listener.exited(), 0, listener.log())
        self.assertEqual(listener.output(), b"via twist\n")
        self.assertIn("the broker confirmed DISCONNECT", listener.log())

    async def test_daemon(self) -> None:
        """
        Daemonised (twistd without --nodaemon), with --output: twistd
        returns once the daemon runs; it writes messages to the file, and
        on SIGTERM leaves gracefully and removes its pid file.
        """
        directory = Path(self.mktemp()).resolve()
        directory.mkdir()
        pidfile, logfile, output = (directory / n for n in ("pid", "log", "messages"))
        queue = unique_queue("daemon")
        starter = Listener(
            self,
            [*self.broker_args(), "-d", queue, "--output", str(output), "--format", "json"],
            command=("twistd", "--pidfile", str(pidfile), "--logfile", str(logfile)),
        )
        self.assertEqual(await starter.exited(), 0, starter.log())
        pid = int(await wait_for("the pid file", lambda: pidfile.exists() and pidfile.read_text()))

        def kill_daemon() -> None:
            if pidfile.exists():
                os.kill(pid, signal.SIGKILL)

        self.addCleanup(kill_daemon)
        await wait_for("the daemon to connect", lambda: "connected to" in logfile.read_text())
        await self.send(queue, [b"to the daemon"])
        line = await wait_for("the message in --output", lambda: output.read_bytes())
        self.assertEqual(json.loads(line)["body"], "to the daemon")
        os.kill(pid, signal.SIGTERM)
        await wait_for("the pid file to go", lambda: not pidfile.exists())
        self.assertIn("the broker confirmed DISCONNECT", logfile.read_text())

    async def test_unreachable_broker(self) -> None:
        """
        A broker that cannot be reached is retried with growing delays and
        each failure logged; after --reconnect-attempts the listener gives
        up with exit status 1.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        listener = Listener(
            self,
            ["--port", str(port), "-d", "/queue/x", "--reconnect-attempts", "4",
             "--reconnect-delay", "0.1"],
        )  # fmt: skip
        self.assertEqual(await listener.exited(), 1, listener.log())
        log = listener.log()
        self.assertEqual(log.count(f"#warn] could not connect to tcp://127.0.0.1:{port}"), 4, log)
        delays = [
            float(line.rsplit(" in ", 1)[1].split()[0])
            for line in log.splitlines()
            if f"reconnecting to tcp://127.0.0.1:{port} in " in line
        ]
        self.assertEqual(len(delays), 3, log)
        self.assertLess(delays[0], delays[1])
        self.assertLess(delays[1], delays[2])
        self.assertEqual(log.count("giving up: gave up after 4 failed attempts"), 1, log)
        self.assertNotIn("Traceback", log)

    def wrong_passcode_listener(self, *argv: str) -> tuple[Listener, str]:
        # RabbitMQ's guest with a passcode that is not guest's.
        passcode = f"wrong-{uuid.uuid4().hex}"
        listener = Listener(
            self,
            ["--host", self.broker.host, "--port", str(self.broker.port), "--login", "guest",
             "--passcode-env", WRONG_PASSCODE_VARIABLE, "-d", unique_queue("refused"), *argv],
            environment={WRONG_PASSCODE_VARIABLE: passcode},
        )  # fmt: skip
        return listener, passcode

    async def test_wrong_passcode_exits(self) -> None:
        """
        A wrong passcode on the first connection: the listener exits with
        status 1 within seconds, with the broker's reason in the log and
        the passcode nowhere.
        """
        started = time.monotonic()
        listener, passcode = self.wrong_passcode_listener()
        self.assertEqual(await listener.exited(), 1, listener.log())
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, REFUSED_EXIT_BOUND, listener.log())
        log = listener.log()
        self.assertIn("refused CONNECT: Bad CONNECT (Access refused for user 'guest')", log)
        self.assertIn("exiting with status 1 (--retry-refused keeps retrying)", log)
        self.assertNotIn(passcode, log)
        self.assertNotIn(passcode.encode(), listener.output())
        self.assertNotIn("Traceback", log)

    async def test_wrong_passcode_retry_refused(self) -> None:
        """
        With --retry-refused the listener keeps trying, as a service that
        waits for its credentials to be fixed should, until stopped.
        """
        listener, passcode = self.wrong_passcode_listener("--retry-refused")
        await listener.logged("retrying (--retry-refused)")
        await listener.logged("reconnecting to")
        self.assertIsNone(listener.process.poll(), listener.log())
        listener.signal(signal.SIGTERM)
        self.assertEqual(await listener.exited(), -signal.SIGTERM, listener.log())
        self.assertNotIn(passcode, listener.log())


class ActiveMQTests(BrokerMixin, TestCase):
    broker = ACTIVEMQ

    async def test_tls_client_certificate(self) -> None:
        """
        Over TLS to the connector that requires a client certificate,
        with the test CA, certificate and key.
        """
        require(Broker("activemq (TLS, client certificate)", 61625))
        if not (TLS_DIR / "client.pem").exists():
            self.fail(f"the test PKI is missing from {TLS_DIR}: scripts/brokers start activemq")
        queue = unique_queue("tls")
        await self.send(queue, [b"over TLS"])
        listener = Listener(
            self,
            ["--host", "localhost", "--port", "61625", "--ca-file", str(TLS_DIR / "ca.pem"),
             "--cert-file", str(TLS_DIR / "client.pem"), "--key-file",
             str(TLS_DIR / "client.key"), "-d", queue, "--count", "1"],
        )  # fmt: skip
        self.assertEqual(await listener.exited(), 0, listener.log())
        self.assertEqual(listener.output(), b"over TLS\n")
        self.assertIn("connected to ssl://localhost:61625", listener.log())


class CommandLineTests(TestCase):
    """
    The command itself, no broker needed: it is installed and found,
    documents itself, and rejects bad options with a usage error.
    """

    def run_command(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            cwd="/",
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def test_help(self) -> None:
        """
        C{twistd --help} lists stomp-listen with its one-line description,
        found without PYTHONPATH from outside the work tree;
        C{twistd stomp-listen --help} describes every option.
        """
        listing = self.run_command("twistd", "--help")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        # (Other plugins, autobahn's among them, may widen the column.)
        self.assertRegex(
            listing.stdout,
            r"\n    stomp-listen +Subscribe to STOMP destinations and print messages\n",
        )
        self.assertEqual(listing.stderr, "")
        usage = self.run_command("twistd", "stomp-listen", "--help")
        self.assertEqual(usage.returncode, 0, usage.stderr)
        for option in ("--destination=", "--ack=", "--format=", "--count=", "--passcode-file="):
            self.assertIn(option, usage.stdout)

    def test_usage_errors(self) -> None:
        """
        Bad options: a usage message and a non-zero status at once, no
        traceback; twistd exits with 1, twist with 64 (EX_USAGE).
        """
        cases = [
            (("twistd", "-n", "--pidfile=", "stomp-listen"), 1, "give at least one --destination"),
            (
                ("twistd", "-n", "--pidfile=", "stomp-listen", "-d", "/queue/a", "--ack", "x"),
                1,
                "--ack must be one of none, auto, manual",
            ),
            (
                ("twistd", "-n", "stomp-listen", "-d", "/queue/a", "--passcode-env", "NO_SUCH_VAR"),
                1,
                "--passcode-env: $NO_SUCH_VAR is not set",
            ),
            (("twistd", "stomp-listen", "-d", "/queue/a"), 1, "a daemon's standard output"),
            (("twist", "stomp-listen", "-d", "/queue/a", "--count", "0"), 64, "at least 1"),
        ]
        processes = [
            (
                subprocess.Popen(
                    [str(BIN / argv[0]), *argv[1:]],
                    cwd="/",
                    env=clean_environment(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
                status,
                message,
            )
            for argv, status, message in cases
        ]
        for process, status, message in processes:
            output, _ = process.communicate(timeout=TIMEOUT)
            self.assertEqual(process.returncode, status, output)
            self.assertIn(message, output)
            self.assertNotIn("Traceback", output)

    def test_installed_is_the_work_tree(self) -> None:
        """
        The command runs the installed package and plugin (a normal
        install, not an editable one): they must be this work tree's, and
        Twisted's plugin cache must be up to date, so that a site-packages
        the listener cannot write to does not make every run log an error.
        """
        code = (
            "import stomp_twisted, twisted.plugins.stomp_listen as p; "
            "print(stomp_twisted.__file__); print(p.__file__)"
        )
        where = self.run_command(os.path.basename(sys.executable), "-c", code)
        package, plugin = (Path(line).parent for line in where.stdout.split())
        self.assertNotEqual(package, TOP / "stomp_twisted", "an editable install?")
        stale = [
            name
            for name in os.listdir(TOP / "stomp_twisted")
            if name.endswith(".py")
            and not filecmp.cmp(TOP / "stomp_twisted" / name, package / name, shallow=False)
        ]
        if not filecmp.cmp(TOP / "twisted/plugins/stomp_listen.py", plugin / "stomp_listen.py"):
            stale.append("twisted/plugins/stomp_listen.py")
        self.assertEqual(stale, [], "the installed package is stale: run make install")
        cache = plugin / "dropin.cache"
        self.assertTrue(cache.exists(), "no plugin cache: make install regenerates it")
        for source in plugin.glob("*.py"):
            self.assertGreaterEqual(cache.stat().st_mtime, source.stat().st_mtime, source)
        with open(cache, "rb") as file:
            self.assertIn("stomp_listen", pickle.load(file))
        # Twisted agrees: a run finds nothing to update (it would rewrite
        # the cache as root, and log an error as anyone else).
        before = cache.stat().st_mtime_ns
        self.assertEqual(self.run_command("twistd", "--help").returncode, 0)
        self.assertEqual(cache.stat().st_mtime_ns, before)
