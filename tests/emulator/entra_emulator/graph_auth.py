"""Bearer-token checks for the Graph emulator, answering with Graph's own 401 and 403 bodies.

Graph validates the access token before anything else: missing token, malformed JWT, bad
signature, wrong audience and expiry each give ``401 InvalidAuthenticationToken`` with a
distinct message (clients refresh on "expired" and give up on the others).  Then each endpoint
needs one of a set of delegated scopes (``scp``) or application roles (``roles``); lacking them
gives ``403 Authorization_RequestDenied``.  Tokens do not cross clouds: the accepted audiences
depend on the Graph host the request was addressed to, and for a loopback host on the
scenario's cloud, unless ``state.graph_audiences`` ({host: [aud, ...]}) says otherwise.
"""

import time
from typing import Iterable, Optional

import jwt

from .graph_context import GraphError

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# Graph host -> (its resource URLs, the login host that issues tokens for it)
CLOUD_GRAPH = {
    "graph.microsoft.com": (("https://graph.microsoft.com",), "login.microsoftonline.com"),
    "graph.microsoft.us": (("https://graph.microsoft.us",), "login.microsoftonline.us"),
    "dod-graph.microsoft.us": (("https://dod-graph.microsoft.us",), "login.microsoftonline.us"),
    "microsoftgraph.chinacloudapi.cn": (("https://microsoftgraph.chinacloudapi.cn",), "login.chinacloudapi.cn"),
}
# cloud_instance_name of the scenario -> Graph hosts of that cloud (a loopback Graph stands for them)
INSTANCE_GRAPH_HOSTS = {
    "microsoftonline.com": ("graph.microsoft.com",),
    "microsoftonline.us": ("graph.microsoft.us", "dod-graph.microsoft.us"),
    "partner.microsoftonline.cn": ("microsoftgraph.chinacloudapi.cn",),
    "chinacloudapi.cn": ("microsoftgraph.chinacloudapi.cn",),
}

NOT_WELL_FORMED = ("IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact "
                   "Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): "
                   "'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext."
                   "EncodedAuthenticationTag'.")

_DIRECTORY_ALL = ("Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
ME = ("User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All") + _DIRECTORY_ALL
USERS_READ = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All") + _DIRECTORY_ALL
GROUPS_READ = ("GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All") + _DIRECTORY_ALL
MEMBERS_READ = GROUPS_READ
MEMBERS_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")


def _host_name(host: str) -> str:
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def graph_hosts(state, host: str) -> tuple:
    """The real Graph hosts a request to ``host`` stands for (a loopback host: the scenario's cloud)."""
    name = _host_name(host)
    if name in CLOUD_GRAPH:
        return (name,)
    instance = ((getattr(state, "scenario", None) or {}).get("cloud_instance_name") or "microsoftonline.com").lower()
    return INSTANCE_GRAPH_HOSTS.get(instance, ("graph.microsoft.com",))


def accepted_audiences(state, host: str) -> set:
    """Audiences Graph at ``host`` accepts: its resource URLs (with or without '/') and Graph's app id."""
    overrides = getattr(state, "graph_audiences", None) or {}
    for key in (host, _host_name(host), "*"):
        if key in overrides:
            return {a.rstrip("/").lower() for a in overrides[key]}
    auds = {GRAPH_APP_ID}
    for name in graph_hosts(state, host):
        auds.update(a.lower() for a in CLOUD_GRAPH[name][0])
    return auds


def www_authenticate(state, host: str) -> str:
    """The WWW-Authenticate header Graph adds to its 401s."""
    login = CLOUD_GRAPH[graph_hosts(state, host)[0]][1]
    return (f'Bearer realm="", authorization_uri="https://{login}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"')


def _unauthorized(state, host: str, message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": www_authenticate(state, host)})


def authenticate(state, authorization: Optional[str], host: str, now: Optional[float] = None) -> dict:
    """The claims of a valid bearer token, or the GraphError (401) Graph would answer."""
    scheme, _unused, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(state, host, "Access token is empty.")
    if "." not in token:
        raise _unauthorized(state, host, NOT_WELL_FORMED)
    keys = getattr(state, "keys", None)
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise jwt.InvalidTokenError("algorithm")
        kid = getattr(keys, "kid", None)
        if kid and header.get("kid") and header["kid"] != kid:
            raise jwt.InvalidTokenError("unknown signing key")
        claims = jwt.decode(token, keys.public_key, algorithms=["RS256"],
                            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False, "verify_iss": False})
    except (jwt.InvalidTokenError, AttributeError, ValueError) as exc:
        raise _unauthorized(state, host, "Access token validation failure.") from exc
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    allowed = accepted_audiences(state, host)
    if not any(isinstance(a, str) and a.rstrip("/").lower() in allowed for a in audiences):
        raise _unauthorized(state, host, "Access token validation failure. Invalid audience.")
    now = time.time() if now is None else now
    if not isinstance(claims.get("exp"), (int, float)) or now >= claims["exp"]:
        raise _unauthorized(state, host, "Lifetime validation failed, the token is expired.")
    if isinstance(claims.get("nbf"), (int, float)) and now < claims["nbf"]:
        raise _unauthorized(state, host, "Lifetime validation failed, the token is not yet valid.")
    return claims


def is_delegated(claims: dict) -> bool:
    """A user token (``scp``) rather than an app-only token (``roles``, ``idtyp: app``).

    ``idtyp`` decides when present (an app token without any role is still app-only); older
    tokens without it are delegated when they carry ``scp`` or no ``roles``.
    """
    if claims.get("idtyp"):
        return claims["idtyp"] != "app"
    return bool(claims.get("scp")) or not claims.get("roles")


def granted(claims: dict) -> set:
    """The permissions a token carries, lower-cased (delegated ``scp`` or application ``roles``)."""
    if is_delegated(claims):
        return {s.lower() for s in (claims.get("scp") or "").split()}
    return {r.lower() for r in claims.get("roles") or []}


def require(claims: dict, any_of: Iterable[str]) -> None:
    """Raise Graph's 403 unless the token holds at least one of ``any_of``.

    App-only tokens are judged by their application permissions (``roles``) only: e.g. /users needs
    User.Read.All, User.ReadWrite.All, Directory.Read.All or Directory.ReadWrite.All.
    """
    held = granted(claims)
    if not any(p.lower() in held for p in any_of):
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
