# Copyright: Contributors to the identity.entra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.identity.entra.plugins.module_utils._graph_url import (
    GraphTarget,
    GraphUrlError,
    encode_query,
    graph_host,
)

PUBLIC = GraphTarget('graph.microsoft.com', 'v1.0')


@pytest.mark.parametrize('cloud, host', [
    ('public', 'graph.microsoft.com'),
    (None, 'graph.microsoft.com'),
    ('usgov', 'graph.microsoft.us'),
    ('usgov_dod', 'dod-graph.microsoft.us'),
    ('china', 'microsoftgraph.chinacloudapi.cn'),
])
def test_cloud_hosts(cloud, host):
    assert graph_host(cloud) == host


@pytest.mark.parametrize('given, host', [
    ('127.0.0.23', '127.0.0.23'),
    ('https://127.0.0.23', '127.0.0.23'),
    ('https://127.0.0.23/', '127.0.0.23'),
    ('Graph.Example:8443', 'graph.example:8443'),
    ('https://graph.example:443', 'graph.example'),
    ('[::1]:8443', '[::1]:8443'),
])
def test_graph_host_wins_over_cloud(given, host):
    assert graph_host('china', given) == host


@pytest.mark.parametrize('given', [
    'http://graph.example', 'https://graph.example/v1.0', 'https://user:pw@graph.example', 'graph.example:0',
    'graph.example:70000', 'graph.example:https', 'bad host', '-graph.example', 'https://',
])
def test_bad_graph_hosts(given):
    with pytest.raises(GraphUrlError):
        graph_host(None, given)


def test_unknown_cloud_and_version():
    with pytest.raises(GraphUrlError):
        graph_host('mooncake')
    with pytest.raises(GraphUrlError):
        GraphTarget('graph.microsoft.com', 'v2.0')


@pytest.mark.parametrize('path, query, url', [
    ('/users', None, 'https://graph.microsoft.com/v1.0/users'),
    ('users', None, 'https://graph.microsoft.com/v1.0/users'),
    ('users/', None, 'https://graph.microsoft.com/v1.0/users'),
    ('users/6e7b768e-07e2-4810-8459-485f84f8f204', None,
     'https://graph.microsoft.com/v1.0/users/6e7b768e-07e2-4810-8459-485f84f8f204'),
    ('/me', {'$select': 'id,displayName'}, 'https://graph.microsoft.com/v1.0/me?$select=id,displayName'),
    ('/users', {'$select': ['id', 'mail'], '$top': 999, '$count': True},
     'https://graph.microsoft.com/v1.0/users?$select=id,mail&$top=999&$count=true'),
    ('/users', {'$filter': "startswith(displayName,'Ad Vance')"},
     "https://graph.microsoft.com/v1.0/users?$filter=startswith(displayName,'Ad%20Vance')"),
    ('/users', {'$filter': "mail eq 'a+b@contoso.com'"},
     "https://graph.microsoft.com/v1.0/users?$filter=mail%20eq%20'a%2Bb@contoso.com'"),
    ('/users', {'$search': '"displayName:a&b=c#d"'},
     'https://graph.microsoft.com/v1.0/users?$search=%22displayName:a%26b%3Dc%23d%22'),
    ('/users', {'$top': None}, 'https://graph.microsoft.com/v1.0/users'),
    ('users?$top=5', {'$select': 'id'}, 'https://graph.microsoft.com/v1.0/users?$top=5&$select=id'),
    ('groups/9f4d/members/$ref', None, 'https://graph.microsoft.com/v1.0/groups/9f4d/members/$ref'),
    ('users/$count', None, 'https://graph.microsoft.com/v1.0/users/$count'),
    # Guest UPNs carry '#EXT#'; '#' must not end the path.
    ('users/ada_fabrikam.com#EXT#@contoso.onmicrosoft.com', None,
     'https://graph.microsoft.com/v1.0/users/ada_fabrikam.com%23EXT%23@contoso.onmicrosoft.com'),
    ('users/Ada Lovelace', None, 'https://graph.microsoft.com/v1.0/users/Ada%20Lovelace'),
    ('users/Ada%20Lovelace', None, 'https://graph.microsoft.com/v1.0/users/Ada%20Lovelace'),
    ('users/100%', None, 'https://graph.microsoft.com/v1.0/users/100%25'),
    ("users('6e7b768e')", None, "https://graph.microsoft.com/v1.0/users('6e7b768e')"),
    ('users/Zoë', None, 'https://graph.microsoft.com/v1.0/users/Zo%C3%AB'),
])
def test_relative_paths(path, query, url):
    assert PUBLIC.url(path, query) == url


@pytest.mark.parametrize('url', [
    'https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAACM6VXNlcl8%3d',
    'https://graph.microsoft.com/beta/users/x',
])
def test_full_urls_on_the_host_are_kept(url):
    assert PUBLIC.url(url) == url


def test_full_url_host_is_normalized_and_query_appended():
    assert PUBLIC.url('https://GRAPH.microsoft.com:443/beta/me', {'$select': 'id'}) == 'https://graph.microsoft.com/beta/me?$select=id'


@pytest.mark.parametrize('path', [
    'https://evil.example/v1.0/users',
    'https://graph.microsoft.com.evil.example/v1.0/users',
    'https://graph.microsoft.com@evil.example/v1.0/users',
    'https://user:secret@graph.microsoft.com/v1.0/users',
    'http://graph.microsoft.com/v1.0/users',
    'ftp://graph.microsoft.com/v1.0/users',
    '//graph.microsoft.com/v1.0/users',
    'https://graph.microsoft.com:8443/v1.0/users',
    'https://graph.microsoft.us/v1.0/users',
    'https://graph.microsoft.com/v2.0/users',
    'https://graph.microsoft.com/users',
    'https://graph.microsoft.com/v1.0/../beta/users',
    'https://graph.microsoft.com/v1.0/users#frag',
    'v1.0/users',
    '/beta/users',
    'V1.0/users',
    '/users/../../beta/users',
    './users',
    'users//members',
    'users\\x',
    'users\nHost: evil',
    '',
    '   ',
    '/',
    None,
])
def test_refused_paths(path):
    with pytest.raises(GraphUrlError):
        PUBLIC.url(path)


def test_refusal_does_not_echo_credentials():
    with pytest.raises(GraphUrlError) as info:
        PUBLIC.url('https://user:secret@graph.microsoft.com/v1.0/users')
    assert 'secret' not in str(info.value)


def test_relative_for_batch():
    assert PUBLIC.relative('/users/x', {'$select': 'id'}) == '/users/x?$select=id'
    assert PUBLIC.relative('https://graph.microsoft.com/v1.0/users/x?$select=id') == '/users/x?$select=id'
    with pytest.raises(GraphUrlError):
        PUBLIC.relative('https://graph.microsoft.com/beta/users/x')


def test_next_links_are_checked():
    assert PUBLIC.check_absolute('https://graph.microsoft.com/v1.0/users?$skiptoken=abc') == ('v1.0', '/users?$skiptoken=abc')
    with pytest.raises(GraphUrlError):
        PUBLIC.check_absolute('https://graph.evil.example/v1.0/users?$skiptoken=abc', '@odata.nextLink')


def test_port_and_batch_url():
    target = GraphTarget('127.0.0.23:8443', 'beta')
    assert target.url('/me') == 'https://127.0.0.23:8443/beta/me'
    assert target.batch_url() == 'https://127.0.0.23:8443/beta/$batch'
    assert target.url('https://127.0.0.23:8443/beta/me') == 'https://127.0.0.23:8443/beta/me'
    with pytest.raises(GraphUrlError):
        target.url('https://127.0.0.23/beta/me')


def test_encode_query_shapes():
    assert encode_query(None) == ''
    assert encode_query({}) == ''
    assert encode_query({'$expand': 'members($select=id)', 'flag': False}) == '$expand=members($select%3Did)&flag=false'
    assert encode_query({'$orderby': 'displayName desc'}) == '$orderby=displayName%20desc'
