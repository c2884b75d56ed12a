"""
Throwaway certificates for tests that need one on disk.
"""

from __future__ import annotations

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(
    directory: str, name: str = "localhost", *, alt_name: bool = False
) -> tuple[str, str]:
    """
    A self-signed certificate for C{name}, valid for a day, and its key,
    as PEM files C{name.pem} and C{name.key} in C{directory}.

    @param alt_name: also name C{name} as a DNS subjectAltName, as
        service_identity's host name verification wants (the files are
        then C{name-san.pem} and C{name-san.key}).
    @return: the certificate's and the key's paths.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if alt_name:
        certificate = certificate.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    signed = certificate.sign(key, hashes.SHA256())
    stem = f"{name}-san" if alt_name else name
    cert_file = os.path.join(directory, f"{stem}.pem")
    key_file = os.path.join(directory, f"{stem}.key")
    with open(cert_file, "wb") as file:
        file.write(signed.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_file, key_file
