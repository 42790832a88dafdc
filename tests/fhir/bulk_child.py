"""A child process for the bulk resume test: runs one export with the store's saver.

    python bulk_child.py BASE_URL FOLDER DATABASE TENANT_ID CONNECTION_ID   (passphrase on stdin)

It prints "kicked-off" once the status URL is saved; the test kills it with SIGKILL while a file
downloads, then resumes the export in its own process from what the store kept.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from healthprep_desktop.fhir.bulk import ExportProgress, ExportRequest, run_export
from healthprep_desktop.fhir.bulk_store import StoreExportSaver
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.store import Store

REQUEST = ExportRequest(group_id="g", types=("Patient", "Observation"))


async def main(base: str, folder: Path, database: Path, tenant: str, connection: int) -> None:
    passphrase = sys.stdin.readline().rstrip("\n")
    store = Store.open(database, passphrase=passphrase, create=False)
    saver = StoreExportSaver(store.tenant(tenant), connection)

    def progress(event: ExportProgress) -> None:
        print(event.phase, event.files_done, flush=True)

    async with FhirClient(base, rate_limit=RateLimitConfig(requests_per_second=0)) as client:
        await run_export(client, REQUEST, folder, saver, progress)
    print("finished", flush=True)


if __name__ == "__main__":
    base, folder, database, tenant, connection = sys.argv[1:6]
    asyncio.run(main(base, Path(folder), Path(database), tenant, int(connection)))
