# -*- coding: utf-8 -*-
# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft Graph URLs: the host of each cloud, path validation and query encoding.

For internal collection use only. The rules:

- the request goes to exactly one Graph host, chosen by ``cloud`` or given as ``graph_host``;
  a bearer token is never sent anywhere else (a path that is a full URL, and every
  ``@odata.nextLink``, must name that host over HTTPS);
- a relative path (``/users``, ``users/{id}``, ``me?$select=id``) is put under
  ``https://{host}/{api_version}/``; ``..`` segments and a leading version segment are refused;
- query options keep ``$`` and ``,`` unescaped (``$select=id,displayName``), as Graph's own
  clients send them; everything else that is not safe in a query is percent-encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from ansible_collections.identity.entra.plugins.module_utils._clouds import CLOUDS, DEFAULT_CLOUD

API_VERSIONS = ('v1.0', 'beta')

# Characters left as they are in a path segment (RFC 3986 pchar, plus '%' of existing escapes).
_SEGMENT_SAFE = "$@:,;=()'!*~-._+&"
# Characters left as they are in a query key or value ('$' of OData options, ',' of lists).
_QUERY_SAFE = "$,()':@!*/~-._"
_LONE_PERCENT = re.compile(r'%(?![0-9A-Fa-f]{2})')
_HOST = re.compile(r'^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$'
                   r'|^\d{1,3}(?:\.\d{1,3}){3}$|^\[[0-9A-Fa-f:.]+\]$')


class GraphUrlError(ValueError):
    """A path, host or query the module refuses before sending anything."""


def graph_host(cloud=None, host=None):
    """``host[:port]`` of the Graph endpoint: ``host`` (a name or an https URL) if given, else the cloud's."""
    if host:
        text = host.strip()
        if '://' in text:
            parts = urlsplit(text)
            if parts.scheme.lower() != 'https':
                raise GraphUrlError('graph_host must use https, not %s' % parts.scheme)
            if parts.path.strip('/') or parts.query or parts.fragment or parts.username or parts.password:
                raise GraphUrlError('graph_host must be a host name (optionally https:// and a port), got %s' % host)
            text = parts.netloc
        return _normalize_netloc(text, host)
    name = cloud or DEFAULT_CLOUD
    if name not in CLOUDS:
        raise GraphUrlError('unknown cloud %s; choose one of %s' % (name, ', '.join(CLOUDS)))
    return CLOUDS[name].graph_host


def _normalize_netloc(netloc, original):
    """Lower-case ``host[:port]`` without the default port 443, or GraphUrlError."""
    text = netloc.strip().lower()
    if text.startswith('['):
        hostname, _sep, rest = text.partition(']')
        hostname += ']'
        port = rest[1:] if rest.startswith(':') else ''
        if rest and not rest.startswith(':'):
            raise GraphUrlError('invalid Graph host %s' % original)
    else:
        hostname, _sep, port = text.partition(':')
    if not hostname or not _HOST.match(hostname):
        raise GraphUrlError('invalid Graph host %s' % original)
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise GraphUrlError('invalid port in Graph host %s' % original)
        if int(port) == 443:
            port = ''
    return '%s:%s' % (hostname, port) if port else hostname


def encode_query(query):
    """``key=value&...`` from a dict (list values joined by ',', booleans as true/false); '' for none."""
    if not query:
        return ''
    pairs = []
    for key in query:
        value = query[key]
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ','.join(_scalar(v) for v in value)
        else:
            value = _scalar(value)
        pairs.append('%s=%s' % (quote(str(key), safe='$'), quote(value, safe=_QUERY_SAFE)))
    return '&'.join(pairs)


def _scalar(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _quote_path(path):
    """Percent-encode what is unsafe in each segment, keeping existing %XX escapes."""
    return '/'.join(quote(_LONE_PERCENT.sub('%25', seg), safe=_SEGMENT_SAFE + '%') for seg in path.split('/'))


def _join_query(existing, extra):
    return '&'.join(part for part in (existing, extra) if part)


class GraphTarget:
    """Where requests go: one host and one API version."""

    def __init__(self, host, api_version='v1.0'):
        if api_version not in API_VERSIONS:
            raise GraphUrlError('api_version must be one of %s, got %s' % (', '.join(API_VERSIONS), api_version))
        self.host = host
        self.api_version = api_version

    @property
    def base(self):
        """``https://{host}/{api_version}``."""
        return 'https://%s/%s' % (self.host, self.api_version)

    def batch_url(self):
        """The ``$batch`` endpoint of this version."""
        return '%s/$batch' % self.base

    def check_absolute(self, url, what='URL'):
        """Refuse ``url`` unless it is https on this host under /v1.0/ or /beta/; return (version, relative)."""
        parts = urlsplit(url)
        if '@' in parts.netloc:
            raise GraphUrlError('%s carries credentials (user:password@host); refused' % what)
        if parts.scheme.lower() != 'https':
            raise GraphUrlError('%s %s is not https; the token is only sent to https://%s' % (what, _short(url), self.host))
        try:
            netloc = _normalize_netloc(parts.netloc, url)
        except GraphUrlError:
            netloc = None
        if netloc != self.host:
            raise GraphUrlError('%s %s is not on the Graph host %s; the token is only sent there' % (what, _short(url), self.host))
        segs = parts.path.split('/')
        if len(segs) < 2 or segs[1] not in API_VERSIONS:
            raise GraphUrlError('%s %s does not start with /v1.0/ or /beta/' % (what, _short(url)))
        if any(seg in ('.', '..') for seg in segs):
            raise GraphUrlError('%s %s contains . or .. segments' % (what, _short(url)))
        if parts.fragment:
            raise GraphUrlError('%s %s has a #fragment' % (what, _short(url)))
        relative = '/' + '/'.join(segs[2:])
        if parts.query:
            relative += '?' + parts.query
        return segs[1], relative

    def relative(self, path, query=None):
        """``/segments?query`` relative to the version root, from a relative path or a full URL on this host.

        A full URL must be on this host and under this target's version (a batch cannot mix versions).
        """
        if not isinstance(path, str) or not path.strip():
            raise GraphUrlError('path must be a non-empty string')
        path = path.strip()
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            raise GraphUrlError('path contains control characters')
        if '://' in path or path.startswith('//'):
            if path.startswith('//'):
                raise GraphUrlError('path %s has no scheme; give a relative path or an https URL on %s' % (_short(path), self.host))
            version, rel = self.check_absolute(path, 'path')
            if version != self.api_version:
                raise GraphUrlError('path %s is under /%s/, not the api_version %s' % (_short(path), version, self.api_version))
            rel_path, _sep, rel_query = rel.partition('?')
            return _with_query(rel_path, _join_query(rel_query, encode_query(query)))
        if '\\' in path:
            raise GraphUrlError('path %s contains a backslash' % _short(path))
        raw_path, _sep, raw_query = path.partition('?')
        segs = raw_path.strip('/').split('/')
        if not segs or not segs[0]:
            raise GraphUrlError('path %s names no resource' % _short(path))
        if segs[0] in API_VERSIONS or segs[0].lower() in API_VERSIONS:
            raise GraphUrlError('path %s starts with the API version; give the path after it and set api_version' % _short(path))
        if any(seg in ('.', '..') for seg in segs):
            raise GraphUrlError('path %s contains . or .. segments' % _short(path))
        if any(seg == '' for seg in segs):
            raise GraphUrlError('path %s contains an empty segment' % _short(path))
        return _with_query('/' + _quote_path('/'.join(segs)), _join_query(raw_query, encode_query(query)))

    def url(self, path, query=None):
        """The absolute URL of ``path`` (relative, or a full URL on this host whose version is kept)."""
        path_text = path.strip() if isinstance(path, str) else path
        if isinstance(path_text, str) and '://' in path_text:
            version, rel = self.check_absolute(path_text, 'path')
            rel_path, _sep, rel_query = rel.partition('?')
            return 'https://%s/%s%s' % (self.host, version, _with_query(rel_path, _join_query(rel_query, encode_query(query))))
        return self.base + self.relative(path, query)


def _with_query(path, query):
    return '%s?%s' % (path, query) if query else path


def _short(text, limit=120):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + '...'
