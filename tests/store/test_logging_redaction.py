"""The log file never holds tokens, secrets, Authorization headers, passwords or patient names."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthprep_desktop import logging_setup, paths
from healthprep_desktop.logging_setup import REDACTOR, Redactor, configure_logging

ACCESS = "acc-6f1d0b8e2c4a9f7e"
REFRESH = "ref-3b9a7c5d1e2f4a6b"
SECRET = "cs-77aa99bb11cc33dd"
PASSWORD = "Hunter2-pw-Zq9"
CODE = "authcode-5e6f7a8b9c"
VERIFIER = "verifier-0123456789abcdefghijklmnopqrstuvwxyz"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJwYXRpZW50LTEyMyIsIm5hbWUiOiJKb2huIn0."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
PATIENT = "Quimbyella Zanzibarova"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
EVERY_SECRET = (
    ACCESS,
    REFRESH,
    SECRET,
    PASSWORD,
    CODE,
    VERIFIER,
    JWT,
    "Quimbyella",
    "Zanzibarova",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
)


@pytest.fixture
def log_file() -> Iterator[Path]:
    path = configure_logging(logging.DEBUG)
    try:
        yield path
    finally:
        logging_setup.shutdown_logging()
        REDACTOR.clear_sensitive()


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_log_lives_under_the_log_dir(log_file: Path) -> None:
    assert log_file.parent == paths.log_dir()


def test_secrets_and_names_never_reach_the_file(log_file: Path) -> None:
    log = logging.getLogger("healthprep_desktop.test")
    REDACTOR.add_sensitive(PATIENT)
    log.info(
        "token response %s",
        {"access_token": ACCESS, "refresh_token": REFRESH, "id_token": JWT, "token_type": "Bearer"},
    )
    log.info('{"client_secret": "%s", "password": "%s"}', SECRET, PASSWORD)
    log.debug("GET /callback?code=%s&state=xyz", CODE)
    log.debug("POST /token grant_type=authorization_code&code=%s&code_verifier=%s", CODE, VERIFIER)
    log.info("headers: %r", {"Authorization": f"Bearer {ACCESS}", "Accept": "application/json"})
    log.info("Authorization: Basic %s", SECRET)
    log.info("sent Bearer %s upstream", REFRESH)
    log.info("assertion %s", JWT)
    log.warning("chart of %s loaded; also 'Zanzibarova, Quimbyella' and QUIMBYELLA", PATIENT)
    log.info("key material: %s", PEM)
    log.info("login password=%s for user", PASSWORD)
    try:
        raise RuntimeError(f"refresh failed for {PATIENT} with refresh_token={REFRESH}")
    except RuntimeError:
        log.exception("refresh failed, Authorization: Bearer %s", ACCESS)
    log.info("stack check for %s", PATIENT, stack_info=True)
    _flush()
    text = log_file.read_text(encoding="utf-8")
    for secret in EVERY_SECRET:
        assert secret.casefold() not in text.casefold(), secret
    # Redacted, not dropped: the records are there with their masks.
    assert text.count(logging_setup.MASK) >= 12
    assert logging_setup.NAME_MASK in text
    assert "RuntimeError: refresh failed for [NAME]" in text
    assert "grant_type=authorization_code" in text  # harmless parameters stay readable


def test_ordinary_text_is_left_alone() -> None:
    redactor = Redactor()
    redactor.add_sensitive("Al Li")  # parts too short to mask alone
    text = "status_code=200 zipcode=12345 fetched 42 Observations; error code list"
    assert redactor.redact(text) == text
    assert redactor.redact("Al Li was seen") == "[NAME] was seen"


def test_rotation_keeps_redacting(tmp_path: Path) -> None:
    path = configure_logging(log_file=tmp_path / "small.log")
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler) and h.baseFilename == str(path)
    )
    handler.maxBytes = 2000
    try:
        for i in range(100):
            logging.getLogger("x").warning("line %d access_token=%s", i, ACCESS)
    finally:
        logging_setup.shutdown_logging()
    files = sorted(tmp_path.glob("small.log*"))
    assert len(files) > 1
    assert all(ACCESS not in f.read_text(encoding="utf-8") for f in files)
    assert path in files
