"""Run-time certificates: a throw-away CA, the HTTPS server certificate it signs,
and the self-signed certificate that carries the token-signing key in the JWKS.

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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Entra emulator (test only)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _validity(builder, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


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


def generate_tls(state_dir, host):
    """Create ``ca.pem``, ``server.pem`` (leaf + CA) and ``server-key.pem``; return their paths.

    EC P-256 keys keep start-up fast; the leaf's SANs cover ``host``, localhost and 127.0.0.1.
    """
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Entra emulator test CA")
    ca_builder = _validity(x509.CertificateBuilder(), 30).subject_name(ca_name).issuer_name(ca_name)
    ca_cert = (ca_builder.public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    leaf_builder = _validity(x509.CertificateBuilder(), 30).subject_name(_name(host)).issuer_name(ca_name)
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
    _write(paths["ca"], ca_pem)
    _write(paths["cert"], leaf.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write(paths["key"], key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), 0o600)
    return paths


def self_signed_for_key(private_key, common_name, days=365):
    """A self-signed certificate for the token-signing key (JWKS ``x5c`` and ``x5t``)."""
    builder = _validity(x509.CertificateBuilder(), days).subject_name(_name(common_name)).issuer_name(_name(common_name))
    return (builder.public_key(private_key.public_key()).serial_number(x509.random_serial_number())
            .sign(private_key, hashes.SHA256()))
