"""What Graph knows about users and groups: property names, default sets, what can be filtered.

Graph rejects a ``$select`` or ``$filter`` on a property the type does not have (400
BadRequest), answers ``null`` for a known but unset property, returns a fixed default property
set when there is no ``$select``, and only supports some operators on some properties (others
need the advanced query parameters, or are not supported at all).  Those rules live here so the
query code stays generic.  Sources: the v1.0 ``user`` and ``group`` resource pages and the
"Advanced query capabilities on directory objects" tables.
"""

from dataclasses import dataclass, field

USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")

USER_PROPERTIES = frozenset(USER_DEFAULT + (
    "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans", "birthday", "city",
    "companyName", "consentProvidedForMinor", "country", "createdDateTime", "creationType",
    "deletedDateTime", "department", "employeeHireDate", "employeeId", "employeeLeaveDateTime",
    "employeeOrgData", "employeeType", "externalUserState", "externalUserStateChangeDateTime",
    "faxNumber", "hireDate", "identities", "imAddresses", "interests", "isResourceAccount",
    "lastPasswordChangeDateTime", "legalAgeGroupClassification", "licenseAssignmentStates",
    "mailNickname", "mySite", "onPremisesDistinguishedName", "onPremisesDomainName",
    "onPremisesExtensionAttributes", "onPremisesImmutableId", "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies",
    "passwordProfile", "pastProjects", "postalCode", "preferredDataLocation", "preferredName",
    "provisionedPlans", "proxyAddresses", "responsibilities", "schools", "securityIdentifier",
    "showInAddressList", "signInSessionsValidFromDateTime", "skills", "state", "streetAddress",
    "usageLocation", "userType",
))

GROUP_DEFAULT = (
    "id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
    "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
    "mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
    "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
    "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
    "securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)

GROUP_PROPERTIES = frozenset(GROUP_DEFAULT + ("assignedLabels", "assignedLicenses", "licenseProcessingState"))

# Properties that are collections: unset ones read as [] rather than null.
COLLECTIONS = frozenset((
    "businessPhones", "assignedLicenses", "assignedPlans", "identities", "imAddresses", "interests",
    "otherMails", "pastProjects", "provisionedPlans", "proxyAddresses", "responsibilities", "schools",
    "skills", "groupTypes", "creationOptions", "resourceBehaviorOptions", "resourceProvisioningOptions",
    "onPremisesProvisioningErrors", "serviceProvisioningErrors", "licenseAssignmentStates", "assignedLabels",
))


@dataclass(frozen=True)
class EntityType:
    """One directory type: names used in messages, and which operators each property supports."""

    name: str            # microsoft.graph.user
    resource: str        # User (as Graph spells it in Request_UnsupportedQuery messages)
    entity_set: str      # users
    properties: frozenset
    default: tuple
    eq: frozenset = field(default_factory=frozenset)          # eq / ne / not / in
    startswith: frozenset = field(default_factory=frozenset)  # startsWith by default
    endswith: frozenset = field(default_factory=frozenset)    # endsWith, advanced queries only
    orderby: frozenset = field(default_factory=frozenset)     # $orderby by default
    orderby_advanced: frozenset = field(default_factory=frozenset)
    search: frozenset = field(default_factory=frozenset)      # $search "prop:value"


USER = EntityType(
    name="microsoft.graph.user", resource="User", entity_set="users",
    properties=USER_PROPERTIES, default=USER_DEFAULT,
    eq=frozenset(("accountEnabled", "city", "companyName", "country", "createdDateTime", "department",
                  "displayName", "employeeId", "employeeType", "givenName", "id", "jobTitle", "mail",
                  "mailNickname", "mobilePhone", "officeLocation", "onPremisesSyncEnabled", "postalCode",
                  "preferredLanguage", "state", "surname", "usageLocation", "userPrincipalName", "userType",
                  "onPremisesImmutableId", "onPremisesSamAccountName", "creationType", "externalUserState")),
    startswith=frozenset(("city", "companyName", "country", "department", "displayName", "employeeId",
                          "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation",
                          "postalCode", "preferredLanguage", "state", "surname", "usageLocation",
                          "userPrincipalName", "onPremisesSamAccountName")),
    endswith=frozenset(("mail", "userPrincipalName")),
    orderby=frozenset(("displayName", "userPrincipalName")),
    orderby_advanced=frozenset(("createdDateTime", "deletedDateTime")),
    search=frozenset(("displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname",
                      "jobTitle", "department", "employeeId")),
)

GROUP = EntityType(
    name="microsoft.graph.group", resource="Group", entity_set="groups",
    properties=GROUP_PROPERTIES, default=GROUP_DEFAULT,
    eq=frozenset(("classification", "createdDateTime", "description", "displayName", "id", "isAssignableToRole",
                  "mail", "mailEnabled", "mailNickname", "membershipRuleProcessingState", "onPremisesSyncEnabled",
                  "preferredLanguage", "securityEnabled", "securityIdentifier", "theme", "visibility")),
    startswith=frozenset(("classification", "description", "displayName", "mail", "mailNickname",
                          "preferredLanguage", "theme", "visibility")),
    endswith=frozenset(("mail",)),
    orderby=frozenset(("displayName",)),
    orderby_advanced=frozenset(("createdDateTime", "deletedDateTime")),
    search=frozenset(("displayName", "description", "mail", "mailNickname")),
)

BY_NAME = {USER.name: USER, GROUP.name: GROUP}


def project(obj: dict, etype: EntityType, select=None) -> dict:
    """The JSON Graph returns for ``obj``: the ``$select``ed or default properties, in that order."""
    names = select or etype.default
    out = {}
    for name in names:
        value = obj.get(name)
        if value is None and name in COLLECTIONS:
            value = []
        out[name] = value
    return out
