"""The OAuth 2.0 / SMART on FHIR authorisation server, on authlib's server framework.

authlib does the protocol (request validation, PKCE, error responses, token responses,
RFC 7009 and 7662 endpoints, private_key_jwt assertions, JWT access tokens after RFC 9068,
OpenID Connect id_token); this module gives it our storage: apps, grants, codes, tokens
and signing keys. One server object per HTTP request, bound to that request's session."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from esante.apps import keys
from esante.apps import scopes as smart
from esante.apps.models import App, AppGrant, AuthorizationCode, ClientAssertion, IssuedToken
from esante.core.accounts.models import User
from esante.core.db import utcnow

ACCESS_TTL = 3600
REFRESH_TTL = timedelta(days=90)
CODE_TTL = timedelta(minutes=2)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- requests, as authlib reads them ---------------------------------------------------------

@dataclass
class RawRequest:
    """What the route read from Starlette (the body is read asynchronously beforehand)."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)


class _Payload(OAuth2Payload):
    def __init__(self, raw: RawRequest) -> None:
        self._data = {**raw.query, **raw.form}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        out: defaultdict[str, list[str]] = defaultdict(list)
        for k, v in self._data.items():
            out[k].append(v)
        return out


class _Request(OAuth2Request):
    def __init__(self, raw: RawRequest) -> None:
        super().__init__(method=raw.method, uri=raw.url, headers=raw.headers)
        self._raw = raw
        self.payload = _Payload(raw)

    @property
    def args(self) -> dict[str, str]:
        return self._raw.query

    @property
    def form(self) -> dict[str, str]:
        return self._raw.form


# --- models, as authlib sees them ------------------------------------------------------------

class Client(ClientMixin):
    def __init__(self, app: App) -> None:
        self.app = app

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.app.redirect_uris[0] if self.app.redirect_uris else None

    def declared_scopes(self) -> list[str]:
        return [s["scope"] for s in self.app.scopes]

    def get_allowed_scope(self, scope: str) -> str:
        declared = set(self.declared_scopes())
        return " ".join(s for s in smart.split(scope) if s in declared)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # no shared secrets: PKCE (public apps) or private_key_jwt (backends)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == ("private_key_jwt" if self.app.client_kind == "backend" else "none")

    def check_response_type(self, response_type: str) -> bool:
        return self.app.client_kind == "public" and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.app.client_kind == "backend":
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Owner:
    """The resource owner: the signed-in person, and the grant (consent) in play."""

    user: User
    grant: AppGrant | None = None

    def get_user_id(self) -> int:
        return self.user.id


class Code(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce or None

    def get_auth_time(self) -> int | None:
        return int(self.row.created_at.timestamp())

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method


class Token(TokenMixin):
    def __init__(self, row: IssuedToken, app: App) -> None:
        self.row = row
        self.app = app

    def check_client(self, client: Client) -> bool:
        return self.row.app_id == client.app.id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.app.status != "published"

    def get_user(self) -> Any:
        return None

    def get_client(self) -> Client:
        return Client(self.app)


# --- token generation ------------------------------------------------------------------------

class _TokenGenerator(JWTBearerTokenGenerator):
    """JWT access tokens (RFC 9068) signed by the active key, with the SMART context."""

    def __init__(self, server: EsanteServer) -> None:
        super().__init__(issuer=server.issuer, alg=keys.ALG,
                         refresh_token_generator=lambda **_kw: secrets.token_urlsafe(32),
                         expires_generator=lambda *_a: ACCESS_TTL)
        self.server = server

    def get_jwks(self) -> KeySet:
        return keys.signing_keyset(self.server.session)

    def get_audiences(self, client: Client, user: Any, scope: str) -> str:
        return self.server.fhir_base

    def get_extra_claims(self, client: Client, grant_type: str, user: Owner | None,
                         scope: str) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        if user is not None and user.grant is not None and user.grant.patient_fid:
            claims["patient"] = user.grant.patient_fid
        return claims

    def generate(self, grant_type: str, client: Client, user: Any = None,
                 scope: str | None = None, expires_in: int | None = None,
                 include_refresh_token: bool = True) -> dict[str, Any]:
        # SMART: a refresh token only for offline_access or online_access.
        wanted = set(smart.split(scope))
        include = include_refresh_token and bool(wanted & {"offline_access", "online_access"})
        return super().generate(grant_type, client, user=user, scope=scope,
                                expires_in=expires_in, include_refresh_token=include)


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT we signed ourselves (just issued, or to be looked up by jti)."""
    return json.loads(jws.extract_compact(token.encode()).payload)


# --- grants ----------------------------------------------------------------------------------

class S256Only(CodeChallenge):
    """PKCE is mandatory (SMART App Launch 2.0), with S256 only, from the authorisation
    request on (authlib alone would only insist at the token endpoint)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - authlib's attribute
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]  # noqa: RUF012

    @property
    def esante(self) -> EsanteServer:
        return self.server

    def validate_requested_scope(self) -> None:
        requested = smart.split(self.request.payload.scope)
        declared = Client(self.request.client.app).declared_scopes()
        if not requested or not set(requested) <= set(declared):
            raise InvalidScopeError("scope not declared in the app's file")

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        owner: Owner = request.user
        assert owner.grant is not None
        data = request.payload.data
        self.esante.session.add(AuthorizationCode(
            code_hash=sha256(code), app_id=request.client.app.id, grant_id=owner.grant.id,
            user_id=owner.user.id, redirect_uri=data.get("redirect_uri", ""),
            scope=owner.grant.scope, code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", ""),
            nonce=data.get("nonce", "")[:200], expires_at=utcnow() + CODE_TTL))
        self.esante.session.flush()

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        s = self.esante.session
        row = s.scalar(select(AuthorizationCode).where(
            AuthorizationCode.code_hash == sha256(code),
            AuthorizationCode.app_id == client.app.id))
        if row is None:
            return None
        if row.used_at is not None:
            # A code used twice: someone else has it. Revoke what it issued (RFC 6749 §4.1.2).
            self.esante.revoke_where(IssuedToken.code_id == row.id)
            self.esante.keep_changes = True
            return None
        if row.expires_at <= utcnow():
            return None
        grant = s.get(AppGrant, row.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        self.request.user = Owner(s.get_one(User, row.user_id), grant)
        self.esante.current_code = row
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        authorization_code.row.used_at = utcnow()  # kept: a second use is detected

    def authenticate_user(self, authorization_code: Code) -> Owner | None:
        owner = self.request.user
        return owner if isinstance(owner, Owner) and owner.user.is_active else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]  # noqa: RUF012
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use returns a new refresh token

    @property
    def esante(self) -> EsanteServer:
        return self.server

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        s = self.esante.session
        row = s.scalar(select(IssuedToken).where(IssuedToken.jti == sha256(refresh_token),
                                                 IssuedToken.kind == "refresh"))
        if row is None:
            return None
        app = s.get_one(App, row.app_id)
        if row.rotated_at is not None and row.grant_id is not None:
            # A rotated refresh token used again: the chain is compromised; end it all.
            self.esante.revoke_where(IssuedToken.grant_id == row.grant_id)
            self.esante.keep_changes = True
            return None
        token = Token(row, app)
        if token.is_expired() or token.is_revoked():
            return None
        grant = s.get(AppGrant, row.grant_id) if row.grant_id else None
        if grant is None or grant.revoked_at is not None:
            return None
        self.esante.current_grant = grant
        return token

    def authenticate_user(self, refresh_token: Token) -> Owner | None:
        s = self.esante.session
        if refresh_token.row.user_id is None:
            return None
        user = s.get_one(User, refresh_token.row.user_id)
        return Owner(user, self.esante.current_grant) if user.is_active else None

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.rotated_at = utcnow()
        self.esante.session.flush()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]  # noqa: RUF012

    def validate_requested_scope(self) -> None:
        requested = smart.split(self.request.payload.scope)
        declared = Client(self.request.client.app).declared_scopes()
        if not requested or not set(requested) <= set(declared):
            raise InvalidScopeError("scope not declared in the app's file")


class SmartOpenIDCode(OpenIDCode):
    """id_token for ``openid fhirUser``: signed with the same key as access tokens."""

    def __init__(self, server: EsanteServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def resolve_client_private_key(self, client: Client) -> KeySet:
        return keys.signing_keyset(self.server.session)

    def get_client_algorithm(self, client: Client) -> str:
        return keys.ALG

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.server.issuer, "aud": [client.get_client_id()],
                "exp": int(time.time()) + ACCESS_TTL}

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": keys.ALG, "kid": keys.active_key(self.server.session).kid}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return bool(self.server.session.scalar(select(AuthorizationCode.id).where(
            AuthorizationCode.nonce == nonce, AuthorizationCode.used_at.is_not(None))))

    def generate_user_info(self, user: Owner, scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {"sub": str(user.user.id)}
        if "fhirUser" in smart.split(scope) and user.grant is not None and user.grant.patient_fid:
            info["fhirUser"] = f"{self.server.fhir_base}/Patient/{user.grant.patient_fid}"
        if "profile" in smart.split(scope):
            info["name"] = user.user.display_name
        return info


class PrivateKeyJwt(JWTBearerClientAssertion):
    """private_key_jwt (SMART Backend Services): an assertion signed with a key of the
    app's registered JWKS, used once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: EsanteServer) -> None:
        super().__init__(validate_jti=True)
        self.server = server

    def get_audiences(self) -> list[str]:
        return [self.server.token_url]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        s = self.server.session
        key = f"{claims['sub']}:{jti}"[:200]
        if s.get(ClientAssertion, key) is not None:
            return False
        app = s.scalar(select(App).where(App.client_id == claims["sub"]))
        if app is None:
            return False
        exp = claims.get("exp")
        expires = utcnow() + timedelta(minutes=10)
        if isinstance(exp, int):
            from datetime import UTC, datetime

            expires = datetime.fromtimestamp(exp, UTC)
        s.add(ClientAssertion(jti=key, app_id=app.id, expires_at=expires))
        s.flush()
        return True

    def resolve_client_public_key(self, client: Client) -> KeySet:
        return KeySet.import_key_set(client.app.jwks)  # type: ignore[arg-type]


# --- revocation and introspection ------------------------------------------------------------

class _TokenLookup:
    server: Any

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        esante: EsanteServer = self.server
        return esante.find_token(token_string)


class Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none", "private_key_jwt"]  # noqa: RUF012

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        esante: EsanteServer = self.server
        if token.row.kind == "refresh" and token.row.grant_id is not None:
            # Revoking a refresh token ends the access tokens of the same grant (RFC 7009 §2.1).
            esante.revoke_where(IssuedToken.grant_id == token.row.grant_id)
        else:
            token.row.revoked_at = token.row.revoked_at or utcnow()
        esante.session.flush()


class Introspection(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["none", "private_key_jwt"]  # noqa: RUF012

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        return token.row.app_id == client.app.id  # an app introspects its own tokens only

    def introspect_token(self, token: Token) -> dict[str, Any]:
        row = token.row
        out: dict[str, Any] = {
            "active": True, "scope": row.scope, "client_id": token.app.client_id,
            "token_type": "Bearer" if row.kind == "access" else "refresh_token",
            "exp": int(row.expires_at.timestamp()), "iat": int(row.issued_at.timestamp()),
            "iss": self.server.issuer,
            "sub": str(row.user_id) if row.user_id else token.app.client_id,
        }
        if row.patient_fid:
            out["patient"] = row.patient_fid
        return out


# --- the server ------------------------------------------------------------------------------

class EsanteServer(AuthorizationServer):
    def __init__(self, session: Session, *, base_url: str) -> None:
        super().__init__(scopes_supported=None)
        self.session = session
        self.issuer = base_url.rstrip("/")
        self.fhir_base = self.issuer + "/fhir"
        self.token_url = self.issuer + "/oauth/token"
        self.keep_changes = False  # commit even though the answer is an error
        self.current_code: AuthorizationCode | None = None
        self.current_grant: AppGrant | None = None
        self.register_token_generator("default", _TokenGenerator(self))
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True),
                                                     SmartOpenIDCode(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    # storage
    def query_client(self, client_id: str) -> Client | None:
        app = self.session.scalar(select(App).where(App.client_id == client_id[:64]))
        if app is None or app.status != "published":
            return None
        return Client(app)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        client: Client = request.client
        owner: Owner | None = request.user if isinstance(request.user, Owner) else None
        grant = owner.grant if owner else None
        claims = unverified_claims(token["access_token"])
        now = utcnow()
        code_id = self.current_code.id if self.current_code else None
        user_id = owner.user.id if owner else client.app.service_user_id
        patient = grant.patient_fid if grant else None
        self.session.add(IssuedToken(
            kind="access", jti=claims["jti"], app_id=client.app.id,
            grant_id=grant.id if grant else None, code_id=code_id, user_id=user_id,
            scope=token.get("scope", ""), patient_fid=patient, issued_at=now,
            expires_at=now + timedelta(seconds=ACCESS_TTL)))
        if token.get("refresh_token"):
            self.session.add(IssuedToken(
                kind="refresh", jti=sha256(token["refresh_token"]), app_id=client.app.id,
                grant_id=grant.id if grant else None, code_id=code_id, user_id=user_id,
                scope=token.get("scope", ""), patient_fid=patient, issued_at=now,
                expires_at=now + REFRESH_TTL))
        if patient:
            token["patient"] = patient  # SMART launch context
        if owner is not None and "fhirUser" in smart.split(token.get("scope")) and patient:
            token["fhirUser"] = f"{self.fhir_base}/Patient/{patient}"
        self.session.flush()

    def find_token(self, value: str) -> Token | None:
        value = value.strip()[:4000]
        row = None
        if value.count(".") == 2:
            try:
                jti = unverified_claims(value).get("jti")
            except Exception:
                jti = None
            if isinstance(jti, str):
                row = self.session.scalar(select(IssuedToken).where(
                    IssuedToken.jti == jti[:64], IssuedToken.kind == "access"))
        else:
            row = self.session.scalar(select(IssuedToken).where(
                IssuedToken.jti == sha256(value), IssuedToken.kind == "refresh"))
        if row is None:
            return None
        return Token(row, self.session.get_one(App, row.app_id))

    def revoke_where(self, *conditions: Any) -> int:
        result = self.session.execute(
            update(IssuedToken).where(*conditions, IssuedToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
        self.session.expire_all()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # framework glue
    def create_oauth2_request(self, request: RawRequest) -> _Request:
        return _Request(request)

    def create_json_request(self, request: RawRequest) -> Any:
        raise NotImplementedError  # no JSON endpoints

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        hdrs = dict(headers or [])
        if status in (302, 303) and "Location" in hdrs:
            return RedirectResponse(hdrs.pop("Location"), status_code=302, headers=hdrs)
        hdrs.pop("Content-Type", None)
        return JSONResponse(body, status_code=status, headers=hdrs)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
