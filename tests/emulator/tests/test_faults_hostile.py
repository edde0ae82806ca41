"""The hostile fault kinds: cut-off token answers, dripped and oversized bodies, redirects, multi-code errors."""

import json
import socket
import ssl
import time
import warnings

import pytest
import requests

from entra_emulator.fault_streams import CUTOFF_MARKERS, DRIP_MARKER

FORM = {"grant_type": "password", "scope": "User.Read openid profile offline_access"}


def _password(emu, **kwargs):
    return emu.token_post(username=emu.demo["username"], password=emu.demo["password"], **dict(FORM, **kwargs))


def _acquire(app, emu):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return app.acquire_token_by_username_password(emu.demo["username"], emu.demo["password"], scopes=["User.Read"])


def _raw_exchange(emu, timeout=10.0):
    """POST a token request over a raw TLS socket; return (head bytes, body bytes received, reads, seconds)."""
    host = emu.host
    context = ssl.create_default_context(cafile=emu.ca_path)
    body = "client_id=%s&grant_type=password&username=x&password=y&scope=User.Read" % emu.demo["client_id"]
    request = ("POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (emu.demo["tenant"], host, len(body), body))
    started = time.monotonic()
    with socket.create_connection((host, 443), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(request.encode())
            data, reads = b"", 0
            while True:
                try:
                    chunk = tls.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                data += chunk
                reads += 1
    head, _sep, rest = data.partition(b"\r\n\r\n")
    return head, rest, reads, time.monotonic() - started


def test_cutoff_tokens_sends_recognisable_strings_and_records_them(emu):
    fault = emu.add_faults([{"endpoint": "token", "kind": "cutoff_tokens", "times": 2}])[0]
    sent = fault["sent"]
    assert set(sent) == {"access_token", "refresh_token", "id_token"}
    for name, marker in CUTOFF_MARKERS.items():
        assert marker in sent[name]
    assert sent["access_token"].startswith("eyJ") and sent["refresh_token"].startswith("1.A")
    response = _password(emu)
    assert response.status_code == 200
    text = response.text
    for value in sent.values():
        assert value in text
    assert text.endswith(sent["id_token"]), "the body stops inside the ID token string"
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        _acquire(emu.public_app(), emu)
    assert emu.faults()[0]["sent"] == sent and emu.faults()[0]["hits"] == 2


def test_drip_sends_the_body_byte_by_byte(emu):
    body = '{"a":1}'
    emu.add_fault(endpoint="token", kind="drip", interval=0.05, duration=30, body=body, times=1)
    head, received, reads, seconds = _raw_exchange(emu)
    assert b"200 OK" in head.split(b"\r\n")[0] and b"Content-Length: %d" % len(body) in head
    assert received == body.encode()
    assert reads >= len(body) - 1, "one byte at a time"
    assert seconds >= (len(body) - 1) * 0.05 * 0.5


def test_drip_stops_by_itself_after_its_duration(emu):
    emu.add_fault(endpoint="token", kind="drip", interval=0.1, duration=0.5, times=1)
    head, received, _reads, seconds = _raw_exchange(emu)
    length = int([line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0].split(b":")[1])
    assert 0 < len(received) < length, "the connection closes before the whole body"
    assert len(received) <= 10
    assert b'{"token_type"'.startswith(received)
    assert seconds < 10


def test_drip_default_body_is_a_whole_token_answer(emu):
    emu.add_fault(endpoint="token", kind="drip", interval=0.001, duration=30, times=1)
    _head, received, _reads, _seconds = _raw_exchange(emu)
    assert DRIP_MARKER in json.loads(received)["access_token"]


def test_oversize_streams_exactly_size_bytes(emu):
    size = 5 * 1024 * 1024 + 3
    emu.add_fault(endpoint="token", kind="oversize", size=size, times=1)
    response = emu.session.post("%s/%s/oauth2/v2.0/token" % (emu.url, emu.demo["tenant"]), data=FORM, stream=True,
                                timeout=60)
    assert response.status_code == 200 and int(response.headers["Content-Length"]) == size
    total, first = 0, b""
    for chunk in response.iter_content(65536):
        first = first or chunk
        total += len(chunk)
    assert total == size and first.startswith(b'{"token_type":"Bearer"')


def test_redirect_default_location_and_other_status(emu):
    emu.add_fault(endpoint="openid_configuration", kind="redirect", status=307, times=1)
    raw = emu.session.get(emu.url + "/contoso.example/v2.0/.well-known/openid-configuration", allow_redirects=False)
    assert raw.status_code == 307 and raw.headers["Location"] == "https://login.example.invalid/redirected"


def test_redirect_raw(emu):
    emu.add_fault(endpoint="token", kind="redirect", location="https://evil.example.invalid/token", times=1)
    response = emu.session.post("%s/%s/oauth2/v2.0/token" % (emu.url, emu.demo["tenant"]), data=FORM,
                                allow_redirects=False, timeout=30)
    assert response.status_code == 302 and response.headers["Location"] == "https://evil.example.invalid/token"


def test_aadsts_fault_with_two_codes_in_the_older_wording(emu):
    emu.add_fault(endpoint="token", kind="aadsts", codes=[70002, 50126], times=2)
    response = _password(emu)
    body = response.json()
    assert response.status_code == 400
    assert (body["error"], body["error_codes"]) == ("invalid_grant", [70002, 50126])
    assert body["error_description"].startswith(
        "AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password\r\nTrace ID: ")
    result = _acquire(emu.public_app(), emu)
    assert result["error_codes"] == [70002, 50126]


def test_aadsts_fault_status_and_error(emu):
    emu.add_fault(endpoint="token", kind="aadsts", codes=[7000215], error="invalid_client", times=1)
    response = _password(emu)
    assert response.status_code == 401 and response.json()["error_codes"] == [7000215]


@pytest.mark.parametrize("fault", [
    {"kind": "drip", "interval": 0}, {"kind": "drip", "duration": 601}, {"kind": "oversize", "size": 0},
    {"kind": "oversize", "size": 2 ** 31}, {"kind": "redirect", "status": 200}, {"kind": "aadsts"},
    {"kind": "aadsts", "codes": "70002"},
])
def test_hostile_fault_validation(emu, fault):
    response = emu.session.post(emu.url + "/_emulator/faults", json=dict(fault, endpoint="token"))
    assert response.status_code == 400, response.text


def test_faults_on_new_endpoints(emu):
    emu.add_fault(endpoint="devicecode", kind="status", status=503, times=1)
    assert emu.device_code_post(scope="User.Read").status_code == 503
    emu.add_fault(endpoint="federation", kind="status", status=500, times=1)
    assert emu.session.get(emu.url + "/federation/ci/jwks").status_code == 500
    assert requests.codes.ok == emu.session.get(emu.url + "/federation/ci/jwks").status_code
