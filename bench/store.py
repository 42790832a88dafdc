"""Store benchmark: open time, 10,000 audit appends and chain verification.

Run: .venv/bin/python bench/store.py
Targets on the project machine (2 cores): open < 0.3 s; 10,000 appends + verify < 3 s.
Runs in a temporary HEALTHPREP_HOME with an in-memory keyring, so no real keyring or data is
touched. Prints figures; asserts nothing (timings on a shared machine are noisy).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import keyring
import keyring.backend

ENTRIES = 10_000


class _MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def _timed(label: str, seconds: float, target: float | None = None) -> None:
    verdict = "" if target is None else (" (ok)" if seconds < target else f" (over {target} s)")
    print(f"{label:<44} {seconds:8.3f} s{verdict}")


def main() -> None:
    from healthprep_desktop.store import AuditAction, AuditEvent, Store

    keyring.set_keyring(_MemoryKeyring())
    with tempfile.TemporaryDirectory() as home:
        os.environ["HEALTHPREP_HOME"] = home
        start = time.perf_counter()
        Store.open().close()
        _timed("create (first run, migrations)", time.perf_counter() - start)

        opens = []
        for _ in range(5):
            start = time.perf_counter()
            Store.open().close()
            opens.append(time.perf_counter() - start)
        _timed("open (keyring key, median of 5)", statistics.median(opens), 0.3)

        with Store.open() as store:
            events = [
                AuditEvent(
                    AuditAction.FETCH,
                    tenant_id="bench",
                    patient_id=f"p{i}",
                    resource_ids=(f"Observation/{i}",),
                    detail="42 resources",
                )
                for i in range(ENTRIES)
            ]
            start = time.perf_counter()
            for event in events:
                store.audit.append(event)
            single = time.perf_counter() - start
            start = time.perf_counter()
            result = store.audit.verify()
            verify = time.perf_counter() - start
            assert result.ok, result.summary()
            _timed(f"append {ENTRIES:,} (one transaction each)", single)
            _timed(f"verify {result.entries:,}", verify)
            _timed(f"append {ENTRIES:,} + verify", single + verify, 3.0)

            start = time.perf_counter()
            store.audit.append_many(events)
            batch = time.perf_counter() - start
            _timed(f"append_many {ENTRIES:,} (one transaction)", batch)
            start = time.perf_counter()
            result = store.audit.verify()
            _timed(f"verify {result.entries:,}", time.perf_counter() - start)

        path = Path(home) / "data" / "healthprep.db"
        print(f"database size after {2 * ENTRIES:,} entries: {path.stat().st_size / 1024:.0f} KiB")
        other = Path(home) / "passphrase.db"
        Store.open(other, passphrase="a passphrase for the benchmark").close()
        start = time.perf_counter()
        Store.open(other, passphrase="a passphrase for the benchmark").close()
        _timed("open with passphrase (SQLCipher KDF)", time.perf_counter() - start)


if __name__ == "__main__":
    main()
