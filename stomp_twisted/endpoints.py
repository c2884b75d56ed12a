"""
Building the Twisted client endpoints a STOMP client connects through:
plain TCP, TLS verified by default, WebSocket (C{ws://}, C{wss://}),
lists of brokers and endpoint description strings.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, clientFromString
from twisted.internet.interfaces import (
    IHandshakeListener,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from .errors import BadArgument, NotConnected, TLSError
from .failover import BrokerAddress, FailoverEndpoint
from .frame import VERSIONS
from .resolve import BrokerNameResolver, ResolvingReactor

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "TLSOptions",
    "TimeoutEndpoint",
    "broker_endpoint",
    "client_endpoint",
    "is_endpoint_description",
]

_log = Logger()

# Prefixes of Twisted endpoint description strings ("tcp:host=h:port=1").
_DESCRIPTION_PREFIXES = ("tcp:", "tcp6:", "tls:", "ssl:", "unix:")

DEFAULT_CONNECT_TIMEOUT = 30.0
"""
Seconds L{broker_endpoint}'s endpoints give a connection attempt (name
resolution and TCP connection), unless told otherwise: the default of
L{StompClient<stomp_twisted.client.StompClient>}'s C{connect_timeout}.
"""


@dataclass(frozen=True)
class TLSOptions:
    """
    How to set up TLS to a broker.  By default the broker's certificate
    must chain to the platform's trusted roots and name the host connected
    to (checked by C{service_identity}).

    @ivar ca_file: a PEM file of the certificate authorities to trust
        instead of the platform's (a private broker's CA).  The file
        options may also be given as L{os.PathLike} objects.
    @ivar cert_file: a PEM client certificate to present when the broker
        asks for one.
    @ivar key_file: the PEM private key of C{cert_file}; C{cert_file}
        itself if omitted (a file holding both).
    @ivar server_name: the name to send as SNI and to verify, if not the
        host connected to.
    @ivar verify: C{False} turns verification off, for development only:
        anyone on the path can then read and change the traffic.  A
        warning is logged on every connection made so.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        for name in ("ca_file", "cert_file", "key_file", "server_name"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike) and name != "server_name":
                value = os.fspath(value)
                object.__setattr__(self, name, value)  # frozen
            if value is not None and (not isinstance(value, str) or not value):
                raise BadArgument(f"TLSOptions {name} must be a non-empty str, not {value!r}")
        if self.key_file is not None and self.cert_file is None:
            raise BadArgument("TLSOptions key_file needs a cert_file (the certificate of the key)")
        if not isinstance(self.verify, bool):
            raise BadArgument(f"TLSOptions verify must be True or False, not {self.verify!r}")

    def creator(self, host: str) -> IOpenSSLClientConnectionCreator:
        """
        The TLS connection creator for a connection to C{host}.

        @raise BadArgument: if a file cannot be read or parsed, or the
            client certificate and key do not match.
        """
        from twisted.internet import ssl

        name = self.server_name or host
        client_certificate = None
        if self.cert_file is not None:
            cert_pem = _read_file(self.cert_file, "client certificate")
            if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
                raise BadArgument(f"no PEM certificate in client certificate {self.cert_file}")
            if self.key_file is None:
                key_pem, key_source = cert_pem, self.cert_file
            else:
                key_pem, key_source = _read_file(self.key_file, "client key"), self.key_file
            if b"PRIVATE KEY-----" not in key_pem:
                raise BadArgument(
                    f"no PEM private key in {key_source}: pass the client certificate's key"
                    " as TLSOptions(key_file=...)"
                )
            pem = cert_pem if self.key_file is None else cert_pem + b"\n" + key_pem
            try:
                client_certificate = ssl.PrivateCertificate.loadPEM(pem)  # type: ignore[no-untyped-call]
            except Exception as error:
                raise BadArgument(
                    f"cannot load client certificate {self.cert_file} with key {key_source}:"
                    f" {_describe(error)}"
                ) from None
        if not self.verify:
            return _UnverifiedTLS(name, client_certificate)
        trust: Any = None
        if self.ca_file is not None:
            ca_pem = _read_file(self.ca_file, "CA file")
            try:
                trust = ssl.trustRootFromCertificates(  # type: ignore[no-untyped-call]
                    [ssl.Certificate.loadPEM(pem) for pem in _pem_blocks(ca_pem)]
                )
            except Exception as error:
                raise BadArgument(
                    f"cannot load CA file {self.ca_file}: {_describe(error)}"
                ) from None
        return ssl.optionsForClientTLS(name, trustRoot=trust, clientCertificate=client_certificate)


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise BadArgument(f"cannot read {what} {path}: {error.strerror or error}") from None


def _pem_blocks(data: bytes) -> list[bytes]:
    end = b"-----END CERTIFICATE-----"
    blocks = [block + end for block in data.split(end) if b"-----BEGIN CERTIFICATE-----" in block]
    if not blocks:
        raise ValueError("no PEM certificate in it")
    return blocks


def _describe(error: Exception) -> str:
    # OpenSSL errors print as a list of (library, function, reason) tuples.
    from OpenSSL import SSL

    if isinstance(error, SSL.Error) and error.args and isinstance(error.args[0], list):
        reasons = [str(entry[-1]) for entry in error.args[0] if isinstance(entry, tuple)]
        if reasons:
            return "; ".join(reasons)
    return str(error) or type(error).__name__


@implementer(IOpenSSLClientConnectionCreator)
class _UnverifiedTLS:
    # TLS without verification, for development against a broker with a
    # self-signed certificate; Twisted's own helpers always verify.
    def __init__(self, server_name: str, client_certificate: Any) -> None:
        from twisted.internet import ssl

        options: dict[str, Any] = {"verify": False}
        if client_certificate is not None:
            options["privateKey"] = client_certificate.privateKey.original
            options["certificate"] = client_certificate.original
        self._context = ssl.CertificateOptions(**options).getContext()
        self._server_name = server_name

    def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
        from OpenSSL import SSL

        _log.warn(
            "TLS to {name} is NOT verified (verify=False): anyone on the path can read and"
            " change the traffic; use this for development only",
            name=self._server_name,
        )
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tlsProtocol)
        if not _is_ip_address(self._server_name):
            connection.set_tlsext_host_name(self._server_name.encode("idna"))
        return connection


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


# --- telling users why a TLS connection failed --------------------------------
#
# OpenSSL reports any refused certificate as "certificate verify failed", a
# name mismatch arrives as service_identity's repr, and a broker refusing a
# missing client certificate under TLS 1.3 just closes the connection.  The
# endpoint below puts a TLSError saying what went wrong, and what to
# change, in place of those.


def _untrusted(connection: Any, options: TLSOptions) -> str:
    # Verify the chain the broker sent against the trust store the
    # handshake used, this time to learn why it fails.
    from OpenSSL import crypto

    chain = connection.get_peer_cert_chain() or []
    if not chain:
        return "the broker sent no certificate"
    leaf = chain[0].to_cryptography()
    text = (
        f"the broker's certificate ({leaf.subject.rfc4514_string()}, issued by"
        f" {leaf.issuer.rfc4514_string()}) is not trusted"
    )
    store = connection.get_context().get_cert_store()
    try:
        crypto.X509StoreContext(store, chain[0], chain[1:]).verify_certificate()
    except crypto.X509StoreContextError as error:
        code, _depth, reason = error.errors
        culprit = error.certificate.to_cryptography()
        text += f": {reason} (at {culprit.subject.rfc4514_string()})"
        if code in _unknown_issuer_codes():
            if options.ca_file is None:
                text += (
                    "; no CA the platform trusts signed it: for a broker with a private CA,"
                    " pass that CA's PEM file as TLSOptions(ca_file=...)"
                )
            else:
                text += f"; no CA in {options.ca_file} signed it"
    return text


def _unknown_issuer_codes() -> frozenset[int]:
    from OpenSSL.SSL import X509VerificationCodes as V

    return frozenset(
        (
            V.ERR_UNABLE_TO_GET_ISSUER_CERT,
            V.ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            V.ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
            V.ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            V.ERR_SELF_SIGNED_CERT_IN_CHAIN,
        )
    )


def _certificate_names(connection: Any) -> list[str]:
    from cryptography import x509

    chain = connection.get_peer_cert_chain() or []
    if not chain:
        return []
    certificate = chain[0].to_cryptography()
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [certificate.subject.rfc4514_string()]  # no SAN: only its subject
    return [str(name) for name in sans.get_values_for_type(x509.DNSName)] + [
        str(address) for address in sans.get_values_for_type(x509.IPAddress)
    ]


def _client_cas(connection: Any) -> list[str]:
    # The CAs the broker named in its certificate request, if it sent one.
    try:
        names = connection.get_client_ca_list(as_cryptography=True)
    except TypeError:  # pyOpenSSL < 25
        return [
            ",".join(f"{k.decode()}={v.decode()}" for k, v in name.get_components())
            for name in connection.get_client_ca_list()
        ]
    return [name.rfc4514_string() for name in names]


def _explain(
    reason: Failure,
    connection: Any,
    *,
    received: bool,
    closing: bool,
    options: TLSOptions,
    address: str,
    name: str,
) -> str | None:
    """
    What went wrong, for a user, if the TLS layer explains C{reason}.

    @param received: whether any data came through the connection.
    @param closing: whether this side closed the connection.
    """
    from OpenSSL import SSL
    from service_identity import VerificationError

    error = reason.value
    prefix = f"TLS to {address} failed: "
    if isinstance(error, VerificationError):
        names = ", ".join(_certificate_names(connection)) or "no name"
        return (
            f"{prefix}host name verification failed: the broker's certificate is for {names},"
            f" not {name!r}; connect to a name it has, or set TLSOptions(server_name=...)"
        )
    detail = _describe(error) if isinstance(error, SSL.Error) else ""
    if "certificate verify failed" in detail:
        return f"{prefix}certificate verification failed: {_untrusted(connection, options)}"
    # A broker refusing a client certificate (or its absence) sends an
    # alert; under TLS 1.3 some (Java's) just close the connection, which
    # says as much if it came right after a certificate request.
    cas = _client_cas(connection)
    alerts = ("certificate required", "bad certificate", "unknown ca", "certificate unknown")
    if any(alert in detail for alert in alerts) or (cas and not received and not closing):
        asked = "the broker asks for a client certificate"
        if cas:
            asked += f" issued by {' or '.join(cas)}"
        if options.cert_file is None:
            return (
                f"{prefix}{asked} and none was given ({detail or 'it closed the connection'});"
                " set TLSOptions(cert_file=..., key_file=...)"
            )
        if detail:
            return f"{prefix}{asked} and refused {options.cert_file} ({detail})"
        return f"{prefix}{asked} and closed the connection, probably refusing {options.cert_file}"
    if detail:
        text = f"{prefix}{detail}"
        # What OpenSSL makes of plain text (a STOMP frame, an HTTP reply).
        plain = ("wrong version number", "packet length too long", "http", "unknown protocol")
        if any(hint in detail for hint in plain):
            text += f" (the broker did not answer in TLS: is {address} a TLS port?)"
        return text
    return None


@implementer(IHandshakeListener)
class _ExplainingProtocol(ProtocolWrapper):
    # Between the TLS layer and the STOMP protocol: replaces the TLS
    # layer's failures by a TLSError that says what went wrong.
    factory: _ExplainingFactory
    _received = False
    _handshake_done = False

    def handshakeCompleted(self) -> None:
        self._handshake_done = True
        if IHandshakeListener.providedBy(self.wrappedProtocol):
            self.wrappedProtocol.handshakeCompleted()

    def loseConnection(self) -> None:
        # The TLS layer would wait for the handshake to finish, to send the
        # CONNECT frame written meanwhile: forever, if the peer never
        # answers (not a TLS port, a stuck broker).  Nothing written before
        # the handshake matters once the client gives up: abort.
        transport: Any = self.transport  # the TLS layer
        if not self._handshake_done and transport is not None:
            self.disconnecting = 1
            transport.abortConnection()
        else:
            super().loseConnection()  # type: ignore[no-untyped-call]

    def dataReceived(self, data: bytes) -> None:
        self._received = True
        super().dataReceived(data)  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        transport: Any = self.transport  # the TLS layer
        connection = transport.getHandle() if transport is not None else None
        message = None
        if connection is not None:
            try:
                message = self.factory.explain(
                    reason, connection, received=self._received, closing=bool(self.disconnecting)
                )
            except Exception:
                _log.failure("cannot explain the TLS failure {reason}", reason=reason)
        if message is not None:
            explained = TLSError(message)
            explained.__cause__ = reason.value
            reason = Failure(explained)  # type: ignore[no-untyped-call]
        super().connectionLost(reason)  # type: ignore[no-untyped-call]


class _ExplainingFactory(WrappingFactory[_ExplainingProtocol]):
    protocol = _ExplainingProtocol

    def __init__(
        self, wrapped: IProtocolFactory, options: TLSOptions, address: str, name: str
    ) -> None:
        super().__init__(wrapped)  # type: ignore[no-untyped-call]
        self._options = options
        self._address = address
        self._name = name

    def explain(
        self, reason: Failure, connection: Any, *, received: bool, closing: bool
    ) -> str | None:
        return _explain(
            reason,
            connection,
            received=received,
            closing=closing,
            options=self._options,
            address=self._address,
            name=self._name,
        )


@implementer(IStreamClientEndpoint)
class _TLSEndpoint:
    # wrapClientTLS, with failures explained and closing before the
    # handshake ends made prompt (see _ExplainingProtocol).
    def __init__(
        self, endpoint: IStreamClientEndpoint, options: TLSOptions, host: str, port: int
    ) -> None:
        self._creator = options.creator(host)
        self._endpoint = endpoint
        self._options = options
        self._address = f"{host}:{port}"
        self._name = options.server_name or host

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        from twisted.protocols.tls import TLSMemoryBIOFactory

        explaining = _ExplainingFactory(protocolFactory, self._options, self._address, self._name)
        tls = TLSMemoryBIOFactory(self._creator, True, explaining)
        return self._endpoint.connect(tls).addCallback(_innermost)

    def progress(self) -> str | None:
        """
        How far the current attempt got, from the endpoint beneath.
        """
        return _progress(self._endpoint)


def _innermost(protocol: IProtocol) -> IProtocol:
    # TLS layer -> _ExplainingProtocol -> the factory's protocol
    tls: Any = protocol
    return cast(IProtocol, tls.wrappedProtocol.wrappedProtocol)


@implementer(IStreamClientEndpoint)
class _HostEndpoint:
    # A HostnameEndpoint resolving with BrokerNameResolver (see
    # stomp_twisted.resolve: it works under asyncio.run() too), which
    # remembers how far the latest attempt got.
    def __init__(self, reactor: Any, host: str, port: int, timeout: float) -> None:
        self._resolver = BrokerNameResolver(reactor)
        resolving = ResolvingReactor(reactor, self._resolver)
        self._endpoint = HostnameEndpoint(resolving, host, port, timeout=timeout)
        self._host = host
        self._port = port

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        self._resolver.last_resolution = f"resolving {self._host!r} did not finish"
        return self._endpoint.connect(protocolFactory)

    def progress(self) -> str | None:
        """
        How far the latest attempt got: resolving the name, or connecting
        to the addresses it resolved to.
        """
        return self._resolver.last_resolution

    def __repr__(self) -> str:
        return f"<HostEndpoint {self._host}:{self._port}>"


def _progress(endpoint: object) -> str | None:
    progress = getattr(endpoint, "progress", None)
    return progress() if callable(progress) else None


@implementer(IStreamClientEndpoint)
class TimeoutEndpoint:
    """
    An endpoint whose connection attempts fail with L{NotConnected} after
    C{timeout} seconds: the attempt is cancelled, whatever it was doing
    (resolving the name, connecting, ...), and the message says how far
    it got when the endpoint beneath can tell (those of
    L{client_endpoint} can).

    @ivar timeout: the seconds an attempt may take.
    """

    def __init__(
        self, reactor: Any, endpoint: IStreamClientEndpoint, timeout: float, name: str
    ) -> None:
        """
        @param reactor: the
            L{IReactorTime<twisted.internet.interfaces.IReactorTime>} that
            times the attempts.
        @param endpoint: the endpoint to connect through.
        @param timeout: seconds (more than 0).
        @param name: what the endpoint connects to, for messages.
        @raise BadArgument: if C{timeout} is not a number above 0.
        """
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < float("inf")
        ):
            raise BadArgument(f"an endpoint timeout must be a number above 0, not {timeout!r}")
        self._reactor = reactor
        self._endpoint = endpoint
        self.timeout = timeout
        self._name = name

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        attempt = self._endpoint.connect(protocolFactory)
        return attempt.addTimeout(self.timeout, self._reactor, onTimeoutCancel=self._timed_out)

    def _timed_out(self, result: IProtocol | Failure, timeout: float) -> IProtocol | Failure:
        # Called once the attempt was cancelled for taking too long, with
        # what the cancellation made of it (a DNSLookupError if it was
        # resolving, a ConnectingCancelledError if connecting).
        if not isinstance(result, Failure):
            return result  # connected as it was being cancelled
        progress = _progress(self._endpoint)
        message = f"no connection to {self._name} within {timeout:g} s (connect_timeout)"
        if progress is not None:
            message += f": {progress}"
        _log.debug("{message}; the attempt ended with {reason}", message=message, reason=result)
        return Failure(NotConnected(message))  # type: ignore[no-untyped-call]

    def progress(self) -> str | None:
        """
        How far the latest attempt got, from the endpoint beneath.
        """
        return _progress(self._endpoint)

    def __repr__(self) -> str:
        return f"<TimeoutEndpoint {self.timeout:g} s over {self._endpoint!r}>"


def client_endpoint(
    reactor: Any,
    host: str,
    port: int,
    *,
    ssl: bool = False,
    tls: TLSOptions | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> IStreamClientEndpoint:
    """
    An endpoint for C{host}:C{port}, over TLS if C{ssl} is true (with
    C{tls}, or verified against the platform's roots by default).  A TLS
    connection that fails is lost with a L{TLSError} saying why.

    Host names are resolved without the reactor's thread pool when that
    pool cannot run: under C{asyncio.run()} with the asyncio reactor
    installed on the running loop (see L{stomp_twisted.resolve}); IP
    addresses need no resolution at all.

    @param timeout: seconds each TCP connection attempt may take (one per
        address the name resolves to).  To bound the whole attempt, name
        resolution included, wrap the endpoint in a L{TimeoutEndpoint}
        (L{broker_endpoint} does).
    @raise BadArgument: if C{tls} names files that cannot be loaded.
    """
    endpoint: IStreamClientEndpoint = _HostEndpoint(reactor, host, port, timeout)
    if ssl:
        endpoint = _TLSEndpoint(endpoint, tls or TLSOptions(), host, port)
    return endpoint


def is_endpoint_description(text: str) -> bool:
    """
    Whether C{text} looks like a Twisted endpoint description string
    (C{"tls:host=broker:port=61612"}) rather than a host name.
    """
    return text.startswith(_DESCRIPTION_PREFIXES) and "://" not in text


def broker_endpoint(
    reactor: Any,
    brokers: Sequence[BrokerAddress | str],
    *,
    tls: TLSOptions | None = None,
    randomize: bool = False,
    timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    versions: Sequence[str] = VERSIONS,
    websocket_headers: Mapping[str, str] | None = None,
) -> FailoverEndpoint:
    """
    A L{FailoverEndpoint} over C{brokers}: addresses, or Twisted endpoint
    description strings.  An address with a C{path} (C{ws://} or
    C{wss://}) is reached over WebSocket (L{stomp_twisted.websocket}),
    through the same TCP or TLS endpoint as any other.

    @param timeout: seconds a connection attempt may take, name
        resolution and TCP connection included (the TLS handshake and the
        STOMP one come after, under the client's C{connect_timeout}); an
        attempt still going after that fails with L{NotConnected}.
        C{None}: no such bound.  For a WebSocket broker, the bound also
        covers the TLS and WebSocket handshakes.
    @param versions: the STOMP versions the client offers: a WebSocket
        broker is offered their subprotocols (C{v12.stomp}, ...).
    @param websocket_headers: extra headers of the WebSocket opening
        handshake (C{Origin}, ...), for the WebSocket brokers.
    @raise BadArgument: for a description string Twisted cannot parse, a
        TLS file that cannot be loaded, a C{timeout} that is not a
        number above 0, or a WebSocket broker without autobahn installed
        (the message names the C{websocket} extra).
    """
    endpoints: list[IStreamClientEndpoint] = []
    names: list[str] = []
    for broker in brokers:
        endpoint: IStreamClientEndpoint
        if isinstance(broker, str):
            try:
                endpoint = clientFromString(reactor, broker)  # type: ignore[no-untyped-call]
            except (ValueError, TypeError, KeyError) as error:
                raise BadArgument(f"bad endpoint description {broker!r}: {error}") from None
            name = broker
        else:
            endpoint = client_endpoint(reactor, broker.host, broker.port, ssl=broker.ssl, tls=tls)
            name = str(broker)
            if broker.path is not None:
                from .websocket import WebSocketEndpoint

                endpoint = WebSocketEndpoint(
                    reactor, endpoint, broker, versions=versions, headers=websocket_headers
                )
        if timeout is not None:
            endpoint = TimeoutEndpoint(reactor, endpoint, timeout, name)
        endpoints.append(endpoint)
        names.append(name)
    return FailoverEndpoint(endpoints, names, randomize=randomize)
