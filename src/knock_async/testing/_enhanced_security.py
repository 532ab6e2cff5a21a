"""Enhanced security mode: a publishable key needs a signed user token (verified here).

Imported only when a server runs with `enhanced_security=True`, since it needs the
`knock-async[tokens]` extra (PyJWT with cryptography). Tokens are the ones
`knock_async.tokens.sign_user_token` makes (see there for the format and its sources). With
a publishable (pk_) key:

- no `X-Knock-User-Token`: 401 `missing_user_token`; a token that is malformed, not RS256,
  signed with another key, expired, or without a `sub`: 401 `invalid_user_token`;
- what a good token reaches is each handler's declared access rule (`_access`), over the
  `TokenUser` this module reads from the claims (`sub`, `grants`, `explicit_grants`; a `jti`
  is accepted and not needed);
- rate limits are kept per signing user.

A secret (sk_) key needs no token, as on Knock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from knock_async.tokens import load_signing_key

from ._caller import TokenUser
from ._errors import KnockHTTPError

USER_TOKEN_HEADER = "X-Knock-User-Token"


class EnhancedSecurity:
    """Verifies user tokens against the environment's signing key and checks what they reach."""

    def __init__(self, signing_key: str | None = None) -> None:
        if signing_key is None:
            self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self._private_key = load_signing_key(signing_key)  # as the signing side reads it
        self._public_key = self._private_key.public_key()

    def __repr__(self) -> str:
        return "EnhancedSecurity(signing_key=<hidden>)"

    @property
    def signing_key(self) -> str:
        """The private signing key as a PEM, for the app under test to sign tokens with."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def verify(self, token: str | None) -> TokenUser:
        """The user a request's token speaks for; 401 when it has none or a bad one."""
        if not token:
            raise missing_user_token()
        try:
            claims = jwt.decode(
                token, self._public_key, algorithms=["RS256"], options={"require": ["sub", "exp"]}
            )
        except jwt.PyJWTError as error:
            # The library's text names the failed check, never the token; keep no chain anyway.
            raise invalid_user_token(f"{type(error).__name__}: {error}") from None
        explicit = claims.get("explicit_grants", False)
        if not isinstance(explicit, bool):
            raise invalid_user_token("the explicit_grants claim must be true or false")
        return TokenUser(_subject(claims.get("sub")), _grants(claims.get("grants")), explicit)


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_user_token("the sub claim must be the user id")
    return value


def _grants(value: Any) -> Mapping[str, frozenset[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(p, Mapping) for p in value.values()):
        raise invalid_user_token("the grants claim must map resource URIs to permissions")
    return {str(resource): frozenset(map(str, permissions)) for resource, permissions in value.items()}


def missing_user_token() -> KnockHTTPError:
    return KnockHTTPError(
        401,
        "missing_user_token",
        f"This environment requires a {USER_TOKEN_HEADER} header with a publishable API key",
        "authentication_error",
    )


def invalid_user_token(reason: str) -> KnockHTTPError:
    return KnockHTTPError(
        401, "invalid_user_token", f"The user token is not valid ({reason})", "authentication_error"
    )
