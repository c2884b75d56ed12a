"""
C{twistd stomp-listen} without a broker: the options parser, the output
formats, and L{ListenService} on an injected reactor (a
L{MemoryReactorClock}) with a L{StompClient} on a L{FakeEndpoint}.

The real thing, as a subprocess against real brokers, is in
C{test_listen_e2e}.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from twisted.application.service import IServiceMaker
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, formatEvent, globalLogPublisher
from twisted.plugin import IPlugin
from twisted.python import usage
from twisted.python.reflect import accumulateClassList
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted import tap
from stomp_twisted._listen_output import format_message
from stomp_twisted._listen_service import ListenService
from stomp_twisted.cli_options import ConnectionOptions
from stomp_twisted.client import StompClient
from stomp_twisted.endpoints import TLSOptions
from stomp_twisted.frame import Frame
from stomp_twisted.reconnect import ReconnectPolicy
from stomp_twisted.tap import Options

from .fakes import FakeConnection, FakeEndpoint
from .pki import self_signed

TOP = Path(__file__).resolve().parent.parent
QUEUE = "/queue/a"


def parse(*argv: str) -> Options:
    options = Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    """
    The command line: defaults, what each option becomes, and a usage
    error (never a traceback) for each bad combination.
    """

    def test_defaults(self) -> None:
        """
        One --destination is enough: 127.0.0.1:61613, --ack auto, the body
        format, standard output, heart-beats every 10 s, every STOMP
        version, the client's reconnect policy.
        """
        options = parse("--destination", QUEUE)
        self.assertEqual(options["destinations"], [QUEUE])
        self.assertEqual(options["ack"], "auto")
        self.assertEqual(options["format"], "body")
        self.assertIsNone(options["output"])
        self.assertIsNone(options["count"])
        self.assertEqual(options.subscribe_headers(), {})
        self.assertEqual(
            options.connect_arguments(),
            {
                "host": "127.0.0.1",
                "port": None,
                "ssl": False,
                "tls": None,
                "connect_headers": {},
                "versions": ["1.0", "1.1", "1.2"],
                "vhost": "/",
                "heartbeat": (10000, 10000),
            },
        )
        self.assertEqual(options.describe_broker(), "tcp://127.0.0.1:61613")

    def test_everything(self) -> None:
        """
        Every option reaches the client's arguments or the SUBSCRIBE
        headers; destinations and headers repeat; a header value may hold
        "=".
        """
        options = parse(
            "-H",
            "broker.example",
            "-p",
            "1234",
            "-d",
            QUEUE,
            "--destination",
            "/topic/b",
            "--header",
            "client-id=me",
            "--header",
            "x-eq=a=b",
            "--subscribe-header",
            "selector=colour = 'red'",
            "--login",
            "user",
            "--passcode",
            "secret",
            "--vhost",
            "v",
            "--stomp-version",
            "1.1, 1.2",
            "--heartbeat",
            "500,0",
            "--ack",
            "manual",
            "--prefetch",
            "7",
            "--format",
            "json",
            "--reconnect-delay",
            "0.5",
            "--reconnect-max-delay",
            "4",
            "--reconnect-attempts",
            "3",
        )
        self.assertEqual(options["destinations"], [QUEUE, "/topic/b"])
        self.assertEqual(
            options.connect_arguments(),
            {
                "host": "broker.example",
                "port": 1234,
                "ssl": False,
                "tls": None,
                "connect_headers": {"client-id": "me", "x-eq": "a=b"},
                "versions": ["1.1", "1.2"],
                "vhost": "v",
                "heartbeat": (500, 0),
                "login": "user",
                "passcode": "secret",
                "reconnect": ReconnectPolicy(initial_delay=0.5, max_delay=4.0, max_attempts=3),
            },
        )
        self.assertEqual(
            options.subscribe_headers(),
            {"prefetch-count": "7", "activemq.prefetchSize": "7", "selector": "colour = 'red'"},
        )
        self.assertEqual(options.describe_broker(), "tcp://broker.example:1234")

    def test_usage_errors(self) -> None:
        """
        Each bad command line raises L{usage.UsageError}, which twistd and
        twist report as a usage error with a non-zero exit status.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        not_pem = os.path.join(directory, "not.pem")
        Path(not_pem).write_text("hello\n")
        os.environ.pop("STOMP_LISTEN_TEST_UNSET", None)
        cases = [
            [],
            ["-d", ""],
            ["-d", QUEUE, "--ack", "client"],
            ["-d", QUEUE, "--format", "xml"],
            ["-d", QUEUE, "--count", "0"],
            ["-d", QUEUE, "--count", "many"],
            ["-d", QUEUE, "--prefetch", "0"],
            ["-d", QUEUE, "--port", "70000"],
            ["-d", QUEUE, "--port", "http"],
            ["-d", QUEUE, "--host", ""],
            ["-d", QUEUE, "--host", "two words"],
            ["-d", QUEUE, "--connect-header", "x=a\nb"],
            ["-d", QUEUE, "--connect-header", "a:b=c"],
            ["-d", QUEUE, "--vhost", "a\r"],
            ["-d", QUEUE, "--passcode", "secret\n"],
            ["-d", QUEUE, "--stomp-version", "2.0"],
            ["-d", QUEUE, "--heartbeat", "often"],
            ["-d", QUEUE, "--header", "no-equals-sign"],
            ["-d", QUEUE, "--header", "=value"],
            ["-d", QUEUE, "--subscribe-header", "ack=auto"],
            ["-d", QUEUE, "--subscribe-header", "ack=Client"],
            ["-d", QUEUE, "--ack", "none", "--subscribe-header", "ack=client"],
            ["-d", QUEUE, "--subscribe-header", "destination=/queue/b"],
            ["-d", QUEUE, "--endpoint", "tcp:host=h:port=1", "--host", "h"],
            ["-d", QUEUE, "--endpoint", "tcp:host=h:port=1", "--ssl"],
            ["-d", QUEUE, "--endpoint", "tcp:host=h:port=many"],
            ["-d", QUEUE, "--endpoint", "broker:61613"],
            ["-d", QUEUE, "--host", "tcp:host=h:port=1"],
            ["-d", QUEUE, "--host", "failover:(tcp://a:1,tcp://b:2)", "--port", "3"],
            ["-d", QUEUE, "--host", "failover:(http://a:1)"],
            ["-d", QUEUE, "--host", "failover:(tcp://a:1)?bogus=1"],
            ["-d", QUEUE, "--key-file", not_pem],
            ["-d", QUEUE, "--cert-file", not_pem],
            ["-d", QUEUE, "--ca-file", not_pem],
            ["-d", QUEUE, "--ca-file", os.path.join(directory, "missing.pem")],
            ["-d", QUEUE, "--no-reconnect", "--reconnect-attempts", "2"],
            ["-d", QUEUE, "--reconnect-delay", "-1"],
            ["-d", QUEUE, "--reconnect-max-delay", "nan"],
            ["-d", QUEUE, "--passcode", "a", "--passcode-env", "B"],
            ["-d", QUEUE, "--passcode-env", "STOMP_LISTEN_TEST_UNSET"],
            ["-d", QUEUE, "--passcode-file", os.path.join(directory, "missing")],
            ["-d", QUEUE, "--fsync"],
            ["-d", QUEUE, "--output", os.path.join(directory, "no", "such", "dir")],
            ["-d", QUEUE, "--websocket-header", "Origin=https://a"],
            ["-d", QUEUE, "--host", "ws://h:15674/ws", "--websocket-header", "Upgrade=x"],
            ["-d", QUEUE, "--endpoint", "tcp:host=h:port=1", "--websocket-header", "A=b"],
        ]
        for argv in cases:
            with self.assertRaises(usage.UsageError, msg=repr(argv)):
                parse(*argv)

    def test_passcode_sources(self) -> None:
        """
        The passcode comes from --passcode, an environment variable, or
        the first line of a file (without its line ending).
        """
        self.patch(os, "environ", dict(os.environ, STOMP_LISTEN_TEST="from env"))
        options = parse("-d", QUEUE, "--passcode-env", "STOMP_LISTEN_TEST")
        self.assertEqual(options.connect_arguments()["passcode"], "from env")
        path = self.mktemp()
        Path(path).write_bytes(b"from file \xe2\x98\x83\r\nsecond line\n")
        options = parse("-d", QUEUE, "--passcode-file", path, "--login", "me")
        self.assertEqual(options.connect_arguments()["passcode"], "from file \u2603")
        self.assertEqual(options.connect_arguments()["login"], "me")
        self.assertNotIn("passcode", parse("-d", QUEUE).connect_arguments())

    def test_tls(self) -> None:
        """
        --ssl, and each TLS option (which implies it), become
        L{TLSOptions}; the files are read while parsing, so a bad one is a
        usage error rather than a failure later.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        cert, key = self_signed(directory)
        options = parse("-d", QUEUE, "--ssl")
        self.assertEqual(options.connect_arguments()["tls"], TLSOptions())
        self.assertTrue(options.connect_arguments()["ssl"])
        self.assertEqual(options.describe_broker(), "ssl://127.0.0.1:61612")
        options = parse(
            "-d",
            QUEUE,
            "--host",
            "localhost",
            "--port",
            "61625",
            "--ca-file",
            cert,
            "--cert-file",
            cert,
            "--key-file",
            key,
            "--server-name",
            "broker",
        )
        arguments = options.connect_arguments()
        self.assertTrue(arguments["ssl"])
        self.assertEqual(
            arguments["tls"],
            TLSOptions(ca_file=cert, cert_file=cert, key_file=key, server_name="broker"),
        )
        arguments = parse("-d", QUEUE, "--no-verify").connect_arguments()
        self.assertEqual((arguments["ssl"], arguments["tls"]), (True, TLSOptions(verify=False)))

    def test_endpoint(self) -> None:
        """
        --endpoint passes a Twisted endpoint description to the client as
        its host.
        """
        options = parse("-d", QUEUE, "--endpoint", "tcp:host=127.0.0.1:port=61613")
        arguments = options.connect_arguments()
        self.assertEqual(arguments["host"], "tcp:host=127.0.0.1:port=61613")
        self.assertNotIn("port", arguments)
        self.assertNotIn("tls", arguments)
        self.assertEqual(options.describe_broker(), "tcp:host=127.0.0.1:port=61613")

    def test_failover_uri(self) -> None:
        """
        A failover URI as --host keeps its own reconnect options, which
        --reconnect-* options override one by one.
        """
        uri = "failover:(tcp://a:1,tcp://b:2)?randomize=false&initialReconnectDelay=50"
        options = parse("-d", QUEUE, "--host", uri)
        self.assertNotIn("reconnect", options.connect_arguments())
        self.assertEqual(options.describe_broker(), uri)
        options = parse("-d", QUEUE, "--host", uri, "--reconnect-attempts", "4")
        policy = options.connect_arguments()["reconnect"]
        self.assertEqual(
            (policy.initial_delay, policy.max_attempts, policy.randomize), (0.05, 4, False)
        )

    def test_websocket_header(self) -> None:
        """
        --websocket-header reaches connect()'s websocket_headers, with a
        ws:// broker only (the usage errors are in test_usage_errors).
        """
        options = parse(
            "-d", QUEUE, "--host", "ws://h:15674/ws", "--websocket-header", "Origin=https://a"
        )
        self.assertEqual(options.connect_arguments()["websocket_headers"], {"Origin": "https://a"})
        self.assertNotIn("websocket_headers", parse("-d", QUEUE).connect_arguments())

    def test_no_reconnect(self) -> None:
        """
        --no-reconnect makes a single attempt: no reconnect policy.
        """
        arguments = parse("-d", QUEUE, "--no-reconnect").connect_arguments()
        self.assertIsNone(arguments["reconnect"])

    def test_prefetch_with_count(self) -> None:
        """
        With --count N the broker may send ahead one message under --ack
        auto, N under --ack manual (which acknowledges nothing), so that the
        listener takes no more than it writes; --prefetch and
        --subscribe-header override that.
        """
        self.assertEqual(parse("-d", QUEUE, "-c", "5")["prefetch"], 1)
        self.assertEqual(parse("-d", QUEUE, "-c", "5", "-a", "manual")["prefetch"], 5)
        self.assertIsNone(parse("-d", QUEUE, "-c", "5", "-a", "none")["prefetch"])
        self.assertEqual(parse("-d", QUEUE, "-c", "5", "--prefetch", "3")["prefetch"], 3)
        options = parse("-d", QUEUE, "-c", "5", "--subscribe-header", "prefetch-count=9")
        self.assertEqual(
            options.subscribe_headers(), {"prefetch-count": "9", "activemq.prefetchSize": "1"}
        )

    def test_output(self) -> None:
        """
        --output is made absolute (twistd may change directory) and created
        at once; - means standard output.
        """
        directory = os.path.abspath(self.mktemp())
        os.mkdir(directory)
        self.patch(os, "getcwd", lambda: directory)
        options = parse("-d", QUEUE, "-o", "messages.txt")
        self.assertEqual(options["output"], os.path.join(directory, "messages.txt"))
        self.assertTrue(os.path.exists(options["output"]))
        self.assertIsNone(parse("-d", QUEUE, "-o", "-")["output"])

    def test_help_documents_every_option(self) -> None:
        """
        C{--help} describes every option, and so does the manual page.
        """
        options = Options()
        parameters: list[list[Any]] = []
        flags: list[list[Any]] = []
        accumulateClassList(Options, "optParameters", parameters)
        accumulateClassList(Options, "optFlags", flags)
        names = [p[0] for p in parameters] + [f[0] for f in flags]
        names += [
            attribute[4:].replace("_", "-")
            for attribute in dir(options)
            if attribute.startswith("opt_") and len(attribute) > 5
        ]
        self.assertGreater(len(names), 30)
        text = str(options)
        manual = (TOP / "docs" / "stomp-listen.rst").read_text()
        for name in names:
            if name in ("help", "version"):
                continue
            flag = name in {f[0] for f in flags}
            self.assertIn(f"--{name}" if flag else f"--{name}=", text)
            self.assertIn(f"--{name}", manual, f"docs/stomp-listen.rst does not describe --{name}")
        for parameter in parameters:
            self.assertTrue(parameter[3], parameter[0])

    def test_connection_options_shared(self) -> None:
        """
        The connection options come from L{ConnectionOptions}, which
        stomp-send shares; --header is the listener's older name for
        --connect-header.
        """
        self.assertTrue(issubclass(Options, ConnectionOptions))
        own: list[list[Any]] = []
        accumulateClassList(ConnectionOptions, "optParameters", own)
        self.assertIn("host", [p[0] for p in own])
        options = parse("-d", QUEUE, "--connect-header", "a=1", "--header", "b=2")
        self.assertEqual(options.connect_arguments()["connect_headers"], {"a": "1", "b": "2"})

    def test_retry_refused(self) -> None:
        """
        --retry-refused is off by default, and makes no sense with
        --no-reconnect.
        """
        self.assertFalse(parse("-d", QUEUE)["retry-refused"])
        self.assertTrue(parse("-d", QUEUE, "--retry-refused")["retry-refused"])
        with self.assertRaises(usage.UsageError):
            parse("-d", QUEUE, "--retry-refused", "--no-reconnect")

    def test_subscribe_header_ack_client(self) -> None:
        """
        C{--subscribe-header ack=client} (or C{client-individual}) is
        accepted with C{--ack auto} or C{manual} and replaces the
        listener's own C{ack} header: some STOMP 1.0 servers give messages
        an id to acknowledge only under C{ack:client}.
        """
        for mode in ("client", "client-individual"):
            for ack in ("auto", "manual"):
                options = parse("-d", QUEUE, "--ack", ack, "--subscribe-header", f"ack={mode}")
                self.assertEqual(options.subscribe_headers()["ack"], mode)


class LogApartTests(SynchronousTestCase):
    """
    Messages never share standard output with twistd's log: under
    C{twistd --nodaemon} (which logs to standard output by default) the
    log goes to standard error, and combinations that would mix them are
    usage errors.
    """

    def twistd(self, *argv: str) -> Any:
        from twisted.scripts.twistd import ServerOptions

        config = ServerOptions()
        config.parseOptions(list(argv))
        return config

    def test_nodaemon_logs_to_stderr(self) -> None:
        config = self.twistd("-n", "stomp-listen", "-d", QUEUE)
        self.assertIs(config["logger"], tap.stderr_log_observer)
        self.assertIsInstance(config.subOptions, Options)

    def test_explicit_log_kept(self) -> None:
        path = os.path.abspath(self.mktemp())
        self.assertIsNone(self.twistd("-n", "-l", path, "stomp-listen", "-d", QUEUE)["logger"])
        config = self.twistd("-n", "stomp-listen", "-d", QUEUE, "-o", path)
        self.assertIsNone(config["logger"])

    def test_mixing_refused(self) -> None:
        with self.assertRaises(usage.UsageError):
            self.twistd("-n", "--logfile=-", "stomp-listen", "-d", QUEUE)
        # A daemon's standard output is /dev/null.
        with self.assertRaises(usage.UsageError):
            self.twistd("stomp-listen", "-d", QUEUE)

    def test_twist_logs_to_stderr(self) -> None:
        """
        twist logs to standard output by default: under stomp-listen, to
        standard error.
        """
        from twisted.application.twist._options import TwistOptions

        config = TwistOptions()
        config.parseOptions(["stomp-listen", "-d", QUEUE])
        self.assertIs(config["logFile"], sys.stderr)
        config = TwistOptions()
        config.parseOptions(["--log-file=+", "stomp-listen", "-d", QUEUE, "-o", self.mktemp()])
        self.assertIs(config["logFile"], sys.stderr)

    def test_daemon_with_output(self) -> None:
        path = os.path.abspath(self.mktemp())
        config = self.twistd("stomp-listen", "-d", QUEUE, "--output", path)
        self.assertEqual(config.subOptions["output"], path)


class PluginTests(SynchronousTestCase):
    """
    The plugin twistd and twist find, and what importing it costs.
    """

    def test_plugin(self) -> None:
        from twisted.plugins.stomp_listen import stomp_listen

        self.assertTrue(IServiceMaker.providedBy(stomp_listen))
        self.assertTrue(IPlugin.providedBy(stomp_listen))
        self.assertEqual(stomp_listen.tapname, "stomp-listen")
        # One line in twistd --help's list.
        self.assertLessEqual(len(stomp_listen.description), 55)
        self.assertIsInstance(stomp_listen.options(), Options)
        self.assertIs(stomp_listen.makeService, tap.makeService)

    def test_cheap_import(self) -> None:
        """
        Importing the plugin module, as every twistd run does, imports
        neither the reactor nor any module of the package.
        """
        code = (
            "import sys\n"
            "import twisted.plugins.stomp_listen as plugin\n"
            "assert plugin.stomp_listen.tapname == 'stomp-listen'\n"
            "print(sorted(m for m in sys.modules if m.startswith('stomp_twisted')"
            " or m == 'twisted.internet.reactor'))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=TOP,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        self.assertEqual(result.stdout.strip(), "[]")

    def test_parsing_installs_no_reactor(self) -> None:
        """
        Parsing the options, TLS files and endpoint included, imports no
        reactor: twist installs the one it was asked for afterwards.
        """
        code = (
            "import sys\n"
            "from stomp_twisted.tap import Options\n"
            "Options().parseOptions(['-d', '/queue/a', '--no-verify'])\n"
            "Options().parseOptions(['-d', '/queue/a', '-e', 'tls:host=h:port=1'])\n"
            "print('twisted.internet.reactor' in sys.modules)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=TOP,
            env=dict(os.environ, PYTHONPATH=str(TOP)),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        self.assertEqual(result.stdout.strip(), "False")


HEADERS = {
    "destination": QUEUE,
    "message-id": "m-1",
    "subscription": "sub-1",
    "x-snowman": "\u2603",
}


class FormatTests(SynchronousTestCase):
    """
    L{format_message}: the body alone, JSON lines, and the pretty form.
    """

    def test_body(self) -> None:
        self.assertEqual(format_message(b"hello", HEADERS, "body"), b"hello\n")
        self.assertEqual(format_message(b"\xff\x00", HEADERS, "body"), b"\xff\x00\n")

    def test_json(self) -> None:
        line = format_message("h\u00e9llo\n\u2603".encode(), HEADERS, "json")
        self.assertEqual(line.count(b"\n"), 1)
        self.assertTrue(line.endswith(b"\n"))
        self.assertEqual(
            json.loads(line),
            {"destination": QUEUE, "headers": HEADERS, "body": "h\u00e9llo\n\u2603"},
        )

    def test_json_binary(self) -> None:
        """
        A body that is not UTF-8 comes as C{body_base64}, and survives.
        """
        body = bytes(range(256))
        record = json.loads(format_message(body, HEADERS, "json"))
        self.assertNotIn("body", record)
        self.assertEqual(base64.b64decode(record["body_base64"]), body)

    def test_pretty(self) -> None:
        when = 1_700_000_000.25
        text = format_message(
            b"line one\n\x1b[31mred", HEADERS, "pretty", number=3, received=when
        ).decode()
        stamp = datetime.datetime.fromtimestamp(when).astimezone()
        self.assertEqual(
            text.splitlines(),
            [
                f"=== message 3 from {QUEUE} at {stamp:%Y-%m-%d %H:%M:%S}.250 {stamp:%z}",
                f"  destination: {QUEUE}",
                "  message-id: m-1",
                "  subscription: sub-1",
                "  x-snowman: \u2603",
                "",
                "line one",
                "\\x1b[31mred",
                "",
            ],
        )

    def test_pretty_binary_and_empty(self) -> None:
        headers = {"destination": QUEUE, "x-nl": "a\nb"}
        text = format_message(b"\x00binary\xff" * 2, headers, "pretty").decode()
        self.assertIn("  x-nl: a\\nb\n", text)
        self.assertIn("(binary body, 16 bytes)\n", text)
        self.assertIn(
            "00000000  00 62 69 6e 61 72 79 ff  00 62 69 6e 61 72 79 ff  |.binary..binary.|",
            text,
        )
        self.assertIn("\n(empty body)\n", format_message(b"", headers, "pretty").decode())


class RecordingOutput:
    """
    An output that records what was written and, at each write, what the
    client had sent the broker so far: an ACK must come after its write.
    """

    def __init__(self, connection: Any = None, error: OSError | None = None) -> None:
        self.data = b""
        self.error = error
        self.connection = connection
        self.sent_before_write: list[bytes] = []
        self.flushes = 0

    def write(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        if self.connection is not None:
            self.sent_before_write.append(self.connection.transport.value())
        self.data += data
        return len(data)

    def flush(self) -> None:
        self.flushes += 1


class ServiceTests(SynchronousTestCase):
    """
    L{ListenService} on a L{MemoryReactorClock}, its client connected to a
    L{FakeEndpoint} that plays the broker.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.reactor.running = True
        self.endpoint = FakeEndpoint()
        self.connects: list[dict[str, Any]] = []
        self.events: list[LogEvent] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def connect(
        self,
        *,
        reactor: Any,
        host: str,
        port: int | None = None,
        ssl: bool = False,
        tls: TLSOptions | None = None,
        **options: Any,
    ) -> StompClient:
        # stomp_twisted.connect, on the fake endpoint.
        self.connects.append(dict(host=host, port=port, ssl=ssl, tls=tls, **options))
        client = StompClient(self.endpoint, reactor=reactor, **options)
        client.start()
        return client

    def start(self, *argv: str, output: Any = None) -> ListenService:
        options = parse(*argv)
        self.output = output if output is not None else RecordingOutput()
        service = ListenService(options, self.reactor, output=self.output, connect=self.connect)
        service.startService()
        return service

    def connected(self, version: str = "1.2") -> FakeConnection:
        connection = self.endpoint.last
        connection.sent()  # CONNECT
        connection.connected(version, server="FakeMQ/1")
        return connection

    def message(
        self, connection: FakeConnection, number: int, body: bytes = b"", sub: str = "sub-1"
    ) -> None:
        headers = {
            "destination": QUEUE,
            "message-id": f"m-{number}",
            "subscription": sub,
            "ack": f"a-{number}",
        }
        connection.receive("MESSAGE", headers, body or f"message {number}".encode())

    def logged(self) -> str:
        return "\n".join(formatEvent(event) for event in self.events)

    def logged_by_listener(self) -> str:
        return "\n".join(
            formatEvent(event)
            for event in self.events
            if event.get("log_namespace", "").startswith("stomp_twisted.tap")
        )

    def test_connect_and_subscribe(self) -> None:
        """
        On start the service connects with the options' arguments and
        subscribes to every destination once CONNECTED arrives, with
        client-individual acknowledgements (it acknowledges itself).
        """
        self.start(
            "-d", QUEUE, "-d", "/topic/b", "-u", "me", "--passcode", "pw", "--header", "x-a=1",
            "--subscribe-header", "selector=x > 1", "--count", "3",
        )  # fmt: skip
        self.assertEqual(len(self.connects), 1)
        self.assertEqual(self.connects[0]["host"], "127.0.0.1")
        connect = self.endpoint.last.sent_one()
        self.assertEqual(connect.command, "CONNECT")
        self.assertEqual(connect.headers["login"], "me")
        self.assertEqual(connect.headers["passcode"], "pw")
        self.assertEqual(connect.headers["heart-beat"], "10000,10000")
        self.assertEqual(connect.headers["accept-version"], "1.0,1.1,1.2")
        self.assertEqual(connect.headers["x-a"], "1")
        connection = self.connected()
        subscribes = connection.sent()
        self.assertEqual([f.command for f in subscribes], ["SUBSCRIBE", "SUBSCRIBE"])
        self.assertEqual([f.headers["destination"] for f in subscribes], [QUEUE, "/topic/b"])
        for frame in subscribes:
            self.assertEqual(frame.headers["ack"], "client-individual")
            self.assertEqual(frame.headers["prefetch-count"], "1")
            self.assertEqual(frame.headers["activemq.prefetchSize"], "1")
            self.assertEqual(frame.headers["selector"], "x > 1")
            self.assertNotIn("receipt", frame.headers)
        self.assertIn("connected to tcp://127.0.0.1:61613 (FakeMQ/1, STOMP 1.2)", self.logged())
        self.assertNotIn("pw", self.logged())

    def test_ack_after_write(self) -> None:
        """
        Under --ack auto each message is written and flushed, then
        acknowledged, in order.
        """
        self.start("-d", QUEUE)
        connection = self.connected()
        connection.sent()
        self.output.connection = connection
        for number in (1, 2):
            self.message(connection, number)
        self.assertEqual(self.output.data, b"message 1\nmessage 2\n")
        self.assertEqual(self.output.flushes, 2)
        acks = connection.sent()
        self.assertEqual(
            [(f.command, f.headers["id"]) for f in acks], [("ACK", "a-1"), ("ACK", "a-2")]
        )
        # When message 1 was written, nothing had been acknowledged; when
        # message 2 was, only message 1.
        self.assertNotIn(b"ACK", self.output.sent_before_write[0])
        self.assertIn(b"id:a-1", self.output.sent_before_write[1])
        self.assertNotIn(b"id:a-2", self.output.sent_before_write[1])
        self.assertTrue(all("receipt" not in f.headers for f in acks))

    def test_ack_none(self) -> None:
        """
        Under --ack none the broker acknowledges on sending: SUBSCRIBE says
        ack:auto and the listener sends no ACK.
        """
        self.start("-d", QUEUE, "--ack", "none", "--format", "json")
        connection = self.connected()
        self.assertEqual(connection.sent_one().headers["ack"], "auto")
        self.message(connection, 1, b"\xff")
        self.assertEqual(connection.sent(), [])
        record = json.loads(self.output.data)
        self.assertEqual((record["destination"], record["body_base64"]), (QUEUE, "/w=="))

    def test_ack_manual(self) -> None:
        """
        --ack manual is a peek: every message is written, none
        acknowledged, so the broker redelivers them all once the listener
        has left.
        """
        self.start("-d", QUEUE, "--ack", "manual")
        connection = self.connected()
        self.assertEqual(connection.sent_one().headers["ack"], "client-individual")
        for number in (1, 2, 3):
            self.message(connection, number)
        self.assertEqual(self.output.data.count(b"\n"), 3)
        self.assertEqual(connection.sent(), [])

    def test_stomp_10(self) -> None:
        """
        Under STOMP 1.0 too, each ACK follows the write; it names the
        message-id.
        """
        self.start("-d", QUEUE)
        connection = self.connected(version="1.0")
        self.assertEqual(connection.sent_one().command, "SUBSCRIBE")
        connection.receive(
            "MESSAGE", {"destination": QUEUE, "message-id": "m-9"}, b"old", version="1.0"
        )
        self.assertEqual(connection.sent_one(), Frame("ACK", {"message-id": "m-9"}))

    def test_stomp_10_ack_client(self) -> None:
        """
        C{--subscribe-header ack=client} reaches the SUBSCRIBE, as a
        STOMP 1.0 server that assigns message ids only under C{ack:client}
        (stompserver) needs, and each message is acknowledged once written.
        """
        self.start("-d", QUEUE, "--subscribe-header", "ack=client")
        connection = self.connected(version="1.0")
        self.assertEqual(connection.sent_one().headers["ack"], "client")
        connection.receive(
            "MESSAGE", {"destination": QUEUE, "message-id": "m-1"}, b"one", version="1.0"
        )
        self.assertEqual(self.output.data, b"one\n")
        self.assertEqual(connection.sent_one(), Frame("ACK", {"message-id": "m-1"}))

    def test_broken_output(self) -> None:
        """
        A message that cannot be written (a closed pipe) is neither
        acknowledged nor refused: the listener logs why, stops the reactor
        with exit status 1, and leaves later messages alone too.
        """
        service = self.start(
            "-d", QUEUE, output=RecordingOutput(error=BrokenPipeError(32, "Broken pipe"))
        )
        connection = self.connected()
        connection.sent()
        self.message(connection, 1)
        self.message(connection, 2)
        self.assertEqual(connection.sent(), [])
        self.assertEqual(service.exit_status, 1)
        self.assertTrue(self.reactor.hasStopped)
        self.assertIn(
            "cannot write to standard output: Broken pipe; message m-1 from /queue/a is not "
            "acknowledged: the broker will redeliver it; stopping",
            self.logged(),
        )
        # twistd then stops the service: a graceful DISCONNECT, still no ACK.
        service.stopService()
        self.assertEqual([f.command for f in connection.sent()], ["DISCONNECT"])

    def test_count(self) -> None:
        """
        --count N writes and acknowledges N messages, then stops the
        reactor with exit status 0; one the broker sent beyond them is
        neither written nor acknowledged.
        """
        service = self.start("-d", QUEUE, "--count", "2")
        connection = self.connected()
        connection.sent()
        for number in (1, 2, 3):
            self.message(connection, number)
        self.assertEqual(self.output.data, b"message 1\nmessage 2\n")
        self.assertEqual([f.headers["id"] for f in connection.sent()], ["a-1", "a-2"])
        self.assertEqual(service.exit_status, 0)
        self.assertTrue(self.reactor.hasStopped)
        self.assertEqual(service.written, 2)

    def test_graceful_stop(self) -> None:
        """
        Stopping the service (SIGTERM, SIGINT) sends DISCONNECT with a
        receipt and waits for the connection to close; a message that
        arrives meanwhile is left for the broker under --ack auto.
        """
        service = self.start("-d", QUEUE)
        connection = self.connected()
        connection.sent()
        stopped = service.stopService()
        assert stopped is not None
        disconnect = connection.sent_one()
        self.assertEqual(disconnect.command, "DISCONNECT")
        self.message(connection, 1)
        self.assertEqual(self.output.data, b"")
        self.assertEqual(connection.sent(), [])
        self.assertNoResult(stopped)
        connection.receipt(disconnect.headers["receipt"])
        self.assertIn(
            f"the broker confirmed DISCONNECT (receipt {disconnect.headers['receipt']})",
            self.logged(),
        )
        self.assertTrue(connection.closed_by_client)
        connection.lose()
        self.successResultOf(stopped)
        self.assertIsNone(service.exit_status)

    def test_graceful_stop_ack_none(self) -> None:
        """
        Under --ack none a message arriving after DISCONNECT is still
        written: the broker has already forgotten it.
        """
        service = self.start("-d", QUEUE, "--ack", "none")
        connection = self.connected()
        service.stopService()
        self.message(connection, 1)
        self.assertEqual(self.output.data, b"message 1\n")

    def test_stop_while_connecting(self) -> None:
        """
        Stopped before it ever connected, the listener stops at once.
        """
        self.endpoint.pending = True
        service = self.start("-d", QUEUE)
        stopped = service.stopService()
        assert stopped is not None
        self.successResultOf(stopped)

    def test_retries_with_backoff(self) -> None:
        """
        An unreachable broker is retried with growing delays, each failure
        and each retry logged; the listener does not give up.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        service = self.start("-d", QUEUE, "--reconnect-delay", "1", "--reconnect-max-delay", "8")
        for _ in range(20):
            self.reactor.advance(10)
        self.assertGreater(self.endpoint.attempts, 5)
        self.assertIsNone(service.exit_status)
        # The client logs each retry (and each failure, with a key that
        # trial's log capture clobbers, so it is not checked here).
        logged = self.logged()
        self.assertRegex(logged, r"reconnecting to .* in 1\.\d\d s")
        self.assertRegex(logged, r"reconnecting to .* in 2\.\d\d s")
        self.assertRegex(logged, r"reconnecting to .* in 8\.\d\d s")

    def test_gives_up(self) -> None:
        """
        After --reconnect-attempts failures the listener gives up: exit
        status 1, reactor stopped.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        service = self.start("-d", QUEUE, "--reconnect-attempts", "3")
        self.reactor.advance(1)
        self.reactor.advance(1)
        self.assertEqual(self.endpoint.attempts, 3)
        self.assertEqual(service.exit_status, 1)
        self.assertTrue(self.reactor.hasStopped)
        self.assertIn("giving up: gave up after 3 failed attempts", self.logged())

    def test_reconnects(self) -> None:
        """
        A lost connection is logged and re-established; the client
        subscribes again and messages flow as before.
        """
        service = self.start("-d", QUEUE)
        first = self.connected()
        first.lose(TCPConnectionLost())
        self.assertIn("connection lost", self.logged())
        self.reactor.advance(1)
        second = self.connected()
        self.assertIsNot(first, second)
        self.assertEqual(second.sent()[-1].headers["destination"], QUEUE)
        self.message(second, 1)
        self.assertEqual(self.output.data, b"message 1\n")
        self.assertIsNone(service.exit_status)

    def test_no_reconnect(self) -> None:
        """
        With --no-reconnect a lost connection ends the listener with exit
        status 1.
        """
        service = self.start("-d", QUEUE, "--no-reconnect")
        self.connected().lose(TCPConnectionLost())
        self.assertEqual(service.exit_status, 1)
        self.assertTrue(self.reactor.hasStopped)

    def test_broker_error(self) -> None:
        """
        An ERROR frame is logged with its message and body.
        """
        self.start("-d", QUEUE)
        connection = self.connected()
        connection.receive("ERROR", {"message": "access refused"}, b"no such vhost")
        self.assertIn("the broker sent ERROR: access refused: no such vhost", self.logged())

    def refuse(self, connection: FakeConnection, passcode: str = "") -> None:
        """
        Answer CONNECT with ERROR, as RabbitMQ does for a wrong passcode,
        and close the connection; the body echoes C{passcode}, as a
        careless broker might.
        """
        connection.sent()
        connection.receive(
            "ERROR", {"message": "Bad CONNECT"}, f"Access refused for user 'me' {passcode}".encode()
        )
        connection.lose()

    def test_refused_first_connect_exits(self) -> None:
        """
        A broker that refuses the first CONNECT ends the listener at once
        with exit status 1, its reason logged once, never the passcode
        (even when the broker echoes it).
        """
        service = self.start("-d", QUEUE, "-u", "me", "--passcode", "pw-s3cret")
        self.refuse(self.endpoint.last, "pw-s3cret")
        self.assertEqual(service.exit_status, 1)
        self.assertTrue(self.reactor.hasStopped)
        logged = self.logged()
        self.assertIn(
            "tcp://127.0.0.1:61613 refused CONNECT: Bad CONNECT (Access refused for user "
            "'me' ***); exiting with status 1 (--retry-refused keeps retrying)",
            logged,
        )
        self.assertNotIn("pw-s3cret", self.logged_by_listener())
        self.assertNotIn("the broker sent ERROR", logged)
        self.assertNotIn("Traceback", logged)
        self.assertEqual(self.endpoint.attempts, 1)

    def test_retry_refused_keeps_trying(self) -> None:
        """
        With --retry-refused each refusal is logged and retried after the
        client's refusal delay, until the broker accepts.
        """
        service = self.start("-d", QUEUE, "--retry-refused")
        self.refuse(self.endpoint.last)
        self.reactor.advance(6)
        self.assertEqual(self.endpoint.attempts, 2)
        self.refuse(self.endpoint.last)
        self.reactor.advance(12)
        self.assertEqual(self.endpoint.attempts, 3)
        self.assertIsNone(service.exit_status)
        self.assertFalse(self.reactor.hasStopped)
        self.assertEqual(self.logged().count("retrying (--retry-refused)"), 2)
        connection = self.connected()
        self.assertEqual(connection.sent_one().command, "SUBSCRIBE")
        self.message(connection, 1)
        self.assertEqual(self.output.data, b"message 1\n")

    def test_refused_after_connected_retries(self) -> None:
        """
        Once the broker has accepted the listener, a later refusal (a
        passcode changed meanwhile) is retried with back-off, as a lost
        connection is.
        """
        service = self.start("-d", QUEUE)
        self.connected().lose(TCPConnectionLost())
        self.reactor.advance(1)
        self.refuse(self.endpoint.last)
        self.assertIsNone(service.exit_status)
        self.assertIn("retrying (it was accepted before)", self.logged())
        self.reactor.advance(6)
        self.connected()
        self.assertEqual(self.endpoint.attempts, 3)
        self.assertIsNone(service.exit_status)

    def test_retry_refused_gives_up(self) -> None:
        """
        --retry-refused still counts --reconnect-attempts: the listener
        gives up with exit status 1 after them.
        """
        service = self.start("-d", QUEUE, "--retry-refused", "--reconnect-attempts", "2")
        self.refuse(self.endpoint.last)
        self.reactor.advance(6)
        self.refuse(self.endpoint.last)
        self.assertEqual(service.exit_status, 1)
        self.assertIn("giving up: gave up after 2 failed attempts", self.logged())

    def test_pretty_numbers_and_times(self) -> None:
        """
        The pretty format numbers messages and stamps them with the
        reactor's time.
        """
        self.reactor.advance(1_700_000_000)
        self.start("-d", QUEUE, "-f", "pretty")
        connection = self.connected()
        self.message(connection, 1)
        self.message(connection, 2)
        text = self.output.data.decode()
        self.assertIn(f"=== message 2 from {QUEUE} at ", text)
        stamp = datetime.datetime.fromtimestamp(1_700_000_000).astimezone()
        self.assertIn(f"at {stamp:%Y-%m-%d %H:%M:%S}.000", text)

    def test_output_file(self) -> None:
        """
        --output appends to the file (made in advance by the parser),
        synced with --fsync before each acknowledgement, and closed once
        the listener has disconnected.
        """
        path = os.path.abspath(self.mktemp())
        Path(path).write_bytes(b"earlier\n")
        synced: list[int] = []
        self.patch(tap.os, "fsync", synced.append)
        options = parse("-d", QUEUE, "-o", path, "--fsync")
        service = ListenService(options, self.reactor, connect=self.connect)
        service.startService()
        connection = self.connected()
        self.message(connection, 1)
        self.assertEqual(len(synced), 1)
        self.assertEqual(Path(path).read_bytes(), b"earlier\nmessage 1\n")
        stopped = service.stopService()
        assert stopped is not None
        connection.lose()
        self.successResultOf(stopped)
        self.assertTrue(service._opened.closed)

    def test_make_service(self) -> None:
        """
        L{tap.makeService} uses the global reactor and arranges for a failed
        listener's status to become the process's exit status.
        """
        registered: list[tuple[Any, ...]] = []
        self.patch(tap.atexit, "register", lambda *args: registered.append(args))
        service = tap.makeService(parse("-d", QUEUE))
        from twisted.internet import reactor

        self.assertIs(service._reactor, reactor)
        self.assertEqual(registered, [(tap._exit_on_failure, service)])
        exits: list[int] = []
        self.patch(tap.os, "_exit", exits.append)
        tap._exit_on_failure(service)
        service.exit_status = 0
        tap._exit_on_failure(service)
        self.assertEqual(exits, [])
        service.exit_status = 1
        tap._exit_on_failure(service)
        self.assertEqual(exits, [1])

    def test_stdout(self) -> None:
        """
        Without --output the service writes, unbuffered, to a duplicate of
        file descriptor 1.
        """
        read_end, write_end = os.pipe()
        saved = os.dup(1)
        self.addCleanup(os.close, saved)
        self.addCleanup(os.close, read_end)
        os.dup2(write_end, 1)
        os.close(write_end)
        try:
            service = ListenService(parse("-d", QUEUE), self.reactor, connect=self.connect)
            service.startService()
        finally:
            os.dup2(saved, 1)
        connection = self.connected()
        self.message(connection, 1)
        self.assertEqual(os.read(read_end, 100), b"message 1\n")
        connection.sent()
        stopped = service.stopService()
        assert stopped is not None
        connection.lose()
        self.successResultOf(stopped)
        self.assertTrue(service._opened.closed)
