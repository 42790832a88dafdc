"""fhir/bulk against a scripted Bulk Data server on a real socket (tests/fhir/bulk_stub.py)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from bulk_stub import BulkStub, StubFile, ndjson, observations, patients, start

from healthprep_desktop.fhir.auth import BearerAuth
from healthprep_desktop.fhir.bulk import (
    BulkExport,
    BulkExportFailed,
    BulkFileExpired,
    BulkFileInvalid,
    BulkKickoffRefused,
    BulkManifestInvalid,
    BulkTimedOut,
    ExportProgress,
    ExportRequest,
    MemorySaver,
    PollPolicy,
    run_export,
    supports_bulk,
)
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.status import MemoryAudit
from healthprep_desktop.fhir.tokens import MemoryTokenStore, TokenManager, TokenSet

FAST_RETRY = RetryConfig(max_attempts=4, base_delay=0.01, max_delay=0.05)
OPEN = RateLimitConfig(requests_per_second=0, max_concurrency=8)
TYPES = ("Patient", "Observation")


class FakeSleep:
    """The polling's sleeper: records each pause instead of sleeping it."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def stub() -> Iterator[BulkStub]:
    server = start(
        BulkStub(
            files={
                "patients.ndjson": StubFile("Patient", ndjson(patients(10))),
                "observations.ndjson": StubFile("Observation", ndjson(observations(25))),
            }
        )
    )
    try:
        yield server
    finally:
        assert server.server is not None
        server.server.stop()


def client_for(stub: BulkStub, **options: object) -> FhirClient:
    settings: dict[str, object] = {"retry": FAST_RETRY, "rate_limit": OPEN}
    settings.update(options)
    return FhirClient(stub.base, **settings)  # type: ignore[arg-type,unused-ignore]


def group(**changes: object) -> ExportRequest:
    return ExportRequest(group_id="g", types=TYPES, **changes)  # type: ignore[arg-type,unused-ignore]


async def test_group_export_streams_files_to_private_folder_and_deletes_the_job(
    stub: BulkStub, tmp_path: Path
) -> None:
    folder = tmp_path / "exports" / "run-1"
    events: list[ExportProgress] = []
    async with client_for(stub) as client:
        result = await run_export(client, group(), folder, progress=events.append)
    assert result.transaction_time == stub.transaction_time
    assert [(f.type, f.count) for f in result.files] == [("Patient", 10), ("Observation", 25)]
    assert sum(1 for _ in result.iter_resources()) == 35
    ids = [r["id"] for r in result.iter_resources("Patient")]
    assert ids == [f"p{i}" for i in range(10)]
    kickoff = stub.hits("/fhir/Group/g/$export")
    assert len(kickoff) == 1 and kickoff[0].query == {"_type": ["Patient,Observation"]}
    assert kickoff[0].headers["prefer"] == "respond-async"
    assert stub.deleted and len(stub.hits("/fhir/bulkstatus/", "DELETE")) == 1
    for file in result.files:
        assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert events[0].phase == "kick-off" and events[-1].phase == "done"


async def test_since_is_sent_on_a_rerun_and_types_default_to_the_library(
    stub: BulkStub, tmp_path: Path
) -> None:
    async with client_for(stub) as client:
        first = await run_export(client, ExportRequest(group_id="g"), tmp_path / "a")
        rerun = ExportRequest(group_id="g").with_since(first.transaction_time)
        await run_export(client, rerun, tmp_path / "b")
    first_kick, second_kick = stub.hits("/fhir/Group/g/$export")
    types = first_kick.query["_type"][0].split(",")
    assert types[0] == "Patient" and {"Observation", "Condition", "Procedure"} <= set(types)
    assert "_since" not in first_kick.query
    assert second_kick.query["_since"] == [stub.transaction_time]
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert ExportRequest().with_since(moment).since == "2026-12-01T10:00:00Z"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "error", "code": "not-supported", "diagnostics": "no _since"}
                ],
            },
            "rejected the export request for group g (the server said: no _since",
        ),
        (403, {}, "not allowed to export group g"),
        (404, {}, "has no group 'g' to export"),
    ],
)
async def test_kickoff_refusals_say_what_to_do(
    stub: BulkStub, tmp_path: Path, status: int, body: dict[str, object], expected: str
) -> None:
    stub.kickoff_answer = (status, {}, body)
    async with client_for(stub) as client:
        with pytest.raises(BulkKickoffRefused) as caught:
            await run_export(client, group(), tmp_path)
    assert caught.value.status == status
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value) and "http" not in str(caught.value)
    assert stub.hits("/fhir/bulkstatus/") == []


async def test_kickoff_401_refreshes_the_token_once_and_goes_on(
    stub: BulkStub, tmp_path: Path
) -> None:
    stub.valid_token = "fresh"
    refreshed: list[str] = []

    async def refresher(current: TokenSet | None) -> TokenSet:
        refreshed.append("refresh")
        return TokenSet(access_token="fresh", expires_at=datetime.now(UTC) + timedelta(hours=1))

    store = MemoryTokenStore()
    # A token the server no longer accepts, though it has not expired yet: the 401 says so.
    valid_until = datetime.now(UTC) + timedelta(hours=1)
    store.save("t", "c", TokenSet(access_token="revoked", expires_at=valid_until))
    manager = TokenManager("t", "c", store=store, refresher=refresher, audit=MemoryAudit())
    async with client_for(stub, auth=BearerAuth(manager, stub.base)) as client:
        result = await run_export(client, group(), tmp_path)
    assert result.count() == 35 and refreshed == ["refresh"]
    assert [s.headers.get("authorization") for s in stub.hits("/fhir/Group/")] == [
        "Bearer revoked",
        "Bearer fresh",
    ]


async def test_retry_after_is_honoured_and_progress_reported(
    stub: BulkStub, tmp_path: Path
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    stub.status_script = [
        (202, {"Retry-After": "3", "X-Progress": "Exporting: 10%"}, b""),
        (202, {"Retry-After": later, "X-Progress": "50%\x1b[31m"}, b""),
        (202, {}, b""),
        (202, {}, b""),
    ]
    sleep = FakeSleep()
    texts: list[str | None] = []
    async with client_for(stub) as client:
        await run_export(
            client,
            group(),
            tmp_path,
            progress=lambda p: texts.append(p.server_progress) if p.phase == "waiting" else None,
            policy=PollPolicy(first_delay=1.0, sleep=sleep),
        )
    assert sleep.pauses[0] == 3
    assert 17 <= sleep.pauses[1] <= 20  # the HTTP date, less the time already gone
    assert sleep.pauses[2:] == [1.0, 2.0]  # no Retry-After: exponential backoff
    assert texts == ["Exporting: 10%", "50%", None, None]  # escape sequences removed
    assert len(stub.hits("/fhir/bulkstatus/")) == 5


async def test_429_slows_polling_and_transient_5xx_is_retried(
    stub: BulkStub, tmp_path: Path
) -> None:
    transient = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "transient"}],
    }
    stub.status_script = [
        (429, {"Retry-After": "7"}, b""),
        (429, {}, b""),
        (503, {}, b""),
        (500, {}, transient),
    ]
    sleep = FakeSleep()
    async with client_for(stub) as client:
        result = await run_export(
            client, group(), tmp_path, policy=PollPolicy(first_delay=1.0, sleep=sleep)
        )
    assert result.count() == 35
    assert sleep.pauses == [7, 4.0, 4.0, 8.0]
    assert client.stats.rate_limited == 0  # answered by the polling, not retried underneath


async def test_a_failed_job_is_reported_and_not_resumed(stub: BulkStub, tmp_path: Path) -> None:
    stub.status_script = [
        (
            500,
            {},
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "fatal", "code": "exception", "diagnostics": "disk full"}],
            },
        )
    ]
    saver = MemorySaver()
    async with client_for(stub) as client:
        with pytest.raises(BulkExportFailed, match=r"export failed .* disk full"):
            await run_export(client, group(), tmp_path, saver, policy=PollPolicy(sleep=FakeSleep()))
        assert saver.active(group()) is None
        await run_export(client, group(), tmp_path, saver)
    assert len(stub.hits("/fhir/Group/")) == 2


async def test_manifest_error_files_are_read_and_reported(stub: BulkStub, tmp_path: Path) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": "Patient p9 skipped"}],
    }
    stub.error_files = {"errors.ndjson": StubFile("OperationOutcome", ndjson([outcome]))}
    async with client_for(stub) as client:
        result = await run_export(client, group(), tmp_path)
    assert [i.text for i in result.errors] == ["Patient p9 skipped"]
    assert [f.type for f in result.files] == ["Patient", "Observation"]
    assert not any(p.name.startswith("error-") for p in result.files[0].path.parent.iterdir())


async def test_invalid_manifest_is_refused_with_one_sentence(
    stub: BulkStub, tmp_path: Path
) -> None:
    stub.status_script = [(200, {}, {"request": "x", "output": []})]
    async with client_for(stub) as client:
        with pytest.raises(BulkManifestInvalid, match="no transactionTime"):
            await run_export(client, group(), tmp_path)


async def test_an_expired_file_url_asks_to_start_again(stub: BulkStub, tmp_path: Path) -> None:
    stub.files["observations.ndjson"].expired = True
    saver = MemorySaver()
    async with client_for(stub) as client:
        with pytest.raises(BulkFileExpired, match="start the export again"):
            await run_export(client, group(), tmp_path, saver)
        assert saver.active(group()) is None  # closed: the next run starts a new export
        assert [e.state for e in saver.saved.values()] == ["expired"]
        stub.files["observations.ndjson"].expired = False
        result = await run_export(client, group(), tmp_path, saver)
    assert result.kicked_off and result.count() == 35
    assert len(stub.hits("/fhir/Group/")) == 2


async def test_a_cut_download_resumes_with_a_range_request(stub: BulkStub, tmp_path: Path) -> None:
    data = ndjson(observations(3000))
    stub.files["observations.ndjson"] = StubFile("Observation", data, cut_after=100_000)
    async with client_for(stub) as client:
        result = await run_export(client, group(), tmp_path)
    assert result.files[1].path.read_bytes() == data and result.files[1].count == 3000
    ranges = [s.headers.get("range") for s in stub.hits("/fhir/bulkfiles/observations")]
    assert ranges[0] is None and ranges[1] is not None
    # Continued from what reached the disk before the cut (the server's last chunk may be lost).
    assert 0 < int(ranges[1].removeprefix("bytes=").rstrip("-")) <= 100_000


async def test_a_server_without_ranges_restarts_the_cut_file(
    stub: BulkStub, tmp_path: Path
) -> None:
    data = ndjson(observations(3000))
    stub.files["observations.ndjson"] = StubFile(
        "Observation", data, cut_after=100_000, ranges=False
    )
    async with client_for(stub) as client:
        result = await run_export(client, group(), tmp_path)
    assert result.files[1].path.read_bytes() == data


async def test_no_token_goes_to_files_that_do_not_require_one(
    stub: BulkStub, tmp_path: Path
) -> None:
    stub.valid_token = "tok"
    stub.requires_access_token = False
    store = MemoryTokenStore()
    store.save("t", "c", TokenSet(access_token="tok", expires_at=datetime.now(UTC) + timedelta(1)))
    manager = TokenManager("t", "c", store=store, refresher=None, audit=MemoryAudit())
    async with client_for(stub, auth=BearerAuth(manager, stub.base)) as client:
        await run_export(client, group(), tmp_path)
    files = stub.hits("/fhir/bulkfiles/")
    assert len(files) == 2 and all("authorization" not in s.headers for s in files)
    assert all(s.headers["authorization"] == "Bearer tok" for s in stub.hits("/fhir/bulkstatus"))


async def test_files_that_require_a_token_get_it(stub: BulkStub, tmp_path: Path) -> None:
    stub.valid_token = "tok"
    store = MemoryTokenStore()
    store.save("t", "c", TokenSet(access_token="tok", expires_at=datetime.now(UTC) + timedelta(1)))
    manager = TokenManager("t", "c", store=store, refresher=None, audit=MemoryAudit())
    async with client_for(stub, auth=BearerAuth(manager, stub.base)) as client:
        await run_export(client, group(), tmp_path)
    assert all(s.headers["authorization"] == "Bearer tok" for s in stub.hits("/fhir/bulkfiles/"))


async def test_a_bad_line_is_named_by_file_and_line_never_by_content(
    stub: BulkStub, tmp_path: Path
) -> None:
    data = ndjson(patients(2)) + b'{"secret": "Jane Doe 1970-01-01"\n' + b"[1]\n"
    stub.files["patients.ndjson"] = StubFile("Patient", data)
    async with client_for(stub) as client:
        result = await run_export(client, group(), tmp_path)
    with pytest.raises(BulkFileInvalid) as caught:
        list(result.iter_resources("Patient"))
    assert caught.value.line == 3 and "Line 3 of 0000-Patient.ndjson is not JSON" in str(
        caught.value
    )
    assert "Jane" not in str(caught.value)
    bad: list[tuple[int, str]] = []
    kept = list(
        result.iter_resources("Patient", on_bad_line=lambda b: bad.append((b.line, b.reason)))
    )
    assert len(kept) == 2 and bad == [(3, "is not JSON"), (4, "is not a FHIR resource")]


async def test_a_job_running_too_long_times_out_and_cancel_deletes_it(
    stub: BulkStub, tmp_path: Path
) -> None:
    stub.status_script = [(202, {"Retry-After": "1"}, b"")] * 5
    saver = MemorySaver()
    policy = PollPolicy(sleep=FakeSleep(), max_wait=2.5)
    async with client_for(stub) as client:
        export = BulkExport(client, group(), tmp_path, saver, policy=policy)
        with pytest.raises(BulkTimedOut, match="still running"):
            await export.run()
        assert not stub.deleted
        assert await export.cancel()
    assert stub.hits("/fhir/bulkstatus/", "DELETE") and saver.active(group()) is None


def test_supports_bulk_reads_the_capability_statement() -> None:
    def caps(**rest: object) -> Capabilities:
        body = {"resourceType": "CapabilityStatement", "rest": [{"mode": "server", **rest}]}
        return Capabilities.from_json(body)

    assert not supports_bulk(None)
    assert not supports_bulk(caps(resource=[{"type": "Patient"}]))
    group_op = [{"type": "Group", "operation": [{"name": "export"}]}]
    assert supports_bulk(caps(resource=group_op))
    assert not supports_bulk(caps(resource=group_op), group=False)
    assert supports_bulk(caps(operation=[{"name": "export"}]), group=False)
    declared = Capabilities.from_json(
        {
            "resourceType": "CapabilityStatement",
            "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        }
    )
    assert supports_bulk(declared)


def test_request_round_trips_through_json() -> None:
    request = ExportRequest("g", ("Patient",), "2026-01-01T00:00:00Z", (("_typeFilter", "x"),))
    assert ExportRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    assert request.path == "Group/g/$export" and ExportRequest().path == "Patient/$export"


def test_the_public_surface_is_sorted_and_importable() -> None:
    import healthprep_desktop.fhir.bulk as bulk

    assert list(bulk.__all__) == sorted(bulk.__all__)
    assert all(hasattr(bulk, name) for name in bulk.__all__)
