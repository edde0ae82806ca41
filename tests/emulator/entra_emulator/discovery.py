"""Discovery endpoints msal reads before it asks for a token.

* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` — Entra's v2 document.  For a
  tenant given by domain the endpoints carry its GUID (so msal's cache realm is the GUID);
  ``organizations``/``common``/``consumers`` keep their name and a ``{tenantid}`` issuer.
  Unknown tenant: 400 ``invalid_tenant`` / AADSTS90002.
* ``GET /{tenant}/discovery/v2.0/keys`` — the JWKS.
* ``GET /common/userrealm/{user}?api-version=1.0`` — Managed, Federated (WS-Trust at the
  emulator's ADFS paths), MSA domains answer Federated with Microsoft-account metadata
  that has no WS-Trust username endpoint (as login.live.com does; msal then raises
  "Unable to find wstrust endpoint from MEX"), anything else Unknown.
* ``GET /common/discovery/instance`` — instance metadata, for clients that point their
  instance discovery at the emulator.
"""

from urllib.parse import unquote

from . import errors
from .faults import apply as apply_fault
from .http import json_response, text_response
from .tokens import id_token_issuer

MULTI_TENANT = ("common", "organizations", "consumers")
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
FEDERATION_AUDIENCE = "urn:federation:MicrosoftOnline"


def openid_configuration(state, request, segment):
    """The v2.0 OpenID configuration for a tenant segment."""
    failure = apply_fault(state.faults, request, "openid_configuration")
    if failure is not None:
        return failure
    key = segment.lower()
    if key in MULTI_TENANT:
        path_tenant = key
        issuer = id_token_issuer(state.url, MSA_TENANT_ID if key == "consumers" else "{tenantid}")
        region = None
    else:
        tenant = state.find_tenant(segment)
        if tenant is None:
            return errors.entra_error(90002, state.url, request, error="invalid_tenant", tenant=segment)
        path_tenant = tenant["id"]
        issuer = id_token_issuer(state.url, tenant["id"])
        region = tenant.get("region_scope", "NA")
    base = "%s/%s" % (state.url, path_tenant)
    doc = {
        "token_endpoint": base + "/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": base + "/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": state.url + "/oidc/userinfo",
        "authorization_endpoint": base + "/oauth2/v2.0/authorize",
        "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": base + "/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                             "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                             "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": base + "/kerberos",
        "tenant_region_scope": region,
        "cloud_instance_name": state.scenario["cloud_instance_name"],
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": state.netloc,
        "rbac_url": "https://pas.windows.net",
    }
    return json_response(200, doc)


def jwks(state, request, segment):
    """The signing keys; Entra lists the same keys for every tenant, with a per-tenant issuer."""
    failure = apply_fault(state.faults, request, "jwks")
    if failure is not None:
        return failure
    key = segment.lower()
    if key in MULTI_TENANT:
        issuer = id_token_issuer(state.url, "{tenantid}")
    else:
        tenant = state.find_tenant(segment)
        if tenant is None:
            return errors.entra_error(90002, state.url, request, error="invalid_tenant", tenant=segment)
        issuer = id_token_issuer(state.url, tenant["id"])
    return json_response(200, state.keys.jwks(issuer))


def user_realm(state, request, raw_user):
    """``/common/userrealm/{user}``: how the user's domain signs in."""
    username = unquote(raw_user)
    failure = apply_fault(state.faults, request, "userrealm", user=username)
    if failure is not None:
        return failure
    domain = username.rsplit("@", 1)[-1].lower() if "@" in username else ""
    cloud = state.scenario["cloud_instance_name"]
    tenant = state.tenant_for_domain(domain)
    if state.is_msa_domain(domain):
        return json_response(200, {
            "ver": "1.0", "account_type": "Federated", "domain_name": domain, "federation_protocol": "WSTrust",
            "federation_metadata_url": state.url + "/_msa/FederationMetadata/2007-06/FederationMetadata.xml",
            "federation_active_auth_url": state.url + "/_msa/rst2.srf",
            "cloud_instance_name": cloud, "cloud_audience_urn": FEDERATION_AUDIENCE})
    if tenant is None:
        return json_response(200, {"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": cloud})
    if domain in tenant["federated_domains"]:
        return json_response(200, {
            "ver": "1.0", "account_type": "Federated", "domain_name": domain, "federation_protocol": "WSTrust",
            "federation_metadata_url": state.url + "/adfs/services/trust/mex",
            "federation_active_auth_url": state.url + "/adfs/services/trust/2005/usernamemixed",
            "cloud_instance_name": cloud, "cloud_audience_urn": FEDERATION_AUDIENCE})
    return json_response(200, {"ver": "1.0", "account_type": "Managed", "domain_name": domain,
                               "cloud_instance_name": cloud, "cloud_audience_urn": FEDERATION_AUDIENCE})


def instance_discovery(state, request):
    """``/common/discovery/instance``: the emulator is its own, only, alias."""
    authorization_endpoint = request.arg("authorization_endpoint", state.url + "/common/oauth2/v2.0/authorize")
    tenant_part = authorization_endpoint.split(state.netloc, 1)[-1].strip("/").split("/", 1)[0] or "common"
    host = state.host
    return json_response(200, {
        "tenant_discovery_endpoint": "%s/%s/v2.0/.well-known/openid-configuration" % (state.url, tenant_part),
        "api-version": request.arg("api-version", "1.1"),
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    })


def msa_federation_metadata(state, request):
    """SAML metadata like login.live.com's: no WS-Trust username/password endpoint in it."""
    failure = apply_fault(state.faults, request, "mex")
    if failure is not None:
        return failure
    xml = ('<?xml version="1.0" encoding="utf-8"?>'
           '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" ID="_emulator-msa" '
           'entityID="urn:federation:MicrosoftOnline">'
           '<RoleDescriptor xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="fed:SecurityTokenServiceType" '
           'protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706">'
           '<fed:PassiveRequestorEndpoint><EndpointReference xmlns="http://www.w3.org/2005/08/addressing">'
           '<Address>%s/_msa/wsfed</Address></EndpointReference></fed:PassiveRequestorEndpoint>'
           '</RoleDescriptor></EntityDescriptor>') % state.url
    return text_response(200, xml, "text/xml; charset=utf-8")
