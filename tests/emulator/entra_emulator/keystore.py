"""Keys and certificates the emulator keeps in its state directory across restarts.

The token-signing key, the federation issuers' keys and the generated app certificates are
created on first use and written into the state directory (keys 0600), so an emulator restarted
with the same ``--state-dir`` still accepts what it issued before and clients keep their
certificate files.  Nothing here is ever committed: the state directory is a run-time directory.
Without a state directory (unit tests) everything lives in memory only.
"""

import base64
import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def write_file(path, data, mode=0o644):
    """Write atomically with ``mode`` (0600 for keys)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def key_pem(key):
    """PKCS#8 PEM of a private key, unencrypted."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    """PEM of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def thumbprints(cert):
    """``(sha1 hex, sha256 hex)`` upper-case, as the portal shows thumbprints."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return (hashlib.sha1(der).hexdigest().upper(),  # nosec - x5t is defined as a SHA-1 thumbprint
            hashlib.sha256(der).hexdigest().upper())


def b64url_thumbprint(hex_thumbprint):
    """A hex thumbprint as JOSE's ``x5t`` / ``x5t#S256`` header writes it (unpadded base64url of the bytes)."""
    return base64.urlsafe_b64encode(bytes.fromhex(hex_thumbprint)).rstrip(b"=").decode("ascii")


def subject_name(common_name):
    """The emulator's X.509 name: its organisation and ``common_name``."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Entra emulator (test only)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def self_signed(key, common_name, not_before, not_after):
    """A self-signed certificate for ``key`` valid between two aware datetimes."""
    builder = (x509.CertificateBuilder().subject_name(subject_name(common_name)).issuer_name(subject_name(common_name))
               .not_valid_before(not_before).not_valid_after(not_after)
               .public_key(key.public_key()).serial_number(x509.random_serial_number()))
    return builder.sign(key, hashes.SHA256())


def validity(days=365, expired=False):
    """``(not_before, not_after)``: valid from 5 minutes ago for ``days``, or ended a day ago."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        return now - datetime.timedelta(days=days + 1), now - datetime.timedelta(days=1)
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def read_certificate(path):
    """The first certificate of a PEM file (which may also hold a key)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE-----"):])


def key_and_certificate(state_dir, stem, common_name, days=365, expired=False):
    """``(private key, certificate, pem path)`` kept in ``state_dir/stem.pem`` (key then certificate, 0600).

    An existing file is reused, so a restart keeps the same key and certificate; ``pem path`` is None
    without a state directory.
    """
    path = os.path.join(state_dir, stem + ".pem") if state_dir else None
    if path and os.path.exists(path):
        with open(path, "rb") as handle:
            data = handle.read()
        key = serialization.load_pem_private_key(data, password=None)
        cert = x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE-----"):])
        return key, cert, path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, common_name, *validity(days, expired))
    if path:
        write_file(path, key_pem(key) + cert_pem(cert), 0o600)
    return key, cert, path
