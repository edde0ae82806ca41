"""The in-memory directory Graph serves: users, groups and memberships per tenant.

Built once from the normalized scenario, then changed by Graph writes (members ``$ref``) and by
``seed_users`` (benchmarks need thousands of users, so seeding must be cheap and deterministic:
the same call always yields the same UPNs and object ids).  Objects are stored under their Graph
property names so the query code can read them without a mapping layer.  A lock guards writes
because the server answers on several threads.
"""

import re
import threading
import uuid
from typing import Iterable, Optional

# Scenario keys that are not Graph properties (sign-in material and emulator switches).
_NOT_PROPERTIES = {"upn", "password", "state", "members", "owners", "federation", "mfa", "apps"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CREATED = "2024-01-01T00:00:00Z"


def is_guid(value: str) -> bool:
    """Whether ``value`` is an object id (Graph routes anything else under /users as a UPN)."""
    return bool(_GUID.match(value or ""))


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _object_id(tenant_id: str, kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-emulator:{tenant_id}:{kind}:{name.lower()}"))


class TenantDirectory:
    """Users and groups of one tenant, indexed the ways Graph looks them up."""

    def __init__(self, tenant_id: str, domains: Iterable[str]):
        self.id = tenant_id
        self.domains = [d.lower() for d in domains] or ["contoso.onmicrosoft.com"]
        self.users: list = []            # insertion order is the listing order
        self.users_by_id: dict = {}
        self.users_by_upn: dict = {}
        self.groups: list = []
        self.groups_by_id: dict = {}
        self.seeded = 0
        self.lock = threading.RLock()

    @property
    def default_domain(self) -> str:
        """The domain seeded users get (the first one the scenario lists)."""
        return self.domains[0]

    def add_user(self, props: dict) -> dict:
        """Add one user given its Graph properties (``userPrincipalName`` required)."""
        upn = props["userPrincipalName"]
        user = {
            "id": props.get("id") or _object_id(self.id, "user", upn),
            "displayName": upn.split("@")[0],
            "mail": None,
            "accountEnabled": True,
            "userType": "Member",
            "createdDateTime": _CREATED,
            "mailNickname": upn.split("@")[0],
            "businessPhones": [],
            "@odata.type": "#microsoft.graph.user",
        }
        user.update({k: v for k, v in props.items() if v is not None})
        with self.lock:
            self.users.append(user)
            self.users_by_id[user["id"].lower()] = user
            self.users_by_upn[upn.lower()] = user
        return user

    def add_group(self, props: dict) -> dict:
        """Add one group given its Graph properties (``displayName`` required)."""
        name = props["displayName"]
        nick = re.sub(r"[^A-Za-z0-9]", "", name) or "group"
        group = {
            "id": props.get("id") or _object_id(self.id, "group", name),
            "createdDateTime": _CREATED,
            "description": None,
            "groupTypes": [],
            "mailEnabled": False,
            "mailNickname": nick,
            "securityEnabled": True,
            "isAssignableToRole": None,
            "renewedDateTime": _CREATED,
            "@odata.type": "#microsoft.graph.group",
        }
        group.update({k: v for k, v in props.items() if v is not None})
        group["_members"] = []
        group["_member_set"] = set()
        with self.lock:
            self.groups.append(group)
            self.groups_by_id[group["id"].lower()] = group
        return group

    def user(self, key: str) -> Optional[dict]:
        """A user by object id or UPN (case-insensitive), as ``/users/{id | userPrincipalName}``."""
        key = (key or "").lower()
        return self.users_by_id.get(key) or self.users_by_upn.get(key)

    def group(self, key: str) -> Optional[dict]:
        """A group by object id."""
        return self.groups_by_id.get((key or "").lower())

    def object(self, key: str) -> Optional[dict]:
        """Any directory object by id (what ``directoryObjects/{id}`` resolves)."""
        key = (key or "").lower()
        return self.users_by_id.get(key) or self.groups_by_id.get(key)

    def members(self, group: dict) -> list:
        """The group's direct members as directory objects, in the order they were added."""
        with self.lock:
            ids = list(group["_members"])
        return [obj for obj in (self.object(i) for i in ids) if obj is not None]

    def add_member(self, group: dict, obj: dict) -> bool:
        """Add ``obj`` to ``group``; False when it already was a member."""
        with self.lock:
            key = obj["id"].lower()
            if key in group["_member_set"]:
                return False
            group["_member_set"].add(key)
            group["_members"].append(key)
            return True

    def remove_member(self, group: dict, object_id: str) -> bool:
        """Remove a member by id; False when it was not a member."""
        with self.lock:
            key = object_id.lower()
            if key not in group["_member_set"]:
                return False
            group["_member_set"].discard(key)
            group["_members"].remove(key)
            return True


def _user_props(raw: dict) -> dict:
    props = {_camel(k): v for k, v in raw.items() if k not in _NOT_PROPERTIES}
    props["userPrincipalName"] = raw["upn"]
    if raw.get("state") == "disabled":
        props["accountEnabled"] = False
    if "displayName" not in props:
        given, sur = raw.get("given_name"), raw.get("surname")
        if given or sur:
            props["displayName"] = " ".join(p for p in (given, sur) if p)
    return props


class GraphDirectory:
    """All tenants' directories, built from ``state.scenario``."""

    def __init__(self, state):
        self.tenants: dict = {}
        self._by_domain: dict = {}
        scenario = getattr(state, "scenario", None) or {}
        for raw in scenario.get("tenants", []):
            self._load_tenant(raw)

    def _load_tenant(self, raw: dict) -> TenantDirectory:
        tenant = TenantDirectory(raw["id"], raw.get("domains") or [])
        self.tenants[tenant.id.lower()] = tenant
        for domain in tenant.domains:
            self._by_domain[domain] = tenant
        for user in raw.get("users", []):
            tenant.add_user(_user_props(user))
        for graw in raw.get("groups", []):
            props = {_camel(k): v for k, v in graw.items() if k not in _NOT_PROPERTIES}
            group = tenant.add_group(props)
            for member in graw.get("members", []):
                obj = tenant.user(member) or tenant.object(member)
                if obj is not None:
                    tenant.add_member(group, obj)
        return tenant

    def tenant(self, key: Optional[str] = None) -> Optional[TenantDirectory]:
        """A tenant by id or domain; the first tenant when ``key`` is None."""
        if key is None:
            return next(iter(self.tenants.values()), None)
        key = key.lower()
        return self.tenants.get(key) or self._by_domain.get(key)

    def seed_users(self, count: int, tenant_id: Optional[str] = None) -> int:
        """Add ``count`` users ``userNNNNN@<first domain>`` deterministically; returns ``count``.

        Numbering continues after earlier seeds, so two calls of 5 000 equal one of 10 000.
        """
        tenant = self.tenant(tenant_id)
        if tenant is None:
            raise KeyError(f"unknown tenant {tenant_id!r}")
        with tenant.lock:
            start = tenant.seeded
            for number in range(start + 1, start + count + 1):
                upn = f"user{number:05d}@{tenant.default_domain}"
                if upn not in tenant.users_by_upn:
                    tenant.add_user({
                        "userPrincipalName": upn, "displayName": f"User {number:05d}",
                        "givenName": "User", "surname": f"{number:05d}", "mail": upn,
                        "jobTitle": "Seeded user", "mailNickname": f"user{number:05d}",
                    })
            tenant.seeded = start + count
        return count
