"""Signing keys for bundles of procedures: Ed25519, through `cryptography`.

A key pair lives under $SEGLAM_HOME/keys: NAME.key (the private key, PEM, readable by its
owner only) and NAME.pub (the public key, PEM), which is what another machine is given to
trust: `seglam import BUNDLE --trust NAME.pub`.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.models import seglam_home

from ..errors import SeglamError


class SigningKeyError(SeglamError):
    """A signing key is missing, exists already, or is not an Ed25519 key."""


def keys_dir(home: str | Path | None = None) -> Path:
    return seglam_home(home) / "keys"


def create_key(name: str, home: str | Path | None = None) -> Path:
    """Make the key pair NAME; returns the public key's path. An existing key is never replaced."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise SigningKeyError(f"key name {name!r}: use letters, digits, '-' and '_'")
    folder = keys_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    if private.exists():
        raise SigningKeyError(f"a signing key {name!r} exists already ({private}); choose another name")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


def sign(name: str, data: bytes, home: str | Path | None = None) -> bytes:
    path = keys_dir(home) / f"{name}.key"
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyError(f"no signing key {name!r} at {path}; make one with `seglam signing-key create {name}`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return key.sign(data)


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except FileNotFoundError:
        raise SigningKeyError(f"no public key file at {path}") from None
    except ValueError as error:
        raise SigningKeyError(f"{path} is not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key


def verifies(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False
