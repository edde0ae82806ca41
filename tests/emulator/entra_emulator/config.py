"""Scenario loading: turn a scenario JSON file into one normalized plain-dict shape.

Every other module (OAuth, WS-Trust, Graph) reads ``state.scenario`` and relies on
the keys filled in here, so defaults live in exactly one place.  The shape::

    {"tenants": [{"id": GUID, "domains": [...], "federated_domains": [...],
                  "display_name": str,
                  "apps": [{"client_id", "display_name", "public_client": bool,
                            "consented_scopes": [...]}],
                  "users": [{"upn", "password", "state", "id", "display_name",
                             "given_name", "surname", "mail", "job_title",
                             "federated": bool, "token_lifetime": int|None, ...}],
                  "groups": [{"id", "display_name", "description", "members": [upn...]}]}],
     "msa_domains": [...], "token_lifetime": 3600, "refresh_token_lifetime": 86400,
     "demo": {"tenant", "client_id", "username", "password"}, "faults": [...]}
"""

import copy
import datetime
import json
import os
import uuid

DEFAULT_SCENARIO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "scenarios", "default.json")

# User states and the AADSTS code each one produces (see oauth_errors.py).
USER_STATES = (
    "ok", "mfa_required", "mfa_enrollment", "conditional_access", "locked", "disabled",
    "password_expired", "consent_missing", "external_challenge",
)


def user_object_id(upn):
    """Stable object id for a user: the same UPN always gets the same GUID."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "user:" + upn.lower()))


def group_object_id(tenant_id, name):
    """Stable object id for a group, scoped by tenant."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "group:%s:%s" % (tenant_id, name.lower())))


def tenant_id_for(domain):
    """Stable tenant GUID derived from its first domain when the scenario gives none."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, domain.lower()))


def _split_name(upn):
    local = upn.split("@", 1)[0]
    parts = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    given = parts[0].capitalize() if parts else local
    surname = parts[-1].capitalize() if len(parts) > 1 else ""
    return given, surname


def normalize_user(user, tenant):
    """Fill every user key other modules expect; unknown keys are kept as they are."""
    out = dict(user)
    upn = out["upn"].strip()
    out["upn"] = upn
    domain = upn.rsplit("@", 1)[-1].lower()
    given, surname = _split_name(upn)
    out.setdefault("password", "")
    out.setdefault("state", "ok")
    if out["state"] not in USER_STATES:
        raise ValueError("user %s: unknown state %r (known: %s)" % (upn, out["state"], ", ".join(USER_STATES)))
    out.setdefault("id", user_object_id(upn))
    out.setdefault("given_name", given)
    out.setdefault("surname", surname)
    out.setdefault("display_name", (given + " " + surname).strip())
    out.setdefault("mail", upn)
    out.setdefault("job_title", None)
    out.setdefault("department", None)
    out.setdefault("office_location", None)
    out.setdefault("mobile_phone", None)
    out.setdefault("business_phones", [])
    out.setdefault("user_type", "Member")
    out.setdefault("account_enabled", out["state"] != "disabled")
    out.setdefault("federated", domain in tenant.get("federated_domains", []))
    out.setdefault("token_lifetime", None)
    out.setdefault("refresh_token_lifetime", None)
    return out


def parse_time(value):
    """Epoch seconds from an ISO-8601 date/time ("2030-01-01", "2020-01-01T00:00:00Z") or a number; None stays None."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value).strip().replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def normalize_app(app):
    """Apps default to public clients with no consent and no credentials; scopes are kept verbatim.

    Confidential apps list ``client_secrets`` (``{"value", "expires"}``; the older single
    ``client_secret`` string is one of them), ``certificates`` (``{"name", "expired", "path"}``),
    ``federated_credentials`` (``{"name", "issuer", "subject", "audiences"}``) and ``app_roles``
    (application permissions with admin consent, e.g. ``User.Read.All``); ``enabled: false``
    disables the app (AADSTS7000112).
    """
    out = dict(app)
    out["client_id"] = out["client_id"].lower()
    out.setdefault("display_name", "app " + out["client_id"][:8])
    out.setdefault("public_client", True)
    out["consented_scopes"] = list(out.get("consented_scopes", []))
    secrets = [dict(s) if isinstance(s, dict) else {"value": s} for s in out.pop("client_secrets", [])]
    if out.get("client_secret"):
        secrets.append({"value": out.pop("client_secret")})
    for secret in secrets:
        secret["expires_at"] = parse_time(secret.get("expires"))
    if secrets:
        out["client_secrets"] = secrets
    for key in ("certificates", "federated_credentials", "app_roles"):
        if out.get(key):
            out[key] = list(out[key])
        else:
            out.pop(key, None)
    for credential in out.get("federated_credentials", []):
        credential.setdefault("audiences", ["api://AzureADTokenExchange"])
    return out


def normalize_group(group, tenant_id):
    """Groups list their members by UPN; ids are derived when absent."""
    out = dict(group)
    out.setdefault("display_name", out.get("name", "group"))
    out.setdefault("id", group_object_id(tenant_id, out["display_name"]))
    out.setdefault("description", None)
    out.setdefault("mail_nickname", out["display_name"].replace(" ", ""))
    out.setdefault("security_enabled", True)
    out.setdefault("mail_enabled", False)
    out["members"] = list(out.get("members", []))
    return out


def normalize_tenant(tenant):
    """A tenant is known by its GUID and by each of its (lower-cased) domains."""
    out = dict(tenant)
    domains = [d.lower() for d in out.get("domains", [])]
    federated = [d.lower() for d in out.get("federated_domains", [])]
    for domain in federated:
        if domain not in domains:
            domains.append(domain)
    if not domains:
        raise ValueError("a tenant needs at least one domain")
    out["domains"] = domains
    out["federated_domains"] = federated
    out["id"] = (out.get("id") or tenant_id_for(domains[0])).lower()
    out.setdefault("display_name", domains[0])
    out["apps"] = [normalize_app(a) for a in out.get("apps", [])]
    out["users"] = [normalize_user(u, out) for u in out.get("users", [])]
    out["groups"] = [normalize_group(g, out["id"]) for g in out.get("groups", [])]
    return out


def load_scenario(path_or_dict=None):
    """Load and normalize a scenario from a path, a dict, or the default file."""
    if path_or_dict is None:
        path_or_dict = DEFAULT_SCENARIO
    if isinstance(path_or_dict, dict):
        raw = copy.deepcopy(path_or_dict)
    else:
        with open(path_or_dict, encoding="utf-8") as handle:
            raw = json.load(handle)
    out = dict(raw)
    out["tenants"] = [normalize_tenant(t) for t in raw.get("tenants", [])]
    if not out["tenants"]:
        raise ValueError("a scenario needs at least one tenant")
    out["msa_domains"] = [d.lower() for d in raw.get("msa_domains", [])]
    out.setdefault("token_lifetime", 3600)
    out.setdefault("refresh_token_lifetime", 86400)
    out.setdefault("faults", [])
    out.setdefault("cloud_instance_name", "microsoftonline.com")
    out.setdefault("device_code_interval", 5)
    out.setdefault("device_code_expires_in", 900)
    out.setdefault("federation_issuers", ["ci"])
    out["demo"] = _demo(out, raw.get("demo") or {})
    out["demo_app"] = _demo_app(out, raw.get("demo_app") or {})
    return out


def _demo(scenario, demo):
    """The demo user: explicit, else the first ``ok`` managed user of the first tenant."""
    tenant = scenario["tenants"][0]
    if demo.get("username"):
        username = demo["username"]
        for candidate in scenario["tenants"]:
            if username.rsplit("@", 1)[-1].lower() in candidate["domains"]:
                tenant = candidate
    else:
        users = [u for u in tenant["users"] if u["state"] == "ok" and not u["federated"]]
        username = users[0]["upn"] if users else ""
    user = next((u for u in tenant["users"] if u["upn"].lower() == username.lower()), {})
    apps = [a for a in tenant["apps"] if a["public_client"] and a["consented_scopes"]]
    return {
        "tenant": demo.get("tenant", tenant["domains"][0]),
        "tenant_id": tenant["id"],
        "client_id": demo.get("client_id", apps[0]["client_id"] if apps else ""),
        "username": username,
        "password": demo.get("password", user.get("password", "")),
    }


def _demo_app(scenario, demo):
    """The demo service principal: explicit ``demo_app.client_id``, else the first enabled app with a secret.

    Holds what a client needs besides the certificate files (run.py adds those): tenant, client id,
    a valid client secret and the first federated credential (issuer, subject, audience).
    """
    for tenant in scenario["tenants"]:
        for app in tenant["apps"]:
            wanted = demo.get("client_id")
            if (wanted and app["client_id"] == wanted.lower()) or (
                    not wanted and app.get("enabled", True) and app.get("client_secrets")):
                secret = next((s["value"] for s in app.get("client_secrets", []) if s.get("expires_at") is None), None)
                federated = (app.get("federated_credentials") or [None])[0]
                return {"tenant": demo.get("tenant", tenant["domains"][0]), "tenant_id": tenant["id"],
                        "client_id": app["client_id"], "display_name": app["display_name"], "client_secret": secret,
                        "app_roles": list(app.get("app_roles", [])),
                        "federated": None if federated is None else {
                            "issuer": federated["issuer"], "subject": federated["subject"],
                            "audience": federated["audiences"][0]}}
    return None
