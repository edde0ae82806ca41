"""Bodies of the hostile faults: cut-off token answers, dripped bodies, oversized bodies.

Every loop here is bounded in count (the body's length) and in time (``duration``), so an
emulator serving these stops by itself; oversized bodies are produced chunk by chunk and never
held in memory whole.
"""

import json
import secrets
import time

from .tokens import b64url

# Substrings of the token-like strings a cutoff_tokens fault sends: tests search output, logs and
# files for them (the exact strings of each fault are in its record, key "sent").
CUTOFF_MARKERS = {"access_token": "CutoffAccessToken", "refresh_token": "CutoffRefreshToken",
                  "id_token": "CutoffIdToken"}
DRIP_MARKER = "DripAccessToken"
CHUNK = 64 * 1024
MAX_SIZE = 1 << 30
MAX_DURATION = 600.0


def _jwt_like(claim, marker):
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256"}, separators=(",", ":")))
    return "%s.%s.%s%s" % (header, b64url(json.dumps({"cutoff": claim})), marker, secrets.token_hex(16))


def cutoff_strings():
    """The token-like strings one cutoff_tokens fault sends; the ID token is cut in its middle."""
    id_token = _jwt_like("id", CUTOFF_MARKERS["id_token"])
    return {"access_token": _jwt_like("access", CUTOFF_MARKERS["access_token"]),
            "refresh_token": "1.AXEA%s%s" % (CUTOFF_MARKERS["refresh_token"], secrets.token_hex(24)),
            "id_token": id_token[: id_token.index(CUTOFF_MARKERS["id_token"]) + len(CUTOFF_MARKERS["id_token"]) + 8]}


def cutoff_body(sent):
    """A 200 token answer that ends in the middle of the ID token string (no closing quote or brace)."""
    return ('{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":3599,'
            '"ext_expires_in":3599,"access_token":"%s","refresh_token":"%s","id_token":"%s'
            % (sent["access_token"], sent["refresh_token"], sent["id_token"])).encode("ascii")


def default_drip_body():
    """A complete, valid-looking token answer to drip."""
    token = _jwt_like("drip", DRIP_MARKER)
    return json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                       "access_token": token}, separators=(",", ":")).encode("ascii")


def drip(body, interval, duration, sleep=time.sleep, clock=time.monotonic):
    """Yield ``body`` one byte per ``interval`` seconds; stop after ``duration`` seconds (or the last byte)."""
    deadline = clock() + min(float(duration), MAX_DURATION)
    for index in range(len(body)):
        if index:
            if clock() + interval > deadline:
                return
            sleep(interval)
        yield body[index:index + 1]


def oversize(size):
    """Yield a valid-looking JSON token answer of exactly ``size`` bytes, in chunks of 64 KiB."""
    size = min(int(size), MAX_SIZE)
    head, tail = b'{"token_type":"Bearer","expires_in":3599,"access_token":"', b'"}'
    if size < len(head) + len(tail):
        head, tail = b"", b""
    filler = size - len(head) - len(tail)
    yield head
    block = b"A" * CHUNK
    while filler > 0:
        step = min(filler, CHUNK)
        yield block[:step]
        filler -= step
    yield tail
