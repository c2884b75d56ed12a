"""
Building the Twisted client endpoints a STOMP client connects through:
plain TCP, TLS verified by default, lists of brokers and endpoint
description strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet.endpoints import HostnameEndpoint, clientFromString, wrapClientTLS
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IStreamClientEndpoint
from twisted.logger import Logger
from zope.interface import implementer

from .errors import BadArgument
from .failover import BrokerAddress, FailoverEndpoint

__all__ = ["TLSOptions", "broker_endpoint", "client_endpoint", "is_endpoint_description"]

_log = Logger()

# Prefixes of Twisted endpoint description strings ("tcp:host=h:port=1").
_DESCRIPTION_PREFIXES = ("tcp:", "tcp6:", "tls:", "ssl:", "unix:")


@dataclass(frozen=True)
class TLSOptions:
    """
    How to set up TLS to a broker.  By default the broker's certificate
    must chain to the platform's trusted roots and name the host connected
    to (checked by C{service_identity}).

    @ivar ca_file: a PEM file of the certificate authorities to trust
        instead of the platform's (a private broker's CA).
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

    def creator(self, host: str) -> IOpenSSLClientConnectionCreator:
        """
        The TLS connection creator for a connection to C{host}.

        @raise BadArgument: if a file cannot be read or parsed.
        """
        from twisted.internet import ssl

        name = self.server_name or host
        client_certificate = None
        if self.cert_file is not None:
            try:
                pem = _read(self.cert_file)
                if self.key_file is not None:
                    pem += b"\n" + _read(self.key_file)
                client_certificate = ssl.PrivateCertificate.loadPEM(pem)  # type: ignore[no-untyped-call]
            except Exception as error:
                raise BadArgument(
                    f"cannot load client certificate {self.cert_file}: {error}"
                ) from None
        if not self.verify:
            return _UnverifiedTLS(name, client_certificate)
        trust: Any = None
        if self.ca_file is not None:
            try:
                trust = ssl.trustRootFromCertificates(  # type: ignore[no-untyped-call]
                    [ssl.Certificate.loadPEM(pem) for pem in _pem_blocks(_read(self.ca_file))]
                )
            except Exception as error:
                raise BadArgument(f"cannot load CA file {self.ca_file}: {error}") from None
        return ssl.optionsForClientTLS(name, trustRoot=trust, clientCertificate=client_certificate)


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _pem_blocks(data: bytes) -> list[bytes]:
    end = b"-----END CERTIFICATE-----"
    blocks = [block + end for block in data.split(end) if b"-----BEGIN CERTIFICATE-----" in block]
    if not blocks:
        raise ValueError("no PEM certificate in it")
    return blocks


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
            "TLS to {name} is NOT verified (verify=False): use this for development only",
            name=self._server_name,
        )
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tlsProtocol)
        if not _is_ip_address(self._server_name):
            connection.set_tlsext_host_name(self._server_name.encode("idna"))
        return connection


def _is_ip_address(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def client_endpoint(
    reactor: Any,
    host: str,
    port: int,
    *,
    ssl: bool = False,
    tls: TLSOptions | None = None,
    timeout: float = 30,
) -> IStreamClientEndpoint:
    """
    An endpoint for C{host}:C{port}, over TLS if C{ssl} is true (with
    C{tls}, or verified against the platform's roots by default).
    """
    endpoint: IStreamClientEndpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    if ssl:
        endpoint = wrapClientTLS((tls or TLSOptions()).creator(host), endpoint)
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
) -> FailoverEndpoint:
    """
    A L{FailoverEndpoint} over C{brokers}: addresses, or Twisted endpoint
    description strings.
    """
    endpoints: list[IStreamClientEndpoint] = []
    names: list[str] = []
    for broker in brokers:
        if isinstance(broker, str):
            try:
                endpoints.append(clientFromString(reactor, broker))  # type: ignore[no-untyped-call]
            except (ValueError, TypeError, KeyError) as error:
                raise BadArgument(f"bad endpoint description {broker!r}: {error}") from None
            names.append(broker)
        else:
            endpoints.append(
                client_endpoint(reactor, broker.host, broker.port, ssl=broker.ssl, tls=tls)
            )
            names.append(str(broker))
    return FailoverEndpoint(endpoints, names, randomize=randomize)
