"""``healthprep-desktop connection key make|show|import``: the SMART Backend Services key pair.

The private key is kept only in the encrypted store (the same entry the window's "Copy public
key (JWKS)" button fills, through ``fhir.credentials.ensure_backend_key``); nothing here prints,
logs or audits it. ``show`` prints the public JWK Set, which is what the EHR registers.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path
from typing import Any

from healthprep_desktop.fhir.config import AuthMethod
from healthprep_desktop.fhir.oauth import SUPPORTED_KEY_ALGORITHMS, BackendKey, jwk_thumbprint

MAX_PEM_BYTES = 64 * 1024


class Refusal(Exception):
    """One sentence for the user; the command exits with 2 and changes nothing."""


def _key_entry(opened: Any) -> tuple[Any, str]:
    """(StoreSecrets, the entry name of the connection's private key)."""
    from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_from_store

    config = config_from_store(opened.connection)
    return StoreSecrets(opened.store), config.secret_key(opened.scope.id, "private_key")


def _require_backend(opened: Any, action: str) -> None:
    method = opened.connection.config.get("auth_method", AuthMethod.SMART_PUBLIC_PKCE.value)
    if method != AuthMethod.SMART_BACKEND_SERVICES.value:
        raise Refusal(
            f"Connection {opened.connection.name!r} signs in with {method}, and only backend "
            f"services use a key pair: {action} it for a connection added with "
            "--auth smart-backend."
        )


def _remember_key(opened: Any, key: BackendKey, how: str) -> None:
    """The key's algorithm and kid in the connection's settings (so the window and a batch
    use this key rather than make another), and an audit entry without the key."""
    from healthprep_desktop.store import AuditAction

    config = dict(opened.connection.config)
    config.update(backend_key_algorithm=key.algorithm, backend_key_id=key.kid)
    opened.scope.connections.update(opened.connection.id, config=config)
    opened.scope.audit(
        AuditAction.CONNECTION_CHANGE,
        detail=f"{opened.connection.name}: backend key {how} ({key.algorithm}, kid {key.kid})",
    )


def make_key(opened: Any, args: argparse.Namespace) -> str:
    from healthprep_desktop.fhir.credentials import ensure_backend_key, load_backend_key

    _require_backend(opened, "make a key for")
    secrets, entry = _key_entry(opened)
    if load_backend_key(secrets, entry) is not None and not args.replace:
        raise Refusal(
            f"Connection {opened.connection.name!r} already has a key (see 'connection key "
            "show'); a new one stops sign-in until its JWKS is registered, so add --replace "
            "if that is what you want."
        )
    with opened.store.transaction():
        secrets.delete(entry)
        key = ensure_backend_key(secrets, entry, args.alg)  # the window's own path
        _remember_key(opened, key, "replaced" if args.replace else "made")
    return (
        f"Made an {key.algorithm} key pair for {opened.connection.name!r} (kid {key.kid}); the "
        "private key is kept in the encrypted store. Register the public key with the EHR: "
        "'healthprep-desktop connection key show' prints its JWKS."
    )


def show_jwks(opened: Any) -> str:
    from healthprep_desktop.fhir.credentials import load_backend_key

    secrets, entry = _key_entry(opened)
    key = load_backend_key(secrets, entry)
    if key is None:
        raise Refusal(
            f"Connection {opened.connection.name!r} has no key yet: make one with "
            "'healthprep-desktop connection key make' or import one with 'connection key import'."
        )
    return json.dumps(key.jwks(), indent=2)


def _read_private_file(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise Refusal(f"There is no file {str(path)!r}; give the path of the PEM key.") from None
    except OSError as exc:
        raise Refusal(f"Cannot read {str(path)!r} ({exc.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise Refusal(f"{str(path)!r} is not a file; give the path of the PEM key.")
    if os.name == "posix" and info.st_mode & 0o077:
        raise Refusal(
            f"{str(path)!r} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}): "
            f"a private key must be private; run 'chmod 600 {path}' and import it again."
        )
    if info.st_size > MAX_PEM_BYTES:
        raise Refusal(f"{str(path)!r} is too large to be a PEM private key.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Refusal(f"Cannot read {str(path)!r} ({exc.strerror}).") from None


def key_from_pem(data: bytes, kid: str | None) -> BackendKey:
    """A BackendKey from a PEM private key: RSA (2048 bits or more) signs RS384, an EC P-384
    key signs ES384; kept as unencrypted PKCS#8 inside the encrypted store."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise Refusal(
            "The key file is protected by a passphrase; export it without one (e.g. 'openssl "
            "pkey -in key.pem -out plain.pem', then chmod 600) and import that file."
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise Refusal(
            "The file does not hold a PEM private key (it should begin with '-----BEGIN "
            "PRIVATE KEY-----' or '-----BEGIN RSA/EC PRIVATE KEY-----')."
        ) from None
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise Refusal(
                f"The RSA key has {private.key_size} bits; SMART backend services need 2048 or "
                "more."
            )
        algorithm = "RS384"
    elif isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(
        private.curve, ec.SECP384R1
    ):
        algorithm = "ES384"
    else:
        raise Refusal(
            "The key is neither RSA nor EC P-384; SMART backend services sign with "
            f"{' or '.join(SUPPORTED_KEY_ALGORITHMS)}."
        )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    unnamed = BackendKey(algorithm=algorithm, kid="", private_pem=pem)
    return BackendKey(
        algorithm=algorithm,
        kid=kid or jwk_thumbprint(unnamed.public_jwk()),
        private_pem=pem,
    )


def import_key(opened: Any, args: argparse.Namespace) -> str:
    from healthprep_desktop.fhir.credentials import load_backend_key

    _require_backend(opened, "import a key for")
    if args.kid is not None and not args.kid.strip():
        raise Refusal("--kid must not be empty; leave it out to use the key's thumbprint.")
    key = key_from_pem(_read_private_file(args.file), args.kid.strip() if args.kid else None)
    secrets, entry = _key_entry(opened)
    if load_backend_key(secrets, entry) is not None and not args.replace:
        raise Refusal(
            f"Connection {opened.connection.name!r} already has a key; add --replace to use "
            "the imported one instead (the EHR must know its JWKS)."
        )
    value = json.dumps({"alg": key.algorithm, "kid": key.kid, "pem": key.private_pem.decode()})
    with opened.store.transaction():
        secrets.set(entry, value)
        _remember_key(opened, key, "imported")
    return (
        f"Imported an {key.algorithm} key for {opened.connection.name!r} (kid {key.kid}) into "
        f"the encrypted store; {args.file} was not copied, delete it once it is no longer "
        "needed."
    )


__all__ = ["Refusal", "import_key", "key_from_pem", "make_key", "show_jwks"]
