# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signing a service principal in: the client credentials grant (secret, certificate or federated assertion).

For internal collection use only. Runs inside _sign_in.Acquisition (sign-in lock held,
cache writable, loggers silenced). App-only tokens land in the same cache file format
msal's ConfidentialClientApplication writes (an AccessToken entry without an account).
The credential is checked before anything is sent (a certificate's key must open and
belong to its certificate; an assertion file must hold a JWT) and is never written
anywhere; only a salted hash of it is kept when Entra refuses it (failure memory), so
a rotated secret, a new certificate or a fresh federated token is tried at once.
"""

from __future__ import annotations

import hashlib
import re
import time

from ansible_collections.identity.entra.plugins.plugin_utils import _cache_view as view
from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError, from_response_body

MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024
_PEM_KEY_MARK = b'PRIVATE KEY-----'
_PEM_CERT_MARK = b'-----BEGIN CERTIFICATE-----'
_CERT_BLOCK_RE = re.compile(rb'-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----')


def _invalid(name: str, why: str) -> EntraTokenError:
    return EntraTokenError('invalid_argument', detail="Option '%s' %s" % (name, why))


def read_credential_file(name: str, path: str) -> bytes:
    """A certificate or assertion file, read now (an assertion file is rewritten by its workload)."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_CREDENTIAL_FILE_BYTES + 1)
    except OSError as exc:
        raise _invalid(name, 'names a file that cannot be read: %s (%s)' % (path, exc.strerror or exc.__class__.__name__)) from None
    if len(data) > MAX_CREDENTIAL_FILE_BYTES:
        raise _invalid(name, 'names a file larger than 1 MiB: %s' % path)
    return data


def _load_private_key(data: bytes, path: str, password: str | None, serialization):
    """The private key of the PEM, or invalid_argument saying exactly what is wrong (never quoting the file)."""
    name = 'client_certificate_path'
    if _PEM_KEY_MARK not in data:
        raise _invalid(name, 'holds no PEM private key: put the private key and the certificate in one PEM file (a .pfx converts '
                       'with: openssl pkcs12 -in app.pfx -out app.pem -nodes): %s' % path)
    encrypted = b'ENCRYPTED PRIVATE KEY-----' in data or b'Proc-Type: 4,ENCRYPTED' in data
    if encrypted and not password:
        raise _invalid(name, 'holds an encrypted private key: give its password in client_certificate_password: %s' % path)
    if password and not encrypted:
        raise _invalid('client_certificate_password', 'is set, but the private key in %s is not encrypted: remove the password' % path)
    try:
        return serialization.load_pem_private_key(data, password=password.encode('utf-8') if password else None)
    except (ValueError, TypeError):
        if encrypted:
            raise _invalid('client_certificate_password', 'does not decrypt the private key in %s (wrong password?)' % path) from None
        raise _invalid(name, 'holds a private key that cannot be read (damaged or of an unsupported type): %s' % path) from None


def load_certificate(path: str, password: str | None, send_chain: bool) -> tuple:
    """msal's client_credential for a PEM holding the private key and its certificate; and the file's bytes.

    The certificate is the one whose public key is the private key's (a chain may follow it);
    Entra ID signs client assertions with RSA keys only.
    """
    data = read_credential_file('client_certificate_path', path)
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel  # msal's own dependency
        from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise EntraTokenError('unknown', detail='the Python package cryptography (a dependency of msal) is missing') from None
    key = _load_private_key(data, path, password, serialization)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _invalid('client_certificate_path', 'holds a key that is not RSA; Entra ID accepts client assertions signed with '
                       'RSA keys only: %s' % path)
    if _PEM_CERT_MARK not in data:
        raise _invalid('client_certificate_path', 'holds no PEM certificate: put the certificate and its private key in one PEM '
                       'file: %s' % path)
    try:
        certificates = [x509.load_pem_x509_certificate(block) for block in _CERT_BLOCK_RE.findall(data)]
    except ValueError:
        raise _invalid('client_certificate_path', 'holds a certificate that cannot be read: %s' % path) from None
    mine = [cert for cert in certificates if cert.public_key().public_numbers() == key.public_key().public_numbers()]
    if not mine:
        raise _invalid('client_certificate_path', 'holds a private key that belongs to none of its certificates: %s' % path)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode('ascii')
    credential = {'private_key': key_pem}
    if send_chain:
        # msal then signs PS256 with x5t#S256 and sends the certificate and the chain after it (x5c),
        # as subject name / issuer authentication needs; the leaf goes first.
        chain = [mine[0]] + [cert for cert in certificates if cert is not mine[0]]
        credential['public_certificate'] = ''.join(cert.public_bytes(serialization.Encoding.PEM).decode('ascii') for cert in chain)
    else:
        credential['thumbprint'] = mine[0].fingerprint(hashes.SHA1()).hex().upper()  # nosec - Entra's x5t is SHA-1
    return credential, data


def read_assertion(path: str) -> str:
    """The federated token of the workload, read now: one JWT (three base64url parts)."""
    text = read_credential_file('client_assertion_file', path).decode('utf-8', 'replace').strip()
    if text.count('.') != 2 or any(ch.isspace() for ch in text) or not all(text.split('.')[:2]):
        raise _invalid('client_assertion_file', 'must hold one JWT (the federated token the workload writes), and %s does not%s'
                       % (path, ' (it is empty)' if not text else ''))
    return text


class AppFlow:
    """One client credentials grant over one msal cache (see the module docstring)."""

    def __init__(self, acquisition, msal, cache, doc):
        self.acquisition = acquisition
        self.request = request = acquisition.request
        self.memory = acquisition.memory
        self.cache = cache
        credential, self.kind, self.secret = self._credential()
        self.memory.check_credential(self.kind, self.secret)
        self.app = msal.ConfidentialClientApplication(
            request.client_id, client_credential=credential, authority=request.authority,
            validate_authority=request.validate_authority,
            instance_discovery=None if request.validate_authority else False,
            token_cache=cache, http_client=acquisition.http)

    def _credential(self):
        """(msal's client_credential, kind and text for the failure memory); nothing is sent before this."""
        request = self.request
        if request.credential == 'client_secret':
            return request.client_secret, 'client_secret', request.client_secret
        if request.credential == 'client_certificate':
            credential, data = load_certificate(request.client_certificate_path, request.client_certificate_password,
                                                request.client_certificate_send_chain)
            return credential, 'client_certificate', hashlib.sha256(data).hexdigest()
        assertion = read_assertion(request.client_assertion_file)
        # A callable, as msal advises: it reads the file each time msal needs an assertion.
        return {'client_assertion': lambda: read_assertion(request.client_assertion_file)}, 'client_assertion', assertion

    def acquire(self) -> dict:
        request = self.request
        self._drop_cached_tokens()
        result = self.app.acquire_token_for_client(list(request.scopes)) or {}
        if 'access_token' not in result:
            first = self.acquisition.error_from_result(result)
            # The same body read for the credential sent: AADSTS700024 means an expired federated token, not a certificate.
            error = from_response_body(result, first.status, detail=first.detail, app_flow=request.credential)
            self.memory.remember(error, self.kind, self.secret, retry_after=self.acquisition.retry_after())
            raise error
        if result.get('token_source') != 'cache':
            result['token_source'] = 'client_credentials'
        return result

    def _drop_cached_tokens(self):
        """Keep msal from serving a cached app-only token this request would not take.

        acquire_token_for_client has no force_refresh and serves any token valid for five more
        minutes; our warm path (min_validity) has already refused what is cached, or the caller
        asked for a new token.
        """
        request, now = self.request, time.time()
        authority = self.app.authority
        query = {'client_id': request.client_id, 'environment': authority.instance, 'realm': authority.tenant}
        for entry in list(self.cache.search(self.cache.CredentialType.ACCESS_TOKEN, target=list(request.scopes), query=query)):
            if entry.get('home_account_id'):
                continue
            remaining = int(entry['expires_on']) - now
            if request.force_refresh or remaining < view.effective_min_validity(entry, request.min_validity):
                self.cache.remove_at(entry)
