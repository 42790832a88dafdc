"""A bulk export killed mid-download (a real child process, SIGKILL) resumes from what the
encrypted store kept: the same status URL (no second kick-off), the complete file not
downloaded again, the cut one continued with a Range request. And memory stays flat while a
large file streams in and is read back."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from bulk_stub import BulkStub, StubFile, ndjson, observations, patients, start

from healthprep_desktop.fhir.bulk import ExportRequest, run_export
from healthprep_desktop.fhir.bulk_store import StoreExportSaver
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.store import Store

CHILD = Path(__file__).with_name("bulk_child.py")
REQUEST = ExportRequest(group_id="g", types=("Patient", "Observation"))
PASSPHRASE = "test-only passphrase for a throwaway store"
OPEN = RateLimitConfig(requests_per_second=0)


@pytest.fixture
def stub() -> Iterator[BulkStub]:
    server = start(BulkStub())
    try:
        yield server
    finally:
        assert server.server is not None
        server.server.stop()


def _wait_for_line(process: subprocess.Popen[str], wanted: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
        if line.startswith(wanted):
            return seen
    raise AssertionError(f"the child never printed {wanted!r}: {seen}")


@pytest.mark.slow
async def test_killed_mid_download_resumes_without_a_second_kickoff(
    stub: BulkStub, tmp_path: Path
) -> None:
    big = ndjson(observations(12_000))  # ~1.6 MB, sent slowly
    halfway = threading.Event()
    stub.files = {
        "patients.ndjson": StubFile("Patient", ndjson(patients(10))),
        "observations.ndjson": StubFile(
            "Observation",
            big,
            chunk=16 * 1024,
            chunk_delay=0.02,
            sent_event=halfway,
            sent_mark=len(big) // 3,
        ),
    }
    database = tmp_path / "store.db"
    store = Store.open(database, passphrase=PASSPHRASE)
    tenant = store.create_tenant("Clinic")
    connection_id = store.tenant(tenant.id).connections.add("ehr", "generic", stub.base).id
    store.close()
    folder = tmp_path / "export"

    child = subprocess.Popen(  # noqa: ASYNC220 - the child is driven by blocking pipes on purpose
        [
            sys.executable,
            str(CHILD),
            stub.base,
            str(folder),
            str(database),
            tenant.id,
            str(connection_id),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HEALTHPREP_HOME": str(tmp_path / "home")},
    )
    try:
        assert child.stdin is not None
        child.stdin.write(PASSPHRASE + "\n")
        child.stdin.close()
        _wait_for_line(child, "downloading 1", timeout=60)  # the Patient file is complete
        assert halfway.wait(30), "the observations file never got a third of the way"
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    partial = (folder / "0001-Observation.ndjson").stat().st_size
    assert 0 < partial < len(big)

    stub.files["observations.ndjson"].chunk_delay = 0.0
    store = Store.open(database, passphrase=PASSPHRASE, create=False)
    try:
        saver = StoreExportSaver(store.tenant(tenant.id), connection_id)
        async with FhirClient(stub.base, rate_limit=OPEN) as client:
            result = await run_export(client, REQUEST, tmp_path / "ignored", saver)
        rows = store.tenant(tenant.id).bulk_exports.list(connection_id)
    finally:
        store.close()
    assert not result.kicked_off
    assert len(stub.hits("/fhir/Group/g/$export")) == 1  # no second kick-off
    assert len(stub.hits("/fhir/bulkfiles/patients")) == 1  # the complete file was kept
    observation_gets = stub.hits("/fhir/bulkfiles/observations")
    assert [s.headers.get("range") for s in observation_gets] == [None, f"bytes={partial}-"]
    assert result.files[1].path == folder / "0001-Observation.ndjson"  # the saved folder
    assert result.files[1].path.read_bytes() == big and result.count() == 12_010
    assert [r.state for r in rows] == ["downloaded"] and stub.deleted


@pytest.mark.slow
async def test_a_large_file_streams_with_flat_memory(stub: BulkStub, tmp_path: Path) -> None:
    """The peak while downloading (and reading back) does not grow with the file: a 3 MB
    file peaks where a 1 MB one does (socket and HTTP parser buffers, ~2 MB with the stub
    server's own in the same process), and reading back holds one line at a time."""
    sizes = {"warm-up": 100, "small": 8_000, "large": 24_000}
    peaks: dict[str, tuple[int, int]] = {}
    async with FhirClient(stub.base, rate_limit=OPEN) as client:
        for name, count in sizes.items():
            data = ndjson(observations(count))
            stub.files = {"observations.ndjson": StubFile("Observation", data)}
            gc.collect()
            tracemalloc.start()
            try:
                result = await run_export(client, REQUEST, tmp_path / name)
                _, download_peak = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                read = sum(1 for _ in result.iter_resources())
                _, read_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert read == count and result.files[0].size == len(data)
            peaks[name] = (download_peak, read_peak)
    large = len(ndjson(observations(sizes["large"])))
    (small_download, small_read), (large_download, large_read) = peaks["small"], peaks["large"]
    # The stub server's thread is in the same process and counted too.
    assert large_download < small_download + 256 * 1024, peaks
    assert large_download < large, peaks
    assert large_read < small_read + 64 * 1024 and large_read < 256 * 1024, peaks
