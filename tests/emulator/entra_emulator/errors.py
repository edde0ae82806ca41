"""Entra's OAuth error responses: the AADSTS catalogue and the exact body shape.

Bodies follow what Entra sends (see the reference ``entra-ropc-wire.md`` and
Microsoft's error-code reference): ``error``, ``error_description`` =
``"AADSTSnnnnn: text\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: ..."``,
``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id`` (the caller's
``client-request-id`` when it sent one), ``error_uri`` and, where Entra sends them,
``suberror`` and ``claims``.  Status is 400, except 401 for ``invalid_client``.
"""

import json
import time
import uuid

from .http import json_response

# code: (error, suberror, message template).  A code Entra words differently by cause is keyed
# "code:variant" (the number before the colon is what ``error_codes`` carries).
CATALOGUE = {
    50126: ("invalid_grant", None, "Error validating credentials due to invalid username or password."),
    50034: ("invalid_grant", None, "The user account {{EmailHidden}} does not exist in the {tenant} directory. "
                                   "To sign into this application, the account must be added to the directory."),
    50076: ("invalid_grant", "basic_action", "Due to a configuration change made by your administrator, or because you "
                                             "moved to a new location, you must use multi-factor authentication to "
                                             "access '{resource_app}'."),
    50079: ("invalid_grant", "basic_action", "Due to a configuration change made by your administrator, or because you "
                                             "moved to a new location, you must enroll in multi-factor authentication "
                                             "to access '{resource_app}'."),
    65001: ("invalid_grant", "consent_required", "The user or administrator has not consented to use the application "
                                                 "with ID '{client_id}' named '{app_name}'. Send an interactive "
                                                 "authorization request for this user and resource."),
    53003: ("invalid_grant", "message_only", "Access has been blocked by Conditional Access policies. The access policy "
                                             "does not allow token issuance."),
    50053: ("invalid_grant", None, "The account is locked, you've tried to sign in too many times with an incorrect "
                                   "user ID or password."),
    50055: ("invalid_grant", "user_password_expired", "The password is expired."),
    50057: ("invalid_grant", None, "The user account is disabled."),
    50158: ("interaction_required", None, "External security challenge not satisfied. User will be redirected to "
                                          "another page or authentication provider to satisfy additional "
                                          "authentication challenges."),
    700016: ("unauthorized_client", None, "Application with identifier '{client_id}' was not found in the directory "
                                          "'{tenant_name}'. This can happen if the application has not been installed "
                                          "by the administrator of the tenant or consented to by any user in the "
                                          "tenant. You may have sent your authentication request to the wrong tenant."),
    7000218: ("invalid_client", None, "The request body must contain the following parameter: 'client_assertion' or "
                                      "'client_secret'."),
    7000215: ("invalid_client", None, "Invalid client secret provided. Ensure the secret being sent in the request is "
                                      "the client secret value, not the client secret ID, for a secret added to app "
                                      "'{client_id}'."),
    9001023: ("invalid_request", None, "The grant type is not supported over the /common or /consumers endpoints. "
                                       "Please use the /organizations or tenant-specific endpoint."),
    70011: ("invalid_scope", None, "The provided request must include a 'scope' input parameter. The provided value "
                                   "for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
    28000: ("invalid_request", None, "Provided value for the input parameter scope is not valid because it contains "
                                     "more than one resource. Scope {scope} is not valid."),
    90002: ("invalid_request", None, "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                                     "and are signing into the correct cloud. Check with your subscription "
                                     "administrator, this may happen if there are no active subscriptions for the "
                                     "tenant."),
    700082: ("invalid_grant", None, "The refresh token has expired due to inactivity. The token was issued on "
                                    "{issued} and was inactive for {inactive}."),
    50173: ("invalid_grant", None, "The provided grant has expired due to it being revoked, a fresh auth token is "
                                   "needed. The user might have changed or reset their password. The grant was issued "
                                   "on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for "
                                   "this user is '{valid_from}'."),
    9002313: ("invalid_grant", None, "Invalid request. Request is malformed or invalid."),
    70000: ("invalid_grant", None, "Provided grant is invalid or malformed."),
    900144: ("invalid_request", None, "The request body must contain the following parameter: '{param}'."),
    900561: ("invalid_request", None, "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."),
    70003: ("unsupported_grant_type", None, "The app requested an unsupported grant type '{grant_type}'."),
    500011: ("invalid_resource", None, "The resource principal named {resource} was not found in the tenant named "
                                       "{tenant_name}. This can happen if the application has not been installed by "
                                       "the administrator of the tenant or consented to by any user in the tenant. "
                                       "You might have sent your authentication request to the wrong tenant."),
    50008: ("invalid_grant", None, "SAML token is invalid."),
    50107: ("invalid_request", None, "The requested federation realm object '{realm}' does not exist."),
    # ---- device code (RFC 8628 as Entra answers it) ----
    70016: ("authorization_pending", None, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."),
    "70016:slow_down": ("slow_down", None, "OAuth 2.0 device flow error. Polling too frequently: wait {interval} seconds "
                                           "between requests."),
    "70000:declined": ("authorization_declined", None, "The end user denied the authorization request."),
    70018: ("bad_verification_code", None, "The provided value for the input parameter 'device_code' is not valid."),
    70020: ("expired_token", None, "The provided value for the input parameter 'device_code' is not valid. This device "
                                   "code has expired."),
    70043: ("invalid_grant", "token_expired", "The refresh token has expired or is invalid due to sign-in frequency "
                                              "checks by conditional access. The token was issued on {issued} and the "
                                              "maximum allowed lifetime for this request is {seconds}."),
    # ---- client credentials ----
    7000222: ("invalid_client", None, "The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
                                      "portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
                                      "consider using certificate credentials for added security: https://aka.ms/certCreds."),
    "700027:not_registered": ("invalid_client", None, "The certificate with identifier used to sign the client assertion "
                              "is not registered on application. [Reason - The key was not found., Thumbprint of key used "
                              "by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS "
                              "Graph to see configured keys for app Id '{client_id}'. Review the documentation at "
                              "https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service "
                              "endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0"
                              "&tabs=http to build a query request URL, such as "
                              "'https://graph.microsoft.com/beta/applications/{client_id}']."),
    "700027:signature": ("invalid_client", None, "Client assertion contains an invalid signature. [Reason - The provided "
                         "signature value did not match the expected signature value., Thumbprint of key used by client: "
                         "'{thumbprint}', Found key 'Start={start}, End={end}']."),
    "700027:expired_key": ("invalid_client", None, "Client assertion contains an invalid signature. [Reason - The key used "
                           "is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={start}, "
                           "End={end}']."),
    700024: ("invalid_client", None, "Client assertion is not within its valid time range. Current time: {now}, assertion "
                                     "valid from {nbf}, expiry time of assertion {exp}. Review the documentation at "
                                     "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."),
    700021: ("invalid_client", None, "Client assertion application identifier doesn't match 'client_id' parameter. Review "
                                     "the documentation at "
                                     "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."),
    50012: ("invalid_client", None, "Client assertion audience does not match Realm issuer."),
    50027: ("invalid_request", None, "JWT token is invalid or malformed."),
    700211: ("invalid_client", None, "No matching federated identity record found for presented assertion issuer "
                                     "'{issuer}'. Check your federated identity credential Subject, Audience and Issuer "
                                     "against the presented assertion. "
                                     "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    700212: ("invalid_client", None, "No matching federated identity record found for presented assertion audience "
                                     "'{audience}'. Check your federated identity credential Subject, Audience and Issuer "
                                     "against the presented assertion. "
                                     "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    700213: ("invalid_client", None, "No matching federated identity record found for presented assertion subject "
                                     "'{subject}'. Check your federated identity credential Subject, Audience and Issuer "
                                     "against the presented assertion. "
                                     "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    70021: ("invalid_request", None, "No matching federated identity record found for presented assertion. Assertion "
                                     "Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: "
                                     "'{audience}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/"
                                     "workload-identity-federation"),
    7000112: ("unauthorized_client", None, "Application '{client_id}'({app_name}) is disabled."),
    1002012: ("invalid_scope", None, "The provided value for scope {scope} is not valid. Client credential flows must "
                                     "have a scope value with /.default suffixed to the resource identifier (application "
                                     "ID URI)."),
    90014: ("invalid_request", None, "The required field '{field}' is missing from the credential. Ensure that you have "
                                     "all the necessary parameters for the login request."),
    70002: ("invalid_client", None, "Error validating credentials."),
}

# How older (v1 endpoint, ADAL-era) answers worded a code inside a multi-code body, e.g.
# "AADSTS70002: Error validating credentials. AADSTS50126: Invalid username or password".
LEGACY_TEXT = {
    70002: "Error validating credentials.",
    50126: "Invalid username or password",
    50053: "You've tried to sign in too many times with an incorrect user ID or password.",
    50012: "Client assertion is not within its valid time range.",
    50027: "Invalid JWT token. No certificate thumbprint specified in token header.",
}


class Refusal(Exception):
    """Stop processing a token request and answer with an Entra error.

    ``code`` is a CATALOGUE key; ``fmt`` fills its message; ``claims`` and ``error`` override
    the body's ``claims`` and ``error``.
    """

    def __init__(self, code, claims=None, error=None, **fmt):
        super().__init__(code)
        self.code = code
        self.claims = claims
        self.error = error
        self.fmt = fmt

    def response(self, base_url, request):
        """The error Response for this refusal."""
        return entra_error(self.code, base_url, request, claims=self.claims, error=self.error, **self.fmt)


class LegacyRefusal(Refusal):
    """A refusal answered with several codes in the older wording (see multi_error_body)."""

    def __init__(self, codes, error=None):
        super().__init__(codes[-1], error=error)
        self.codes = list(codes)

    def response(self, base_url, request):
        return error_response(multi_error_body(self.codes, base_url, request, error=self.error), request)


def code_number(code):
    """The AADSTS number of a CATALOGUE key (``700027:signature`` -> 700027)."""
    return int(str(code).split(":", 1)[0])


def entra_timestamp(epoch=None):
    """Entra's ``YYYY-MM-DD HH:MM:SSZ`` timestamps."""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(time.time() if epoch is None else epoch))


def iso_timestamp(epoch):
    """The 7-digit-fraction ISO form used inside AADSTS700082/50173 texts."""
    whole = int(epoch)
    fraction = int(round((epoch - whole) * 10 ** 7))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%07dZ" % min(fraction, 9999999)


def inactive_span(seconds):
    """``d.hh:mm:ss`` as Entra writes inactivity spans."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return "%d.%02d:%02d:%02d" % (days, hours, minutes, secs)


def correlation_id(request):
    """The caller's ``client-request-id`` (Entra echoes it), else a fresh GUID."""
    value = request.header("client-request-id") if request is not None else None
    return value or str(uuid.uuid4())


def ests_headers(trace_id, corr, request=None):
    """Headers Entra's token service puts on every answer."""
    headers = {
        "Cache-Control": "no-store, no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "x-ms-request-id": trace_id,
        "x-ms-ests-server": "2.1.emulator",
    }
    if request is not None and request.header("client-request-id"):
        headers["client-request-id"] = corr
    return headers


def error_body(code, base_url, request=None, claims=None, error=None, **fmt):
    """The JSON object Entra answers with for ``code`` (a CATALOGUE key; message filled from ``fmt``)."""
    default_error, suberror, template = CATALOGUE[code]
    number = code_number(code)
    body = _body([number], "AADSTS%d: %s" % (number, template.format(**fmt)), error or default_error, base_url,
                 request)
    if suberror:
        body["suberror"] = suberror
    if claims is not None:
        body["claims"] = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    return body


def multi_error_body(codes, base_url, request=None, error=None, legacy=True):
    """A body that carries several codes, as older Entra answers did ("error_codes": [70002, 50126]).

    The description chains ``AADSTSnnnnn: text`` for each code (the older wording when ``legacy``);
    ``error`` defaults to the last (most specific) code's.
    """
    codes = [int(c) for c in codes]
    parts = []
    for number in codes:
        text = LEGACY_TEXT.get(number) if legacy else None
        if text is None:
            text = CATALOGUE[number][2].split(" {", 1)[0] if number in CATALOGUE else "Error."
        parts.append("AADSTS%d: %s" % (number, text))
    default = CATALOGUE[codes[-1]][0] if codes[-1] in CATALOGUE else "invalid_request"
    return _body(codes, " ".join(parts), error or default, base_url, request)


def _body(codes, message, error, base_url, request):
    trace_id = str(uuid.uuid4())
    corr = correlation_id(request)
    stamp = entra_timestamp()
    return {
        "error": error,
        "error_description": "%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (message, trace_id, corr, stamp),
        "error_codes": codes,
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": corr,
        "error_uri": "%s/error?code=%d" % (base_url, codes[-1]),
    }


def error_response(body, request=None, status=None):
    """A Response for an Entra error body: 401 for ``invalid_client``, else 400, with Entra's headers."""
    if status is None:
        status = 401 if body["error"] == "invalid_client" else 400
    return json_response(status, body, ests_headers(body["trace_id"], body["correlation_id"], request))


def entra_error(code, base_url, request=None, status=None, claims=None, error=None, **fmt):
    """A complete error Response: body, Entra's status for the error, and its headers."""
    body = error_body(code, base_url, request=request, claims=claims, error=error, **fmt)
    return error_response(body, request, status)


def ca_claims(policy_id):
    """The ``claims`` challenge Entra adds when a Conditional Access policy is the cause."""
    return {"access_token": {"capolids": {"essential": True, "values": [policy_id]}}}
