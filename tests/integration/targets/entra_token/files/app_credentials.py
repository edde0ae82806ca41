"""Write the certificate files the service-principal tests need, from the emulator's registered PEM.

usage: app_credentials.py REGISTERED_PEM OUT_DIR PASSWORD

OUT_DIR gets (0600): encrypted.pem (the registered key, encrypted with PASSWORD, and its
certificate), unregistered.pem (a new RSA key and its own self-signed certificate), mismatch.pem
(a new RSA key with the registered certificate), no-key.pem (the certificate alone), ec.pem (an EC
key and its certificate), key-lines.txt (every full base64 line of the registered key, as in the file and
as PKCS#8: the canary looks for them in outputs). Uses cryptography, which msal brings.
"""

from __future__ import annotations

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def write(path, data):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as handle:
        handle.write(data)


def self_signed(key, name):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))


def pem_key(key, password=None):
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def base64_lines(pem: bytes) -> list:
    """The full 64-character lines of a PEM body (a short last line could occur anywhere by chance)."""
    return [line for line in pem.decode().splitlines() if len(line) == 64 and not line.startswith('-----')]


def main(registered, out, password):
    with open(registered, 'rb') as handle:
        data = handle.read()
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data[data.index(b'-----BEGIN CERTIFICATE-----'):])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    curve = ec.generate_private_key(ec.SECP256R1())
    os.makedirs(out, mode=0o700, exist_ok=True)
    write(os.path.join(out, 'encrypted.pem'), pem_key(key, password) + pem_cert(cert))
    write(os.path.join(out, 'unregistered.pem'), pem_key(other) + pem_cert(self_signed(other, 'not registered anywhere')))
    write(os.path.join(out, 'mismatch.pem'), pem_key(other) + pem_cert(cert))
    write(os.path.join(out, 'no-key.pem'), pem_cert(cert))
    write(os.path.join(out, 'ec.pem'), pem_key(curve) + pem_cert(self_signed(curve, 'an EC key')))
    file_key = data[:data.index(b'-----BEGIN CERTIFICATE-----')]
    lines = sorted(set(base64_lines(file_key) + base64_lines(pem_key(key))))
    write(os.path.join(out, 'key-lines.txt'), ('\n'.join(lines) + '\n').encode())


if __name__ == '__main__':
    main(*sys.argv[1:4])
