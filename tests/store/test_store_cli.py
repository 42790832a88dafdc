"""``healthprep-desktop audit verify`` and ``audit export`` through the real entry point."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.store import AuditAction, AuditEvent, Outcome, Store

Tamper = Callable[[str], None]


def _fill(store: Store) -> None:
    store.audit.append_many(
        [
            AuditEvent(AuditAction.FETCH, tenant_id="t1", patient_id="p1", ehr_user="nurse.a"),
            AuditEvent(AuditAction.GENERATE_SHEET, tenant_id="t1", patient_id="p1"),
            AuditEvent(AuditAction.PRINT, tenant_id="t2", patient_id="p2", ehr_user="dr.b"),
            AuditEvent(
                AuditAction.WRITE_BACK,
                tenant_id="t2",
                patient_id="p2",
                resource_ids=("DocumentReference/5",),
                outcome=Outcome.FAILURE,
                detail="=HTTP 422",
            ),
        ]
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_verify_ok_then_broken(
    store: Store, tamper: Tamper, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(store)
    assert main(["audit", "verify"]) == 0
    assert "intact: 4 entries" in capsys.readouterr().out
    tamper("UPDATE audit_log SET patient_id = 'p3' WHERE seq = 3")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "broken at entry #3" in err and "edited" in err


def test_verify_without_a_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 2
    assert "No HealthPrep Desktop database" in capsys.readouterr().err


def test_export_with_filters(store: Store, tmp_path: Path) -> None:
    _fill(store)
    out = tmp_path / "all.csv"
    assert main(["audit", "export", "--csv", str(out)]) == 0
    rows = _rows(out)
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[3]["detail"] == "'=HTTP 422"  # neutralised for spreadsheets
    assert rows[3]["resources"] == "DocumentReference/5" and rows[3]["outcome"] == "failure"
    assert (out.stat().st_mode & 0o777) == 0o600

    def export(*filters: str) -> list[str]:
        target = tmp_path / "filtered.csv"
        assert main(["audit", "export", "--csv", str(target), *filters]) == 0
        return [r["seq"] for r in _rows(target)]

    assert export("--patient", "p2") == ["3", "4"]
    assert export("--user", "nurse.a") == ["1"]
    assert export("--action", "print", "--action", "write_back") == ["3", "4"]
    assert export("--tenant", "t1", "--action", "fetch") == ["1"]
    assert export("--since", "2000-01-01", "--until", "2000-12-31") == []
    today = rows[0]["time_utc"][:10]
    assert export("--since", today, "--until", today, "--patient", "p1") == ["1", "2"]
    # Each export is audited, and the trail stays intact.
    exports = [e for e in store.audit.entries() if e.action == "export"]
    assert len(exports) == 7
    assert store.audit.verify().ok


def test_export_rejects_a_bad_date(store: Store, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["audit", "export", "--csv", str(tmp_path / "x.csv"), "--since", "yesterday"])
    assert caught.value.code == 2


def test_subprocess_with_a_passphrase_and_no_keyring(tmp_path: Path) -> None:
    """The installed command in a fresh process: no keyring, passphrase on stdin."""
    home = Path(os.environ["HEALTHPREP_HOME"])
    with Store.open(passphrase="clinic passphrase") as store:
        _fill(store)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env["HEALTHPREP_HOME"] = str(home)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "healthprep_desktop", "audit", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    ok = run("verify", "--passphrase-stdin", stdin="clinic passphrase\n")
    assert (ok.returncode, ok.stderr) == (0, "")
    assert "intact: 4 entries" in ok.stdout
    wrong = run("verify", "--passphrase-stdin", stdin="not it\n")
    assert wrong.returncode == 2
    assert "passphrase does not open" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = run("verify")  # no keyring, no passphrase, stdin not a terminal
    assert missing.returncode == 2
    assert "--passphrase-stdin" in missing.stderr and "Traceback" not in missing.stderr
    out = tmp_path / "audit.csv"
    exported = run(
        "export",
        "--csv",
        str(out),
        "--patient",
        "p1",
        "--passphrase-stdin",
        stdin="clinic passphrase\n",
    )
    assert exported.returncode == 0, exported.stderr
    assert [r["action"] for r in _rows(out)] == ["fetch", "generate_sheet"]
