# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signing a service principal in: the client credentials grant (secret, certificate or federated assertion).

For internal collection use only. Runs inside _sign_in.Acquisition (sign-in lock held,
cache writable, loggers silenced). App-only tokens land in the same cache file format
msal's ConfidentialClientApplication writes (an AccessToken entry without an account).
The credential itself is never written anywhere; only a salted hash of it is kept when
Entra refuses it (failure memory), so a rotated secret is tried at once.
"""

from __future__ import annotations

import hashlib

from ansible_collections.identity.entra.plugins.plugin_utils._errors import EntraTokenError

MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024


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


def load_certificate(path: str, password: str | None, send_chain: bool) -> tuple[dict, bytes]:
    """msal's client_credential for a PEM holding the private key and its certificate; and the file's bytes."""
    data = read_credential_file('client_certificate_path', path)
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel  # msal's own dependency
        from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise EntraTokenError('unknown', detail='the Python package cryptography (a dependency of msal) is missing') from None
    try:
        key = serialization.load_pem_private_key(data, password=password.encode('utf-8') if password else None)
    except TypeError:
        raise _invalid('client_certificate_path', 'holds an encrypted private key: give client_certificate_password'
                       if not password else 'holds a private key that is not encrypted: remove client_certificate_password') from None
    except ValueError:
        raise _invalid('client_certificate_path', 'holds no PEM private key that can be read%s: %s'
                       % (' with client_certificate_password' if password else '', path)) from None
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise _invalid('client_certificate_path', 'holds no PEM certificate; put the certificate and its private key in one '
                       'PEM file: %s' % path) from None
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise _invalid('client_certificate_path', 'holds a private key that does not belong to its certificate: %s' % path)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode('ascii')
    credential = {'private_key': key_pem}
    if send_chain:
        # msal then signs PS256 with x5t#S256 and sends the chain (x5c), as subject name / issuer auth needs.
        credential['public_certificate'] = certificate.public_bytes(serialization.Encoding.PEM).decode('ascii')
    else:
        credential['thumbprint'] = certificate.fingerprint(hashes.SHA1()).hex().upper()  # nosec - Entra's x5t is SHA-1
    return credential, data


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
        """(msal's client_credential, kind and text for the failure memory)."""
        request = self.request
        if request.credential == 'client_secret':
            return request.client_secret, 'client_secret', request.client_secret
        if request.credential == 'client_certificate':
            credential, data = load_certificate(request.client_certificate_path, request.client_certificate_password,
                                                request.client_certificate_send_chain)
            return credential, 'client_certificate', hashlib.sha256(data).hexdigest()
        assertion = self._read_assertion()
        # A callable, as msal advises: it reads the file each time msal needs an assertion.
        return {'client_assertion': self._read_assertion}, 'client_assertion', assertion

    def _read_assertion(self) -> str:
        text = read_credential_file('client_assertion_file', self.request.client_assertion_file).decode('utf-8', 'replace').strip()
        if text.count('.') != 2 or any(ch.isspace() for ch in text):
            raise _invalid('client_assertion_file', 'must hold one JWT (the federated token of the workload): %s'
                           % self.request.client_assertion_file)
        return text

    def acquire(self) -> dict:
        request = self.request
        if request.force_refresh:
            self._forget_cached_tokens()  # acquire_token_for_client has no force_refresh
        result = self.app.acquire_token_for_client(list(request.scopes))
        if not result or 'access_token' not in result:
            error = self.acquisition.error_from_result(result or {})
            self.memory.remember(error, self.kind, self.secret, retry_after=self.acquisition.retry_after())
            raise error
        if result.get('token_source') != 'cache':
            result['token_source'] = 'client_credentials'
        return result

    def _forget_cached_tokens(self):
        request = self.request
        for entry in list(self.cache.search(self.cache.CredentialType.ACCESS_TOKEN,
                                            query={'client_id': request.client_id, 'environment': request.environment})):
            if not entry.get('home_account_id'):
                self.cache.remove_at(entry)
