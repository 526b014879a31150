"""Messages of UserService v2's CreateUser, UpdateUser and the calls on one user's email,
phone, metadata and authentication methods: ZITADEL v4's shapes.

Metadata values are ``bytes`` in ZITADEL's proto, so base64 text in JSON: the message
keeps that text (a target sees what ZITADEL would show it) and the handler decodes it.
What Keyhook has no flow for (verification codes it would have to send or return, IdP
links, TOTP) is refused naming the member and what is allowed.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from keyhook.api.admin_messages import PaginationRequest
from keyhook.api.messages import (
    Bool,
    HashedPassword,
    Id,
    Message,
    Password,
    Profile,
    base64_text,
)
from keyhook.errors import field_error


def decoded_bytes(text: str) -> str:
    """Protobuf JSON ``bytes`` as the UTF-8 text Keyhook stores."""
    return base64_text(text)


def encoded_bytes(value: str) -> str:
    """Stored text as protobuf JSON writes ``bytes``: standard base64, padded."""
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _base64_text(value: str) -> str:
    try:
        base64_text(value)
    except ValueError:
        raise PydanticCustomError(
            "bytes_base64",
            "must be base64 (protobuf JSON bytes) of UTF-8 text, such as "
            '"RW5naW5lZXJpbmc=" for "Engineering"',
        ) from None
    return value


# A proto ``bytes`` member: base64 text of at most 4096 bytes of UTF-8 (Keyhook's limit).
Base64Text = Annotated[str, Field(max_length=5464), AfterValidator(_base64_text)]

Gender = Literal["GENDER_UNSPECIFIED", "GENDER_FEMALE", "GENDER_MALE", "GENDER_DIVERSE"]
_NO_CODES = (
    "Keyhook sends no verification email or SMS and has no code to return; "
    "use isVerified (true or false), or leave verification out (not verified)"
)


def refuse_codes(field: str, send_code: object, return_code: object) -> None:
    """ZITADEL's ``sendCode`` / ``returnCode`` ask for a verification code: Keyhook has no
    flow that sends or checks one, so it says so instead of pretending."""
    if send_code is not None:
        raise field_error(f"{field}.sendCode", "is not supported", _NO_CODES)
    if return_code is not None:
        raise field_error(f"{field}.returnCode", "is not supported", _NO_CODES)


class MetadataEntry(Message):
    key: str = Field(max_length=200)
    value: Base64Text


class SetHumanEmail(Message):
    email: str = Field(max_length=320)
    is_verified: Bool | None = None
    send_code: dict[str, Any] | None = None
    return_code: dict[str, Any] | None = None


class SetHumanPhone(Message):
    phone: str = Field(max_length=40)
    is_verified: Bool | None = None
    send_code: dict[str, Any] | None = None
    return_code: dict[str, Any] | None = None


class SetHumanProfile(Profile):
    gender: Gender | None = None


class IdpLink(Message):
    idp_id: str = Field("", max_length=200)
    user_id: str = Field("", max_length=200)
    user_name: str = Field("", max_length=200)


class CreateHuman(Message):
    profile: SetHumanProfile
    email: SetHumanEmail
    phone: SetHumanPhone | None = None
    password: Password | None = None
    hashed_password: HashedPassword | None = None
    idp_links: list[IdpLink] = Field(default_factory=list, max_length=20)
    totp_secret: str = Field("", max_length=200)
    metadata: list[MetadataEntry] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _what_keyhook_has(self) -> CreateHuman:
        if self.password is not None and self.hashed_password is not None:
            raise field_error(
                "human.hashedPassword",
                "is given together with human.password",
                "one of password and hashedPassword",
            )
        if self.idp_links:
            raise field_error(
                "human.idpLinks", "Keyhook has no identity providers to link", "no idpLinks"
            )
        if self.totp_secret:
            raise field_error("human.totpSecret", "Keyhook has no TOTP second factor", "none")
        refuse_codes("human.email", self.email.send_code, self.email.return_code)
        if self.phone is not None:
            refuse_codes("human.phone", self.phone.send_code, self.phone.return_code)
        return self


class CreateMachine(Message):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=500)


class CreateUserRequest(Message):
    organization_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    username: str | None = Field(None, max_length=200)
    human: CreateHuman | None = None
    machine: CreateMachine | None = None

    @model_validator(mode="after")
    def _one_type(self) -> CreateUserRequest:
        if (self.human is None) == (self.machine is None):
            problem = "names no user type" if self.human is None else "names both user types"
            raise field_error("human", problem, "exactly one of human and machine")
        return self


class UpdateProfile(Message):
    given_name: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=200)
    nick_name: str | None = Field(None, max_length=200)
    display_name: str | None = Field(None, max_length=200)
    preferred_language: str | None = Field(None, max_length=20)
    gender: Gender | None = None


class SetPassword(Message):
    password: Password | None = None
    hashed_password: HashedPassword | None = None
    current_password: str | None = Field(None, max_length=256)
    verification_code: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _one_password(self) -> SetPassword:
        if (self.password is None) == (self.hashed_password is None):
            raise field_error(
                "human.password",
                "names no password" if self.password is None else "names two passwords",
                "exactly one of password and hashedPassword",
            )
        if self.verification_code is not None:
            raise field_error(
                "human.password.verificationCode",
                "Keyhook has no password reset codes",
                "currentPassword, or neither (an administrator's change)",
            )
        return self


class UpdateHuman(Message):
    profile: UpdateProfile | None = None
    email: SetHumanEmail | None = None
    phone: SetHumanPhone | None = None
    password: SetPassword | None = None

    @model_validator(mode="after")
    def _no_codes(self) -> UpdateHuman:
        if self.email is not None:
            refuse_codes("human.email", self.email.send_code, self.email.return_code)
        if self.phone is not None:
            refuse_codes("human.phone", self.phone.send_code, self.phone.return_code)
        return self


class UpdateMachine(Message):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=500)


class UpdateUserRequest(Message):
    user_id: Id
    username: str | None = Field(None, max_length=200)
    human: UpdateHuman | None = None
    machine: UpdateMachine | None = None

    @model_validator(mode="after")
    def _one_type(self) -> UpdateUserRequest:
        if self.human is not None and self.machine is not None:
            raise field_error("human", "names both user types", "at most one of human and machine")
        return self


class SetEmailRequest(Message):
    user_id: Id
    email: str = Field(max_length=320)
    is_verified: Bool | None = None
    send_code: dict[str, Any] | None = None
    return_code: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_codes(self) -> SetEmailRequest:
        refuse_codes("email", self.send_code, self.return_code)
        return self


class SetPhoneRequest(Message):
    user_id: Id
    phone: str = Field(max_length=40)
    is_verified: Bool | None = None
    send_code: dict[str, Any] | None = None
    return_code: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_codes(self) -> SetPhoneRequest:
        refuse_codes("phone", self.send_code, self.return_code)
        return self


TextFilterMethod = Literal[
    "TEXT_FILTER_METHOD_EQUALS",
    "TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE",
    "TEXT_FILTER_METHOD_STARTS_WITH",
    "TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE",
    "TEXT_FILTER_METHOD_CONTAINS",
    "TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE",
    "TEXT_FILTER_METHOD_ENDS_WITH",
    "TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE",
]


class MetadataKeyFilter(Message):
    key: str = Field(max_length=200)
    method: TextFilterMethod = "TEXT_FILTER_METHOD_EQUALS"


class MetadataSearchFilter(Message):
    key_filter: MetadataKeyFilter


class ListUserMetadataRequest(Message):
    user_id: Id
    pagination: PaginationRequest = Field(default_factory=lambda: PaginationRequest(asc=True))
    filters: list[MetadataSearchFilter] = Field(default_factory=list, max_length=20)


class DeleteUserMetadataRequest(Message):
    user_id: Id
    keys: list[str] = Field(max_length=100)


class DomainQuery(Message):
    include_without_domain: Bool = False
    domain: str = Field("", max_length=200)


class ListAuthenticationMethodTypesRequest(Message):
    user_id: Id
    domain_query: DomainQuery | None = None


AuthFactorName = Literal["OTP", "OTP_SMS", "OTP_EMAIL", "U2F"]
AuthFactorState = Literal[
    "AUTH_FACTOR_STATE_UNSPECIFIED",
    "AUTH_FACTOR_STATE_NOT_READY",
    "AUTH_FACTOR_STATE_READY",
    "AUTH_FACTOR_STATE_REMOVED",
]


class ListAuthenticationFactorsRequest(Message):
    user_id: Id
    auth_factors: list[AuthFactorName] = Field(default_factory=list, max_length=10)
    states: list[AuthFactorState] = Field(default_factory=list, max_length=10)
