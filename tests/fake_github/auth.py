"""GitHub App authentication as GitHub checks it.

* App endpoints take ``Authorization: Bearer <JWT>``: RS256 signed with the App's private key,
  ``iss`` = the App id (PyGithub sends a string, others an int), ``exp - iat <= 600``, unexpired.
* Everything else takes an installation token (``token ghs_...`` or ``Bearer ghs_...``) that
  has not expired, or a token a test added (an Actions ``GITHUB_TOKEN``).
"""

from __future__ import annotations

import functools
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import GitHubError

JWT_OPERATIONS = frozenset({
    "apps/create-installation-access-token",
    "apps/get-repo-installation",
    "apps/list-installations",
    "apps/list-webhook-deliveries",
    "apps/get-webhook-delivery",
    "apps/redeliver-webhook-delivery",
})
MAX_JWT_LIFETIME = 600
JWT_UNDECODABLE = "A JSON web token could not be decoded"


@functools.cache
def throwaway_private_key_pem() -> str:
    """One 2048-bit RSA key per test process: generating one per test would cost ~50 ms each."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def _public_key(private_key_pem: str) -> rsa.RSAPublicKey:
    # Loading checks the key (~60 ms); once per key, not once per fake.
    key = serialization.load_pem_private_key(private_key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey), "the App key must be RSA (RS256)"
    return key.public_key()


@dataclass(frozen=True)
class Identity:
    login: str  # who GitHub records as the author of writes
    app: str | None  # slug of the App acting (check runs belong to it; comments show it)
    installation: int | None = None  # the installation an installation token acts for


@dataclass(frozen=True)
class Token:
    identity: Identity
    expires_at: datetime | None


class Authenticator:
    def __init__(self, app_id: int, app_slug: str, private_key_pem: str, token_ttl: timedelta) -> None:
        self.app_id = app_id
        self.app_slug = app_slug
        self.public_key = _public_key(private_key_pem)
        self.token_ttl = token_ttl
        self.tokens: dict[str, Token] = {}

    def verify_jwt(self, encoded: str) -> None:
        try:
            claims = jwt.decode(
                encoded,
                self.public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise GitHubError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future time"
                " at which the assertion expires",
            ) from None
        except jwt.ImmatureSignatureError:
            raise GitHubError(
                401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
            ) from None
        except jwt.PyJWTError:
            raise GitHubError(401, JWT_UNDECODABLE) from None
        if claims["exp"] - claims["iat"] > MAX_JWT_LIFETIME:
            raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
        if str(claims["iss"]) != str(self.app_id):
            raise GitHubError(401, JWT_UNDECODABLE)

    def issue_installation_token(self, installation_id: int | None = None) -> tuple[str, datetime]:
        alphabet = string.ascii_letters + string.digits
        token = "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))
        expires_at = datetime.now(timezone.utc).replace(microsecond=0) + self.token_ttl
        self.tokens[token] = Token(Identity(f"{self.app_slug}[bot]", self.app_slug, installation_id), expires_at)
        return token, expires_at

    def add_token(self, token: str, login: str, app: str | None) -> None:
        self.tokens[token] = Token(Identity(login, app), None)

    def peek(self, authorization: str | None) -> Identity | None:
        """Whose token ``authorization`` carries, if it is a known one (expired or not); never raises."""
        scheme, _, credential = (authorization or "").partition(" ")
        token = self.tokens.get(credential.strip()) if scheme.lower() in ("token", "bearer") else None
        return token.identity if token else None

    def identify(self, operation_id: str, authorization: str | None) -> Identity:
        """Who is calling ``operation_id``; raise GitHub's 401 when the credentials do not fit."""
        if not authorization:
            raise GitHubError(401, "Requires authentication")
        scheme, _, credential = authorization.partition(" ")
        scheme = scheme.lower()
        if operation_id in JWT_OPERATIONS:
            if scheme != "bearer":
                raise GitHubError(401, JWT_UNDECODABLE)
            self.verify_jwt(credential.strip())
            return Identity(self.app_slug, self.app_slug)
        token = self.tokens.get(credential.strip()) if scheme in ("token", "bearer") else None
        if token is None or (token.expires_at and token.expires_at <= datetime.now(timezone.utc)):
            raise GitHubError(401, "Bad credentials")
        return token.identity
