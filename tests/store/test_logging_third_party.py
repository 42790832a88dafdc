"""Third-party request logs (httpx logs every URL at INFO) stay out of the app's log."""

from __future__ import annotations

import logging
from pathlib import Path

from healthprep_desktop.logging_setup import configure_logging, shutdown_logging


def test_httpx_request_lines_do_not_reach_the_log(tmp_path: Path) -> None:
    log_file = tmp_path / "app.log"
    configure_logging("INFO", log_file=log_file)
    try:
        logging.getLogger("httpx").info(
            "HTTP Request: GET http://ehr/fhir/Patient/p-4711/$everything?code=secret-code"
        )
        logging.getLogger("httpx").warning("connection pool is full")
        logging.getLogger("healthprep_desktop.test").info("batch started")
    finally:
        shutdown_logging()
    text = log_file.read_text(encoding="utf-8")
    assert "p-4711" not in text and "secret-code" not in text
    assert "connection pool is full" in text and "batch started" in text
