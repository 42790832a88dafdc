"""Bulk Data status polling against the sandbox: running, complete, retry later, transient
errors, failed jobs and deletion."""

from __future__ import annotations

import stat
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from bulk_support import auth, kick_off, poll, started, system_token
from sandbox_smart import KeyPair, SandboxFactory

from healthprep_desktop.sandbox import SandboxServer


@pytest.fixture
def server(make_sandbox: SandboxFactory) -> SandboxServer:
    server = make_sandbox()
    server.config.bulk.retry_after = 0
    return server


@pytest.fixture
def token(http: httpx.Client, server: SandboxServer, keys: dict[str, KeyPair]) -> str:
    return system_token(http, server, keys)


def _issue(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, str] = body["issue"][0]
    return issue


def test_status_says_running_with_retry_after_and_progress_then_gives_the_manifest(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.retry_after = 3
    server.config.bulk.polls_before_complete = 2
    status_url = started(kick_off(http, server, token))
    for _ in range(2):
        running = http.get(status_url, headers=auth(token))
        assert running.status_code == 202
        assert running.headers["Retry-After"] == "3"
        assert running.headers["X-Progress"] == "100% (3/3 patients)"
    done = http.get(status_url, headers=auth(token))
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("application/json")
    manifest = done.json()
    assert set(manifest) >= {"transactionTime", "request", "requiresAccessToken", "output"}
    assert manifest["transactionTime"].endswith("Z")
    assert manifest["error"] == []
    assert all(set(item) == {"type", "url", "count"} for item in manifest["output"])
    expires = parsedate_to_datetime(done.headers["Expires"]).timestamp()
    assert expires > server.clock.now() + 3600  # files kept a day by default


def test_progress_counts_patients_while_the_writer_runs(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.min_seconds = 60.0  # still running whatever the writer did
    status_url = started(kick_off(http, server, token))
    running = http.get(status_url, headers=auth(token))
    assert running.status_code == 202
    assert running.headers["X-Progress"].endswith("/3 patients)")
    server.clock.advance(61)
    assert poll(http, status_url, token).status_code == 200


def test_polling_sooner_than_retry_after_gets_429(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    bulk = server.config.bulk
    bulk.retry_after, bulk.polls_before_complete, bulk.enforce_retry_after = 5, 2, True
    status_url = started(kick_off(http, server, token))
    assert http.get(status_url, headers=auth(token)).status_code == 202
    too_soon = http.get(status_url, headers=auth(token))
    assert too_soon.status_code == 429
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 5
    assert _issue(too_soon)["code"] == "throttled"
    server.clock.advance(5)
    assert http.get(status_url, headers=auth(token)).status_code == 202
    server.clock.advance(5)
    assert http.get(status_url, headers=auth(token)).status_code == 200


def test_a_transient_status_error_is_retried(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.next_status_errors = 1
    status_url = started(kick_off(http, server, token))
    failed = http.get(status_url, headers=auth(token))
    assert failed.status_code == 503
    assert _issue(failed)["code"] == "transient"
    assert "Retry-After" in failed.headers
    assert poll(http, status_url, token).status_code == 200  # the job itself carried on
    assert server.config.bulk.next_status_errors == 0


def test_a_failed_job_answers_500_with_an_operation_outcome(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.next_jobs_fail = 1
    status_url = started(kick_off(http, server, token))
    failed = poll(http, status_url, token)
    assert failed.status_code == 500
    assert _issue(failed)["code"] == "exception"
    assert http.get(status_url, headers=auth(token)).status_code == 500  # it stays failed
    next_job = started(kick_off(http, server, token))
    assert poll(http, next_job, token).status_code == 200


def test_delete_removes_the_job_and_its_files(
    http: httpx.Client, server: SandboxServer, token: str, tmp_path: Path
) -> None:
    server.config.bulk.folder = tmp_path / "bulk"
    status_url = started(kick_off(http, server, token))
    manifest = poll(http, status_url, token).json()
    [job_folder] = list((tmp_path / "bulk").iterdir())
    assert stat.S_IMODE(job_folder.stat().st_mode) == 0o700
    files = list(job_folder.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    file_url = manifest["output"][0]["url"]
    assert http.get(file_url, headers=auth(token)).status_code == 200

    deleted = http.delete(status_url, headers=auth(token))
    assert deleted.status_code == 202
    assert http.get(status_url, headers=auth(token)).status_code == 404
    gone = http.get(file_url, headers=auth(token))
    assert gone.status_code == 404
    assert _issue(gone)["code"] == "not-found"
    assert not job_folder.exists()
    assert http.delete(status_url, headers=auth(token)).status_code == 404


def test_delete_while_running_cancels_the_job(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.polls_before_complete = 5
    status_url = started(kick_off(http, server, token))
    assert http.get(status_url, headers=auth(token)).status_code == 202
    assert http.delete(status_url, headers=auth(token)).status_code == 202
    assert http.get(status_url, headers=auth(token)).status_code == 404


def test_status_needs_the_token_of_the_client_that_started_it(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    status_url = started(kick_off(http, server, token))
    assert http.get(status_url).status_code == 401
    unknown = http.get(status_url.rsplit("/", 1)[0] + "/0000", headers=auth(token))
    assert unknown.status_code == 404
