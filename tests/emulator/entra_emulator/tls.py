"""Run-time certificates: a throw-away CA and the HTTPS server certificate it signs.

Everything is generated at start into the state directory and never committed, so
clients trust the emulator only through the CA bundle option, the way users behind
TLS-inspecting proxies trust their corporate CA.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from .keystore import key_pem, subject_name, write_file


def _validity(builder, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))


def _san_entries(host):
    names = {"localhost"}
    ips = {"127.0.0.1"}
    try:
        ipaddress.ip_address(host)
        ips.add(host)
    except ValueError:
        names.add(host)
    entries = [x509.DNSName(n) for n in sorted(names)]
    entries += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    return entries


def not_valid_after(cert):
    """The certificate's end of validity as an aware datetime (any cryptography version)."""
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_valid_before(cert):
    """The certificate's start of validity as an aware datetime (any cryptography version)."""
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _load_ca(state_dir):
    """The CA kept in ``state_dir`` by an earlier run (so clients that trust ca.pem keep trusting), or None."""
    cert_path, key_path = os.path.join(state_dir, "ca.pem"), os.path.join(state_dir, "ca-key.pem")
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return None
    with open(cert_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(key_path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    remaining = not_valid_after(cert) - datetime.datetime.now(datetime.timezone.utc)
    return (key, cert) if remaining > datetime.timedelta(days=1) else None


def _new_ca():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = subject_name("Entra emulator test CA")
    ca_builder = _validity(x509.CertificateBuilder(), 30).subject_name(ca_name).issuer_name(ca_name)
    ca_cert = (ca_builder.public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    return ca_key, ca_cert


def generate_tls(state_dir, host):
    """Create (or keep) ``ca.pem`` and ``ca-key.pem``, and issue ``server.pem`` (leaf + CA) and ``server-key.pem``.

    The CA survives restarts with the same state directory, so a client that trusts ``ca.pem`` keeps
    trusting a restarted emulator; the leaf is issued at every start (its SANs follow ``host``).
    EC P-256 keys keep start-up fast; the leaf's SANs cover ``host``, localhost and 127.0.0.1.
    """
    loaded = _load_ca(state_dir)
    ca_key, ca_cert = loaded or _new_ca()
    ca_name = ca_cert.subject

    key = ec.generate_private_key(ec.SECP256R1())
    leaf_builder = _validity(x509.CertificateBuilder(), 30).subject_name(subject_name(host)).issuer_name(ca_name)
    leaf = (leaf_builder.public_key(key.public_key()).serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(_san_entries(host)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    paths = {
        "ca": os.path.join(state_dir, "ca.pem"),
        "cert": os.path.join(state_dir, "server.pem"),
        "key": os.path.join(state_dir, "server-key.pem"),
    }
    if loaded is None:
        write_file(os.path.join(state_dir, "ca-key.pem"), key_pem(ca_key), 0o600)
        write_file(paths["ca"], ca_pem)
    write_file(paths["cert"], leaf.public_bytes(serialization.Encoding.PEM) + ca_pem)
    write_file(paths["key"], key_pem(key), 0o600)
    return paths
