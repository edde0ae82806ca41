"""Scope handling for the v2 token endpoint: one resource per request, consent, echo.

Rules imitated (Entra v2 endpoint):

* ``openid profile email offline_access`` are OIDC scopes, not a resource.
* A short name (``User.Read``) is a Microsoft Graph permission; a qualified one
  (``https://graph.microsoft.com/User.Read``, ``api://x/Read``,
  ``https://management.core.windows.net//user_impersonation``) names its resource
  before the last ``/``.  Graph is also known as ``00000003-0000-0000-c000-000000000000``.
* Scopes of two resources: AADSTS28000 (named scopes) or AADSTS70011 (with ``.default``);
  ``.default`` mixed with named scopes of the same resource: AADSTS70011.
* No interaction is possible, so every requested permission must already be consented
  (the app's ``consented_scopes``), else AADSTS65001 / consent_required.

What ``scope`` the response echoes (msal caches the access token under it, and a
silent look-up hits only when the requested scopes are a subset):

* named scopes: echoed in the form requested with the canonical case, plus
  ``profile openid email`` for Graph, e.g. ``User.Read profile openid email``
  (the example in Microsoft's ROPC documentation);
* ``.default``: ``profile openid email`` (Graph only) + every consented permission
  qualified by the resource + the requested ``.default`` scope itself, e.g.
  ``profile openid email https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default``,
  as Entra answers (so ``acquire_token_silent([".../.default"])`` hits the cache).
"""

GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC = ("openid", "profile", "email", "offline_access")
OIDC_ECHO = ["profile", "openid", "email"]


class ScopeError(Exception):
    """A scope problem: ``code`` is the AADSTS number, ``fmt`` fills its message."""

    def __init__(self, code, **fmt):
        super().__init__(code)
        self.code = code
        self.fmt = fmt


def resource_key(resource):
    """Compare resources case-insensitively and without trailing slashes; Graph has one key."""
    key = resource.lower().rstrip("/")
    return GRAPH if key in (GRAPH, GRAPH_APP_ID) else key


def split(scope):
    """``(resource as written or None, permission)`` for one scope string."""
    if scope.lower() in OIDC:
        return None, scope.lower()
    if "/" in scope:
        resource, perm = scope.rsplit("/", 1)
        return resource, perm
    return GRAPH, scope


def consented(app):
    """The app's consent grants as ``{resource key: {"aud": ..., "perms": [...]}}``."""
    grants = {}
    for scope in app.get("consented_scopes", []):
        resource, perm = split(scope)
        if resource is None:
            continue
        key = resource_key(resource)
        entry = grants.setdefault(key, {"aud": GRAPH if key == GRAPH else resource, "perms": []})
        if perm not in entry["perms"]:
            entry["perms"].append(perm)
    return grants


def known_resources(tenant, extra=()):
    """Resources this tenant has a service principal for: Graph, and whatever any app was consented to."""
    keys = {GRAPH}
    for app in tenant["apps"]:
        keys.update(consented(app).keys())
    keys.update(resource_key(r) for r in extra)
    return keys


def parse(scope_string):
    """Split a request's ``scope`` into OIDC scopes and the single resource it targets."""
    raw = [s for s in (scope_string or "").split(" ") if s]
    oidc = [s.lower() for s in raw if s.lower() in OIDC]
    resources = {}
    for scope in raw:
        resource, perm = split(scope)
        if resource is None:
            continue
        key = resource_key(resource)
        entry = resources.setdefault(key, {"written": resource, "perms": [], "default": None})
        if perm.lower() == ".default":
            entry["default"] = scope
        else:
            entry["perms"].append((scope[: len(scope) - len(perm)], perm))
    if len(resources) > 1:
        code = 70011 if any(r["default"] for r in resources.values()) else 28000
        raise ScopeError(code, scope=" ".join(raw))
    if not resources:
        resources[GRAPH] = {"written": GRAPH, "perms": [], "default": None}
    key, entry = next(iter(resources.items()))
    if entry["default"] and entry["perms"]:
        raise ScopeError(70011, scope=" ".join(raw))
    return {"oidc": oidc, "resource": key, "written": entry["written"], "perms": entry["perms"],
            "default": entry["default"], "raw": raw}


def grant(request_scopes, app, tenant, user_consented=True, extra_resources=()):
    """What to issue for a parsed scope request: ``{"aud", "scp", "echo", "resource_app"}``.

    Raises ScopeError 500011 for an unknown resource, 65001 when consent is missing.
    """
    key = request_scopes["resource"]
    if key not in known_resources(tenant, extra_resources):
        raise ScopeError(500011, resource=request_scopes["written"], tenant_name=tenant["display_name"])
    grants = consented(app).get(key)
    wants_oidc = "openid" in request_scopes["oidc"]
    is_graph = key == GRAPH
    oidc_scp = ["openid", "profile", "email"] if (wants_oidc and is_graph) else []
    if not user_consented or (grants is None and (request_scopes["default"] or request_scopes["perms"])):
        raise ScopeError(65001)
    aud = GRAPH if is_graph else (grants["aud"] if grants else request_scopes["written"])
    if request_scopes["default"]:
        perms = list(grants["perms"])
        echo = (OIDC_ECHO if oidc_scp else []) + ["%s/%s" % (aud, p) for p in perms] + [request_scopes["default"]]
    else:
        perms, echo = [], []
        by_lower = {p.lower(): p for p in (grants["perms"] if grants else [])}
        for prefix, perm in request_scopes["perms"]:
            canonical = by_lower.get(perm.lower())
            if canonical is None:
                raise ScopeError(65001)
            if canonical not in perms:
                perms.append(canonical)
            echo.append(prefix + canonical)
        echo += OIDC_ECHO if oidc_scp else []
    scp = sorted(set(perms) | set(oidc_scp), key=str.lower)
    resource_app = GRAPH_APP_ID if is_graph else aud
    return {"aud": aud, "scp": scp, "echo": echo, "resource_app": resource_app}
