"""Request log and counters, read and reset over the admin API.

Tests and benchmarks count how many requests a playbook made (per endpoint, per
user, per grant).  Entries never hold passwords, tokens or assertions: only the
method, path, endpoint name, grant type, user name and status.
"""

import threading
import time
from collections import Counter, defaultdict

MAX_ENTRIES = 50000


class RequestLog:
    """Bounded, thread-safe list of request summaries plus running counters."""

    def __init__(self, clock=time.time):
        self._lock = threading.Lock()
        self._clock = clock
        self._entries = []
        self._seq = 0
        self._reset_counters()

    def _reset_counters(self):
        self._endpoints = Counter()
        self._users = Counter()
        self._grants = Counter()
        self._statuses = Counter()
        self._faults = Counter()
        self._by_endpoint_user = defaultdict(Counter)
        self._by_endpoint_status = defaultdict(Counter)

    def record(self, method, path, endpoint, status, user=None, grant_type=None, fault=None,
               duration_ms=None, client_request_id=None):
        """Add one entry and bump the counters."""
        user = user.lower() if user else None
        now = self._clock()
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + "Z",
                "ts": round(now, 3),
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "grant_type": grant_type,
                "user": user,
                "status": status,
                "fault": fault,
                "duration_ms": duration_ms,
                "client_request_id": client_request_id,
            }
            self._entries.append(entry)
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]
            self._endpoints[endpoint] += 1
            if user:
                self._users[user] += 1
                self._by_endpoint_user[endpoint][user] += 1
            if grant_type:
                self._grants[grant_type] += 1
            self._statuses[str(status)] += 1
            self._by_endpoint_status[endpoint][str(status)] += 1
            if fault:
                self._faults[fault] += 1
        return entry

    def entries(self, since=0, endpoint=None, user=None):
        """Entries with ``seq`` greater than ``since``, optionally filtered."""
        with self._lock:
            items = [dict(e) for e in self._entries if e["seq"] > since]
        if endpoint:
            items = [e for e in items if e["endpoint"] == endpoint]
        if user:
            items = [e for e in items if e["user"] == user.lower()]
        return items

    def counters(self):
        """Totals per endpoint, user, grant, status and injected fault."""
        with self._lock:
            return {
                "total": sum(self._endpoints.values()),
                "last_seq": self._seq,
                "endpoints": dict(self._endpoints),
                "users": dict(self._users),
                "grants": dict(self._grants),
                "statuses": dict(self._statuses),
                "faults": dict(self._faults),
                "by_endpoint_user": {k: dict(v) for k, v in self._by_endpoint_user.items()},
                "by_endpoint_status": {k: dict(v) for k, v in self._by_endpoint_status.items()},
            }

    def reset(self):
        """Forget all entries and counters (``seq`` keeps growing so ``since`` stays valid)."""
        with self._lock:
            self._entries = []
            self._reset_counters()
