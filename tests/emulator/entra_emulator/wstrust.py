"""The federated IdP (an ADFS look-alike): MEX document and WS-Trust username endpoints.

msal's federated username/password path: user realm says Federated → GET the MEX
(``/adfs/services/trust/mex``) → POST a SOAP 1.2 RST with a UsernameToken to the
WS-Trust 1.3 (``/adfs/services/trust/13/usernamemixed``) or 2005 endpoint → post the
SAML assertion from the RSTR to Entra's token endpoint as a SAML bearer grant.

Bad credentials (or a locked/disabled account, which ADFS does not distinguish) get
the SOAP fault ADFS sends, with HTTP 500: ``s:Sender`` / ``a:FailedAuthentication`` /
"ID3242: The security token could not be authenticated or authorized."

Not imitated: the assertion is not XML-signed; instead the emulator remembers the
AssertionID it issued and the token endpoint accepts only those, until they expire.
"""

import base64
import time
import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .faults import apply as apply_fault
from .http import text_response

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "wsp": "http://schemas.xmlsoap.org/ws/2004/09/policy",
}
TRUST13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
TRUST2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust"
SAML11 = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML20 = "urn:oasis:names:tc:SAML:2.0:assertion"
SOAP_XML = "application/soap+xml; charset=utf-8"
ASSERTION_LIFETIME = 3600


def _z(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".000Z"


def mex(state, request):
    """The WS-MetadataExchange document, shaped like ADFS's (what msal's Mex parser reads)."""
    failure = apply_fault(state.faults, request, "mex")
    if failure is not None:
        return failure
    base = state.url + "/adfs/services/trust"
    policies = (
        '<wsp:Policy wsu:Id="UserNameWSTrustBinding_IWSTrust13Async_policy"><wsp:ExactlyOne><wsp:All>'
        '<sp:TransportBinding><wsp:Policy><sp:TransportToken><wsp:Policy><sp:HttpsToken/></wsp:Policy>'
        '</sp:TransportToken></wsp:Policy></sp:TransportBinding>'
        '<sp:SignedEncryptedSupportingTokens><wsp:Policy><sp:UsernameToken '
        'sp:IncludeToken="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient">'
        '<wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken></wsp:Policy>'
        '</sp:SignedEncryptedSupportingTokens></wsp:All></wsp:ExactlyOne></wsp:Policy>'
        '<wsp:Policy wsu:Id="UserNameWSTrustBinding_IWSTrustFeb2005Async_policy"><wsp:ExactlyOne><wsp:All>'
        '<sp2005:TransportBinding><wsp:Policy><sp2005:TransportToken><wsp:Policy><sp2005:HttpsToken '
        'RequireClientCertificate="false"/></wsp:Policy></sp2005:TransportToken></wsp:Policy></sp2005:TransportBinding>'
        '<sp2005:SignedSupportingTokens><wsp:Policy><sp2005:UsernameToken '
        'sp2005:IncludeToken="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient">'
        '<wsp:Policy><sp2005:WssUsernameToken10/></wsp:Policy></sp2005:UsernameToken></wsp:Policy>'
        '</sp2005:SignedSupportingTokens></wsp:All></wsp:ExactlyOne></wsp:Policy>')
    bindings = ''.join(
        '<wsdl:binding name="%s" type="tns:IWSTrust%s"><wsp:PolicyReference URI="#%s_policy"/>'
        '<soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>'
        '<wsdl:operation name="%s"><soap12:operation soapAction="%s" style="document"/></wsdl:operation>'
        '</wsdl:binding>' % (name, kind, name, op, action)
        for name, kind, op, action in (
            ("UserNameWSTrustBinding_IWSTrust13Async", "13Async", "Trust13IssueAsync", TRUST13 + "/RST/Issue"),
            ("UserNameWSTrustBinding_IWSTrustFeb2005Async", "Feb2005Async", "TrustFeb2005IssueAsync",
             TRUST2005 + "/RST/Issue")))
    ports = ''.join(
        '<wsdl:port name="%s" binding="tns:%s"><soap12:address location="%s"/>'
        '<wsa10:EndpointReference><wsa10:Address>%s</wsa10:Address></wsa10:EndpointReference></wsdl:port>'
        % (name, name, address, address)
        for name, address in (("UserNameWSTrustBinding_IWSTrust13Async", base + "/13/usernamemixed"),
                              ("UserNameWSTrustBinding_IWSTrustFeb2005Async", base + "/2005/usernamemixed")))
    xml = ('<?xml version="1.0" encoding="utf-8"?>'
           '<wsdl:definitions name="SecurityTokenService" targetNamespace="http://tempuri.org/" '
           'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="http://tempuri.org/" '
           'xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:wsp="%s" xmlns:wsu="%s" '
           'xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" '
           'xmlns:sp2005="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy" '
           'xmlns:wsa10="http://www.w3.org/2005/08/addressing">%s%s<wsdl:service name="SecurityTokenService">%s'
           '</wsdl:service></wsdl:definitions>') % (NS["wsp"], NS["wsu"], policies, bindings, ports)
    return text_response(200, xml, "application/soap+xml; charset=utf-8")


def _parse_rst(body):
    """Username, password, MessageID and AppliesTo from an RST envelope (None when unparsable)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    username = root.find(".//wsse:UsernameToken/wsse:Username", NS)
    password = root.find(".//wsse:UsernameToken/wsse:Password", NS)
    message_id = root.find("s:Header/wsa:MessageID", NS)
    applies_to = root.find(".//wsp:AppliesTo/wsa:EndpointReference/wsa:Address", NS)
    return {
        "username": (username.text or "").strip() if username is not None else "",
        "password": password.text or "" if password is not None else "",
        "message_id": message_id.text if message_id is not None else "urn:uuid:" + str(uuid.uuid4()),
        "applies_to": applies_to.text if applies_to is not None else "urn:federation:MicrosoftOnline",
    }


def _fault(relates_to, subcode, reason):
    """The SOAP 1.2 fault ADFS answers with (HTTP 500)."""
    xml = ('<s:Envelope xmlns:s="%s" xmlns:a="%s"><s:Header>'
           '<a:Action s:mustUnderstand="1">http://www.w3.org/2005/08/addressing/soap/fault</a:Action>'
           '<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>'
           '<s:Subcode><s:Value xmlns:a="%s">%s</s:Value></s:Subcode></s:Code>'
           '<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>'
           ) % (NS["s"], NS["wsa"], escape(relates_to), NS["wsse"], subcode, escape(reason))
    return text_response(500, xml, SOAP_XML)


def _assertion(state, user, tenant, applies_to, now, saml2):
    """A SAML 1.1 (or 2.0) assertion about ``user``; registered so the token endpoint accepts it."""
    assertion_id = "_" + str(uuid.uuid4())
    issuer = state.url + "/adfs/services/trust"
    not_after = now + ASSERTION_LIFETIME
    immutable_id = base64.b64encode(uuid.UUID(user["id"]).bytes).decode("ascii")
    upn = escape(user["upn"])
    state.assertions[assertion_id] = {"upn": user["upn"].lower(), "tenant_id": tenant["id"],
                                      "not_on_or_after": state.clock.now() + ASSERTION_LIFETIME}
    if saml2:
        return ('<Assertion ID="%s" IssueInstant="%s" Version="2.0" xmlns="%s"><Issuer>%s</Issuer>'
                '<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">%s</NameID>'
                '<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"/></Subject>'
                '<Conditions NotBefore="%s" NotOnOrAfter="%s"><AudienceRestriction><Audience>%s</Audience>'
                '</AudienceRestriction></Conditions><AttributeStatement>'
                '<Attribute Name="http://schemas.xmlsoap.org/claims/UPN"><AttributeValue>%s</AttributeValue></Attribute>'
                '<Attribute Name="http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID">'
                '<AttributeValue>%s</AttributeValue></Attribute></AttributeStatement>'
                '<AuthnStatement AuthnInstant="%s"><AuthnContext><AuthnContextClassRef>'
                'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef>'
                '</AuthnContext></AuthnStatement></Assertion>'
                ) % (assertion_id, _z(now), SAML20, issuer, immutable_id, _z(now), _z(not_after), escape(applies_to),
                     upn, immutable_id, _z(now))
    subject = ('<saml:Subject><saml:NameIdentifier Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">'
               '%s</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>'
               'urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation>'
               '</saml:Subject>') % immutable_id
    return ('<saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="%s" Issuer="%s" IssueInstant="%s" '
            'xmlns:saml="%s"><saml:Conditions NotBefore="%s" NotOnOrAfter="%s"><saml:AudienceRestrictionCondition>'
            '<saml:Audience>%s</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>'
            '<saml:AttributeStatement>%s<saml:Attribute AttributeName="UPN" '
            'AttributeNamespace="http://schemas.xmlsoap.org/claims"><saml:AttributeValue>%s</saml:AttributeValue>'
            '</saml:Attribute><saml:Attribute AttributeName="ImmutableID" '
            'AttributeNamespace="http://schemas.microsoft.com/LiveID/Federation/2008/05"><saml:AttributeValue>%s'
            '</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>'
            '<saml:AuthenticationStatement AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password" '
            'AuthenticationInstant="%s">%s</saml:AuthenticationStatement></saml:Assertion>'
            ) % (assertion_id, issuer, _z(now), SAML11, _z(now), _z(not_after), escape(applies_to), subject, upn,
                 immutable_id, _z(now), subject)


def _rstr(version13, relates_to, assertion, token_type, applies_to, now):
    """The RSTR envelope (an RSTR collection for WS-Trust 1.3, a single RSTR for 2005)."""
    trust = TRUST13 if version13 else TRUST2005
    action = TRUST13 + "/RSTRC/IssueFinal" if version13 else TRUST2005 + "/RSTR/Issue"
    key_type = TRUST13 + "/Bearer" if version13 else "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey"
    rstr = ('<t:RequestSecurityTokenResponse><t:Lifetime><u:Created>%s</u:Created><u:Expires>%s</u:Expires>'
            '</t:Lifetime><wsp:AppliesTo xmlns:wsp="%s"><wsa:EndpointReference xmlns:wsa="%s"><wsa:Address>%s'
            '</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><t:RequestedSecurityToken>%s'
            '</t:RequestedSecurityToken><t:TokenType>%s</t:TokenType><t:RequestType>%s/Issue</t:RequestType>'
            '<t:KeyType>%s</t:KeyType></t:RequestSecurityTokenResponse>'
            ) % (_z(now), _z(now + ASSERTION_LIFETIME), NS["wsp"], NS["wsa"], escape(applies_to), assertion,
                 token_type, trust, key_type)
    if version13:
        rstr = "<t:RequestSecurityTokenResponseCollection>%s</t:RequestSecurityTokenResponseCollection>" % rstr
    return ('<s:Envelope xmlns:s="%s" xmlns:a="%s" xmlns:u="%s" xmlns:t="%s"><s:Header>'
            '<a:Action s:mustUnderstand="1">%s</a:Action><a:RelatesTo>%s</a:RelatesTo>'
            '<o:Security s:mustUnderstand="1" xmlns:o="%s"><u:Timestamp u:Id="_0"><u:Created>%s</u:Created>'
            '<u:Expires>%s</u:Expires></u:Timestamp></o:Security></s:Header><s:Body>%s</s:Body></s:Envelope>'
            ) % (NS["s"], NS["wsa"], NS["wsu"], trust, action, escape(relates_to), NS["wsse"], _z(now),
                 _z(now + 300), rstr)


def usernamemixed(state, request, version):
    """WS-Trust ``usernamemixed`` endpoint; ``version`` is ``13`` or ``2005``."""
    rst = _parse_rst(request.body)
    username = rst["username"] if rst else None
    failure = apply_fault(state.faults, request, "wstrust", user=username)
    if failure is not None:
        return failure
    if rst is None:
        return _fault("urn:uuid:" + str(uuid.uuid4()), "a:InvalidRequest", "MSIS7068: Access denied.")
    tenant, user = state.find_user(rst["username"])
    domain = rst["username"].rsplit("@", 1)[-1].lower()
    authenticated = (user is not None and domain in tenant["federated_domains"] and rst["password"] == user["password"]
                     and user["state"] not in ("locked", "disabled") and user.get("account_enabled", True))
    if not authenticated:
        return _fault(rst["message_id"], "a:FailedAuthentication",
                      "ID3242: The security token could not be authenticated or authorized.")
    saml2 = tenant.get("federation_token_type", "saml1") == "saml2"
    now = time.time()
    assertion = _assertion(state, user, tenant, rst["applies_to"], now, saml2)
    xml = _rstr(version == "13", rst["message_id"], assertion, SAML20 if saml2 else SAML11, rst["applies_to"], now)
    return text_response(200, xml, SOAP_XML)
