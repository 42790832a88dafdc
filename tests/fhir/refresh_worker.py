"""One process of the two-process refresh test (run as a script; not collected by pytest).

argv: database path, tenant id, connection id, patient id, seconds to run.
stdin: the store passphrase, then "go" once the parent has started every worker.
stdout: "ready", then one JSON line with what happened.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from token_support import open_stored

from healthprep_desktop.store import Store


async def run(store: Store, tenant: str, connection_id: int, patient: str, seconds: float) -> dict:
    reads, errors = 0, []
    conn = open_stored(store, tenant, connection_id)
    async with conn:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            results = await asyncio.gather(
                *(conn.client.read("Patient", patient) for _ in range(4)), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    errors.append(f"{type(result).__name__}: {result}")
                else:
                    reads += 1
            await asyncio.sleep(0.05)
        return {
            "reads": reads,
            "errors": errors[:5],
            "connected": conn.status.is_connected,
            "refreshes": conn.tokens.refresh_count,
            "adopted": getattr(conn.tokens, "adopted_count", 0),
        }


def main() -> None:
    path, tenant, connection_id, patient, seconds = sys.argv[1:6]
    passphrase = sys.stdin.readline().rstrip("\n")
    store = Store.open(Path(path), passphrase=passphrase, create=False)
    try:
        outcome = asyncio.run(run(store, tenant, int(connection_id), patient, float(seconds)))
    finally:
        store.close()
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
