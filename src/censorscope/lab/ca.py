"""Certificate authorities made per lab run: one the probe trusts (the sites'), and one
it does not (the ISPs' interception CA, for man-in-the-middle)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_PEM = serialization.Encoding.PEM


class Authority:
    """A CA that issues leaf certificates on demand; all leaves share one key (speed)."""

    def __init__(self, name: str, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        slug = name.lower().replace(" ", "-")
        self.ca_file = self.dir / f"{slug}-ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(_PEM))
        self.key_file = self.dir / f"{slug}-leaf-key.pem"
        self.key_file.write_bytes(
            self._leaf_key.private_bytes(
                _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}

    def issue(self, names: tuple[str, ...]) -> Path:
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(self._key, hashes.SHA256())
        )
        path = self.dir / f"{abs(hash(names)):x}.pem"
        path.write_bytes(cert.public_bytes(_PEM) + self.cert.public_bytes(_PEM))
        return path

    def server_context(self, names: tuple[str, ...]) -> ssl.SSLContext:
        """A server context presenting a certificate for `names`, made once and cached."""
        ctx = self._contexts.get(names)
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.issue(names), self.key_file)
            ctx.set_alpn_protocols(["http/1.1"])
            self._contexts[names] = ctx
        return ctx
