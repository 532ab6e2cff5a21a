"""Keys for the token tests: RSA key generation is slow, so each test session makes one of each."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.tokens import jose


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return jose.new_key()


@pytest.fixture(scope="session")
def pem(private_key: rsa.RSAPrivateKey) -> str:
    """The key as a PKCS#8 PEM, one of the forms Knock's dashboard key takes."""
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def base64_pem(pem: str) -> str:
    """The key the way Knock's dashboard hands it out: the PEM, base64-encoded."""
    return base64.b64encode(pem.encode()).decode()
