"""A local certificate authority and the HTTPS server certificate the three services share.

Written once into the data dir (ca.pem, server.pem, server-key.pem) and reused; regenerated when a
file is missing, a certificate is about to expire or the server certificate does not name the host the
services listen on (`SANDBOX_HOST`, e.g. `sandbox` in docker-compose). Clients trust `ca.pem`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=825)
RENEW_BEFORE = dt.timedelta(days=7)
SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def ensure_certificates(data_dir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """Return the CA and server certificate files in `data_dir`, creating them when needed; the server
    certificate names `host` besides localhost and the loopback addresses."""
    data_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    ca_key_file = data_dir / "ca-key.pem"
    if _usable(files.ca_file) and ca_key_file.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key)
        _write_private(ca_key_file, _private_pem(ca_key))
        _write(files.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM))
        files.cert_file.unlink(missing_ok=True)  # signed by the old CA
    names = server_names(host)
    if not (
        _usable(files.cert_file)
        and files.key_file.exists()
        and _signed_by(files.cert_file, ca_cert)
        and _names_of(files.cert_file) >= set(names)
    ):
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _server_certificate(server_key, ca_cert, ca_key, names)  # type: ignore[arg-type]
        _write_private(files.key_file, _private_pem(server_key))
        _write(files.cert_file, server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _usable(cert_file: Path) -> bool:
    if not cert_file.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > _now()


def server_names(host: str) -> tuple[x509.GeneralName, ...]:
    """The names the server certificate holds: localhost, the loopback addresses and `host`."""
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_ADDRESSES]
    host = host.strip("[]")
    try:
        extra: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        extra = x509.DNSName(host)
    # A wildcard address (0.0.0.0, ::) is where to listen, not a name a client connects to.
    if extra not in names and host not in ("0.0.0.0", "::"):
        names.append(extra)
    return tuple(names)


def _names_of(cert_file: Path) -> set[x509.GeneralName]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _signed_by(cert_file: Path, ca_cert: x509.Certificate) -> bool:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.issuer == ca_cert.subject


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bcsync sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "bcsync sandbox local CA"),
        ]
    )
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    alt_names: tuple[x509.GeneralName, ...],
) -> x509.Certificate:
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(list(alt_names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, content: bytes) -> None:
    # Write-then-rename so a concurrent reader never sees half a PEM file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)


def _write_private(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    temporary.replace(path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
