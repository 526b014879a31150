"""Request messages: their JSON shape (lowerCamelCase) and type checks.

Semantic rules (email form, duration range, endpoint policy) live in
``domain``; these models only say what a well-formed message looks like, and
feed OpenAPI.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from keyhook.errors import field_error

# JSON true/false only: lax mode would read "yes", "off", 1 or 0 as booleans.
Bool = Annotated[bool, Strict()]

_DIGITS = re.compile(r"[0-9]{1,19}")


def shown(value: object) -> str:
    """A wrong value as the client wrote it in JSON."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return orjson.dumps(value).decode()  # null, true, false, 3.5


def _whole_number(value: object) -> object:
    # Lax mode would read false as 0 (lockout off), "3" as 3 and 3.0 as 3.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "int_type", "must be a whole JSON number such as 3, not {got}", {"got": shown(value)}
    )


def _whole_number_or_digits(value: object) -> object:
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "int_type",
        'must be a whole JSON number such as 3 or a string of ASCII digits such as "3", not {got}',
        {"got": shown(value)},
    )


# Integers are JSON numbers: no booleans, strings or fractions.
Int = Annotated[int, BeforeValidator(_whole_number)]
# A field ZITADEL encodes as a 64-bit number, which protobuf JSON writes as a
# string: also a string of ASCII digits (what Keyhook writes back, e.g. "5").
Int64 = Annotated[int, BeforeValidator(_whole_number_or_digits)]
# Ids are decimal strings of up to 19 digits, as OpenAPI publishes.
ID_PATTERN = r"^[0-9]{1,19}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]


def _duration_text(value: object) -> object:
    # A duration is text ("10s"), as protobuf JSON writes google.protobuf.Duration.
    if isinstance(value, str):
        return value
    raise PydanticCustomError(
        "duration_type",
        'must be a duration string such as "10s", "500ms" or "1h30m", not {got}',
        {"got": shown(value)},
    )


Duration = Annotated[str, BeforeValidator(_duration_text), Field(max_length=40)]


def _in_utc(moment: datetime) -> datetime:
    """A time that exists in UTC: ``0001-01-01T00:00:00+00:01`` is the year 0 there."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range (allowed: 0001-01-01 to 9999-12-31 in UTC)") from None


# RFC 3339 times with an offset, that a database can store.
Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class Message(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_max_length=65536
    )


class Empty(Message):
    pass


class Paging(Message):
    offset: Int64 = Field(0, ge=0, le=10_000_000)  # uint64 in ZITADEL's ListQuery
    limit: Int = Field(100, ge=1, le=1000)
    asc: Bool = True


# --- users -------------------------------------------------------------------


class Profile(Message):
    given_name: str = Field("", max_length=200)
    family_name: str = Field("", max_length=200)
    display_name: str = Field("", max_length=200)
    nick_name: str = Field("", max_length=200)
    preferred_language: str = Field("", max_length=20)
    gender: str | None = None


class Email(Message):
    email: str = Field(max_length=320)
    is_verified: Bool = False
    send_code: dict[str, Any] | None = None
    return_code: dict[str, Any] | None = None


class Phone(Message):
    phone: str = Field(max_length=40)
    is_verified: Bool = False


class Password(Message):
    password: str = Field(max_length=256)
    change_required: Bool = False


class HashedPassword(Message):
    """A password as its hash (an import): an argon2 PHC string Keyhook can verify."""

    hash: str = Field(max_length=512)
    change_required: Bool = False


class MetadataItem(Message):
    key: str = Field(max_length=200)
    value: str = Field(max_length=4096)


class HumanUser(Message):
    user_name: str | None = Field(
        None, validation_alias=AliasChoices("userName", "username"), max_length=200
    )
    profile: Profile = Field(default_factory=Profile)
    email: Email
    phone: Phone | None = None
    password: Password | None = None
    hashed_password: HashedPassword | None = None
    metadata: list[MetadataItem] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _one_password(self) -> HumanUser:
        if self.password is not None and self.hashed_password is not None:
            raise field_error(
                "user.hashedPassword",
                "is given together with user.password",
                "one of password and hashedPassword",
            )
        return self


def _flat_metadata(items: Any) -> Any:
    """ZITADEL's metadata values are proto ``bytes``: base64 in JSON. The flat form's are
    decoded to the text Keyhook stores (the seed's nested form carries text)."""
    if not isinstance(items, list):
        return items
    decoded = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            try:
                item = {**item, "value": base64_text(item["value"])}
            except ValueError:
                raise field_error(
                    f"metadata[{i}].value",
                    "is not base64 (protobuf JSON bytes) of UTF-8 text",
                    'base64 such as "RW5naW5lZXJpbmc=" for "Engineering"; the nested form '
                    '{"user": {…}} takes text',
                ) from None
        decoded.append(item)
    return decoded


_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


def base64_text(text: str) -> str:
    """Protobuf JSON ``bytes`` (standard or URL-safe base64, padded or not) as the UTF-8
    text it encodes; ValueError if it is neither."""
    unpadded = text.rstrip("=")
    if not _BASE64.fullmatch(text) or len(unpadded) % 4 == 1:
        raise ValueError("not base64")
    try:
        raw = base64.urlsafe_b64decode(
            unpadded.replace("+", "-").replace("/", "_") + "=" * (-len(unpadded) % 4)
        )
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not base64 of UTF-8 text") from None


class Organization(Message):
    org_id: str | None = None


class AddHumanUserRequest(Message):
    user: HumanUser
    organization_id: str | None = None
    user_id: str | None = Field(None, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _zitadel_flat_form(cls, data: Any) -> Any:
        """Accept ZITADEL's own flat form (``userId``, ``username``, ``organization``,
        ``profile``, ``email``, ``phone``, ``metadata`` with base64 values, ``password`` or
        ``hashedPassword``), as ZITADEL's clients send it."""
        if isinstance(data, dict) and "user" not in data and "email" in data:
            flat = dict(data)
            org = flat.pop("organization", None)
            org_id = flat.pop("organizationId", None)
            user_id = flat.pop("userId", None)
            if isinstance(org, dict):
                if org.get("orgDomain"):
                    raise field_error(
                        "organization.orgDomain",
                        "Keyhook's organizations have no domains",
                        "organization.orgId",
                    )
                org_id = org.get("orgId", org_id)
            if flat.pop("idpLinks", None):
                raise field_error("idpLinks", "Keyhook has no identity providers to link", "none")
            if flat.pop("totpSecret", None):
                raise field_error("totpSecret", "Keyhook has no TOTP second factor", "none")
            if "metadata" in flat:
                flat["metadata"] = _flat_metadata(flat["metadata"])
            nested: dict[str, Any] = {"user": flat}
            if org_id is not None:
                nested["organizationId"] = org_id
            if user_id is not None:
                nested["userId"] = user_id
            return nested
        return data


class AddMachineUserRequest(Message):
    """ZITADEL's ``management.v1`` AddMachineUser."""

    user_name: str = Field(max_length=200)
    name: str = Field(max_length=200)
    description: str = Field("", max_length=500)
    access_token_type: Literal["ACCESS_TOKEN_TYPE_BEARER", "ACCESS_TOKEN_TYPE_JWT"] = Field(
        "ACCESS_TOKEN_TYPE_BEARER"
    )
    organization_id: str | None = None


class UserIdRequest(Message):
    user_id: Id


TextQueryMethod = Literal[
    "TEXT_QUERY_METHOD_EQUALS",
    "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE",
    "TEXT_QUERY_METHOD_STARTS_WITH",
    "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE",
    "TEXT_QUERY_METHOD_CONTAINS",
    "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE",
    "TEXT_QUERY_METHOD_ENDS_WITH",
    "TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE",
]
_TEXT = Field(max_length=320)


class UserNameQuery(Message):
    user_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class FirstNameQuery(Message):
    first_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class LastNameQuery(Message):
    last_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class NickNameQuery(Message):
    nick_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class DisplayNameQuery(Message):
    display_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class EmailQuery(Message):
    email_address: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class LoginNameQuery(Message):
    login_name: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class PhoneQuery(Message):
    number: str = _TEXT
    method: TextQueryMethod = "TEXT_QUERY_METHOD_EQUALS"


class StateQuery(Message):
    state: Literal[
        "USER_STATE_UNSPECIFIED",
        "USER_STATE_ACTIVE",
        "USER_STATE_INACTIVE",
        "USER_STATE_DELETED",
        "USER_STATE_LOCKED",
        "USER_STATE_INITIAL",
    ]


class TypeQuery(Message):
    type: Literal["TYPE_UNSPECIFIED", "TYPE_HUMAN", "TYPE_MACHINE"]


class InUserIdQuery(Message):
    user_ids: list[str] = Field(default_factory=list, max_length=1000)


class InUserEmailsQuery(Message):
    user_emails: list[str] = Field(default_factory=list, max_length=1000)


class OrganizationIdQuery(Message):
    organization_id: str = Field(max_length=200)


class QueryList(Message):
    queries: list[SearchQuery] = Field(default_factory=list, max_length=20)


class NotQuery(Message):
    query: SearchQuery


class SearchQuery(Message):
    """ZITADEL's user ``SearchQuery``: exactly one member (a oneof)."""

    user_name_query: UserNameQuery | None = None
    first_name_query: FirstNameQuery | None = None
    last_name_query: LastNameQuery | None = None
    nick_name_query: NickNameQuery | None = None
    display_name_query: DisplayNameQuery | None = None
    email_query: EmailQuery | None = None
    state_query: StateQuery | None = None
    type_query: TypeQuery | None = None
    login_name_query: LoginNameQuery | None = None
    in_user_ids_query: InUserIdQuery | None = None
    or_query: QueryList | None = None
    and_query: QueryList | None = None
    not_query: NotQuery | None = None
    in_user_emails_query: InUserEmailsQuery | None = None
    organization_id_query: OrganizationIdQuery | None = None
    phone_query: PhoneQuery | None = None

    @model_validator(mode="after")
    def _one_member(self) -> SearchQuery:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a query has exactly one member, such as userNameQuery, emailQuery, "
                "stateQuery, typeQuery, inUserIdsQuery, organizationIdQuery, andQuery, "
                f"orQuery or notQuery; this one has {len(given)}"
            )
        return self


QueryList.model_rebuild()
NotQuery.model_rebuild()


def _query_values(queries: list[SearchQuery]) -> int:
    """How many ids, emails and queries ``queries`` hold, nested ones included: each is a
    bound value of the search's SQL, which PostgreSQL caps at 32,767 a statement."""
    count, todo = 0, list(queries)
    while todo:
        query = todo.pop()
        count += 1
        if query.in_user_ids_query is not None:
            count += len(query.in_user_ids_query.user_ids)
        if query.in_user_emails_query is not None:
            count += len(query.in_user_emails_query.user_emails)
        for group in (query.or_query, query.and_query):
            if group is not None:
                todo += group.queries
        if query.not_query is not None:
            todo.append(query.not_query.query)
    return count


MAX_QUERY_VALUES = 2000


class ListUsersRequest(Message):
    query: Paging = Field(default_factory=Paging)
    sorting_column: Literal[
        "USER_FIELD_NAME_UNSPECIFIED",
        "USER_FIELD_NAME_USER_NAME",
        "USER_FIELD_NAME_FIRST_NAME",
        "USER_FIELD_NAME_LAST_NAME",
        "USER_FIELD_NAME_NICK_NAME",
        "USER_FIELD_NAME_DISPLAY_NAME",
        "USER_FIELD_NAME_EMAIL",
        "USER_FIELD_NAME_STATE",
        "USER_FIELD_NAME_TYPE",
        "USER_FIELD_NAME_CREATION_DATE",
    ] = "USER_FIELD_NAME_UNSPECIFIED"
    queries: list[SearchQuery] = Field(default_factory=list, max_length=20)
    # Keyhook's: text in the user name, email or display name; one organization.
    text: str | None = Field(None, max_length=200)
    organization_id: str | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ListUsersRequest:
        if _query_values(self.queries) > MAX_QUERY_VALUES:
            raise ValueError(
                f"the queries hold more than {MAX_QUERY_VALUES} queries, ids and emails in all"
            )
        return self


class UpdateHumanUserRequest(Message):
    user_id: Id
    username: str | None = Field(None, max_length=200)
    profile: Profile | None = None
    email: Email | None = None
    phone: Phone | None = None
    password: Password | None = None


class SetPasswordRequest(Message):
    user_id: Id
    new_password: Password
    current_password: str | None = None


class SetUserMetadataRequest(Message):
    user_id: Id
    metadata: list[MetadataItem] = Field(max_length=100)


# --- actions -------------------------------------------------------------------


# What OpenAPI (and the console's API reference) says of the target's members.
_NAME = "unique in the instance"
_ENDPOINT = (
    "the URL called: HTTPS and a public address, unless the development switch or the "
    "allow-list opens others; or relay: for a relay target, whose calls go to the "
    "`keyhook listen` attached to it"
)
_TIMEOUT = 'how long one call may take, such as "10s": more than 0, at most 270s'


class InterruptOption(Message):
    interrupt_on_error: Bool = Field(
        False,
        description="a failing target aborts the operation; the caller gets the target's "
        "message and status",
    )


class AsyncOption(Message):
    pass


class TargetFields(Message):
    name: str | None = Field(None, max_length=200, description=_NAME)
    endpoint: str | None = Field(None, max_length=2048, description=_ENDPOINT)
    timeout: Duration | None = Field(None, description=_TIMEOUT)
    rest_webhook: InterruptOption | None = Field(
        None,
        description="called during the API call; its answer's status decides, its body is "
        "ignored (exactly one of restWebhook, restCall, restAsync)",
    )
    rest_call: InterruptOption | None = Field(
        None, description="called during the API call; its answer may change the message"
    )
    rest_async: AsyncOption | None = Field(
        None, description="delivered after the call, durably, with retries; never awaited"
    )
    headers: dict[str, str] | None = Field(
        None,
        description="extra request headers for the receiver (such as Authorization); "
        "stored encrypted, masked when read",
    )
    payload_type: (
        Literal[
            "PAYLOAD_TYPE_UNSPECIFIED", "PAYLOAD_TYPE_JSON", "PAYLOAD_TYPE_JWT", "PAYLOAD_TYPE_JWE"
        ]
        | None
    ) = Field(
        None,
        description="how the payload is sent: PAYLOAD_TYPE_JSON (the default) as JSON; "
        "PAYLOAD_TYPE_JWT as a JWT signed with the instance's token signing key (JWKS at "
        "/oauth/v2/keys); PAYLOAD_TYPE_JWE as that JWT encrypted to the target's active "
        "public key. Unspecified: JSON on create, unchanged on update",
    )


class CreateTargetRequest(TargetFields):
    name: str = Field(max_length=200, description=_NAME)
    endpoint: str = Field(max_length=2048, description=_ENDPOINT)
    timeout: Duration = Field(description=_TIMEOUT)


class IdRequest(Message):
    id: Id


class UpdateTargetRequest(TargetFields):
    id: Id
    expiration_signing_key: Duration | None = Field(
        None,
        description='a new signing key: "0s" replaces the old one at once; a longer duration '
        "keeps signing with the old one as well until it expires",
    )


class ListTargetsRequest(Message):
    query: Paging = Field(default_factory=Paging)
    name: str | None = Field(None, max_length=200)


class SetExecutionRequest(Message):
    condition: dict[str, dict[str, Any]] = Field(
        description="when the targets are called: request or response (method, service or "
        "all), function (name), event (event, group or all)"
    )
    targets: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="target ids, called in this order; [] removes the execution",
    )


class MethodRef(Message):
    method: str = Field(min_length=1, max_length=300)


class FunctionRef(Message):
    name: str = Field(min_length=1, max_length=100)


class EventRef(Message):
    event: str = Field(min_length=1, max_length=100)


class ExplainExecutionRequest(Message):
    """What is called: exactly one of a request or response of a method, a function,
    an event."""

    request: MethodRef | None = None
    response: MethodRef | None = None
    function: FunctionRef | None = None
    event: EventRef | None = None


class TestRequestCall(Message):
    method: str = Field(min_length=1, max_length=300)
    message: dict[str, Any] = Field(default_factory=dict)


class TestResponseCall(Message):
    method: str = Field(min_length=1, max_length=300)
    message: dict[str, Any] = Field(default_factory=dict)
    response: dict[str, Any] = Field(default_factory=dict)


class TestEventCall(Message):
    event: str = Field(min_length=1, max_length=100)
    event_data: dict[str, Any] = Field(default_factory=dict)


class TestFunctionCall(Message):
    """A function call for a real user: the payload token issuance would send."""

    name: str = Field(min_length=1, max_length=100)
    user_id: Id | None = None  # default: the caller
    client_id: str = Field("keyhook-test", min_length=1, max_length=200)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"], max_length=50)


class TestTargetRequest(Message):
    """A test call to a target: exactly one of a request, a response, a function, an
    event."""

    id: Id
    request: TestRequestCall | None = None
    response: TestResponseCall | None = None
    function: TestFunctionCall | None = None
    event: TestEventCall | None = None


class ListExecutionsRequest(Message):
    query: Paging = Field(default_factory=Paging)


# --- events --------------------------------------------------------------------


class ListEventsRequest(Message):
    # A 64-bit column; events show it as a string ("position": "30"), passed back as is.
    after_position: Int64 = Field(0, ge=0, le=2**63 - 1)
    limit: Int = Field(100, ge=1, le=1000)
    aggregate_id: str | None = Field(None, max_length=20)
    aggregate_types: list[str] = Field(default_factory=list, max_length=20)
    event_types: list[str] = Field(default_factory=list, max_length=50)


# --- sessions and lockout settings -------------------------------------------------


class UserCheck(Message):
    login_name: str | None = Field(None, max_length=200)
    user_id: Id | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> UserCheck:
        if (self.login_name is None) == (self.user_id is None):
            raise ValueError("give exactly one of loginName and userId")
        return self


class PasswordCheck(Message):
    password: str = Field(max_length=256)


class SessionChecks(Message):
    user: UserCheck
    password: PasswordCheck | None = None


class CreateSessionRequest(Message):
    checks: SessionChecks


class SessionIdRequest(Message):
    session_id: Id


class SetLockoutSettingsRequest(Message):
    max_password_attempts: Int64 = Field(ge=0, le=100)  # read back as "5"


# --- delivery log ----------------------------------------------------------------


_HTTP_STATUS = re.compile(r"[1-5](?:[0-9]{2}|xx)|none")


def _http_status(value: object) -> object:
    if isinstance(value, str) and _HTTP_STATUS.fullmatch(value):
        return value
    raise PydanticCustomError(
        "http_status",
        'must be a status such as "503", a class such as "5xx", or "none" '
        "(no HTTP answer), not {got}",
        {"got": shown(value)},
    )


# ListDeliveries' filter on the latest attempt's HTTP status (Keyhook's).
HttpStatus = Annotated[str, BeforeValidator(_http_status)]


class ListDeliveriesRequest(Message):
    query: Paging = Field(default_factory=Paging)
    target_id: Id | None = None
    trigger: str | None = Field(None, max_length=300)
    status: Literal["pending", "succeeded", "failed"] | None = None
    since: Moment | None = Field(None, alias="from")
    until: Moment | None = Field(None, alias="to")
    http_status: HttpStatus | None = None


class ReplayDeliveriesRequest(Message):
    id: Id
    since: Moment = Field(alias="from")
    until: Moment | None = Field(None, alias="to")
    only_failed: Bool = False
    # Keyhook's: only count what would be sent again (``{"count"}``), change nothing.
    preview: Bool = False


# --- projects and applications ----------------------------------------------------


class CreateProjectRequest(Message):
    name: str = Field(max_length=200)
    organization_id: Id | None = None


class ListProjectsRequest(Message):
    query: Paging = Field(default_factory=Paging)


class OidcRequest(Message):
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    response_types: list[str] = Field(default_factory=list, max_length=5)
    grant_types: list[str] = Field(default_factory=list, max_length=5)
    app_type: str = Field("OIDC_APP_TYPE_WEB", max_length=40)
    auth_method_type: str = Field("OIDC_AUTH_METHOD_TYPE_BASIC", max_length=40)
    access_token_type: str = Field("OIDC_TOKEN_TYPE_JWT", max_length=40)
    dev_mode: Bool = False
    # OpenID Connect Registration's id_token_signed_response_alg; left out: RS256.
    id_token_signed_response_alg: str | None = Field(None, max_length=10)


class CreateApplicationRequest(Message):
    project_id: Id
    name: str = Field(max_length=200)
    oidc_request: OidcRequest


class ApplicationIdRequest(Message):
    # ZITADEL's v2beta messages name it ``id`` (and DeleteApplication adds ``projectId``).
    application_id: Id = Field(
        validation_alias=AliasChoices("applicationId", "id", "application_id")
    )
    project_id: Id | None = None


class ListApplicationsRequest(Message):
    query: Paging = Field(default_factory=Paging)
    project_id: Id | None = None


class ListTargetHealthRequest(Message):
    query: Paging = Field(default_factory=Paging)
    target_ids: list[Id] | None = Field(None, max_length=1000)


class ListCallsRequest(Message):
    query: Paging = Field(default_factory=Paging)
    target_id: Id | None = None
    trigger: str | None = Field(None, max_length=300)
    failed_only: Bool = False
    since: Moment | None = Field(None, alias="from")
    until: Moment | None = Field(None, alias="to")
    http_status: HttpStatus | None = None
