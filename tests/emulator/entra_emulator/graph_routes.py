"""URL routing for the Graph emulator: path segments and method -> handler and required permissions.

Graph routes by OData segments, case-insensitively, and answers an unknown segment with
``400 BadRequest "Resource not found for the segment '...'"`` (not 404) and a known resource
with the wrong method with ``405``.  Keeping the table here lets graph.py check scopes before a
handler runs, for outer requests and $batch items alike.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from . import graph_handlers as h
from .graph_auth import GROUPS_READ, ME, MEMBERS_READ, MEMBERS_WRITE, USERS_READ
from .graph_context import bad_segment, method_not_allowed


@dataclass
class Route:
    """What to run for one request, and which permissions it needs (None: no check)."""

    handler: Callable
    perms: Optional[Tuple[str, ...]]
    params: dict = field(default_factory=dict)
    self_key: Optional[str] = None   # /users/{key}: the caller reading itself needs only ME
    delegated_only: bool = False     # /me: an app-only token gets 400, whatever its roles


def _pick(method: str, table: dict, params: Optional[dict] = None, self_key: Optional[str] = None) -> Route:
    if method not in table:
        raise method_not_allowed()
    handler, perms = table[method]
    return Route(handler, perms, params or {}, self_key)


def _members(method: str, segs: list, group_id: str) -> Route:
    """Segments after ``/groups/{id}/members``."""
    params = {"id": group_id}
    if not segs:
        return _pick(method, {"GET": (h.list_members, MEMBERS_READ)}, params)
    first = segs[0].lower()
    if first == "$ref" and len(segs) == 1:
        return _pick(method, {"GET": (h.list_member_refs, MEMBERS_READ), "POST": (h.add_member_ref, MEMBERS_WRITE),
                              "DELETE": (h.remove_member_ref, MEMBERS_WRITE)}, params)
    if first == "$count" and len(segs) == 1:
        return _pick(method, {"GET": (h.count_members, MEMBERS_READ)}, params)
    if first in h.CASTS:
        params["cast"] = first
        if len(segs) == 1:
            return _pick(method, {"GET": (h.list_members, MEMBERS_READ)}, params)
        if len(segs) == 2 and segs[1].lower() == "$count":
            return _pick(method, {"GET": (h.count_members, MEMBERS_READ)}, params)
        raise bad_segment(segs[1])
    params["member"] = segs[0]
    if len(segs) == 1:
        return _pick(method, {"GET": (h.get_member, MEMBERS_READ)}, params)
    if segs[1].lower() == "$ref" and len(segs) == 2:
        return _pick(method, {"DELETE": (h.remove_member_ref, MEMBERS_WRITE)}, params)
    raise bad_segment(segs[1])


def _collection(method: str, segs: list, name: str) -> Route:
    """``/users...`` and ``/groups...``."""
    if name == "users":
        listing, count, single, perms = h.list_users, h.count_users, h.get_user, USERS_READ
    else:
        listing, count, single, perms = h.list_groups, h.count_groups, h.get_group, GROUPS_READ
    if len(segs) == 1:
        return _pick(method, {"GET": (listing, perms)})
    if segs[1].lower() == "$count":
        if len(segs) > 2:
            raise bad_segment(segs[2])
        return _pick(method, {"GET": (count, perms)})
    key = segs[1]
    if len(segs) == 2:
        return _pick(method, {"GET": (single, perms)}, {"id": key}, key if name == "users" else None)
    if name == "groups" and segs[2].lower() == "members":
        return _members(method, segs[3:], key)
    raise bad_segment(segs[2])


def resolve(method: str, segs: list) -> Route:
    """The route for ``segs`` (the decoded path segments after the version)."""
    method = method.upper()
    if not segs:
        return _pick(method, {"GET": (h.service_document, None)})
    head = segs[0].lower()
    if head == "me":
        if len(segs) > 1:
            raise bad_segment(segs[1])
        route = _pick(method, {"GET": (h.get_me, ME)})
        route.delegated_only = True
        return route
    if head in ("users", "groups"):
        return _collection(method, segs, head)
    raise bad_segment(segs[0])
