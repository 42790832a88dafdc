"""The audit viewer: filters, chain verification (intact and tampered), CSV export."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from healthprep_desktop.store import AuditAction, Store
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import KEYRING_SERVICE, DatabaseKey, keyring_username
from healthprep_desktop.ui.audit_viewer import AuditViewer
from healthprep_desktop.ui.session import AppSession


@pytest.fixture
def viewer(qtbot: QtBot, session: AppSession) -> Iterator[AuditViewer]:
    scope = session.scope
    for n in range(6):
        scope.audit(AuditAction.VIEW_SHEET, patient_id=f"p{n % 2}", detail=f"view {n}")
    scope.audit(AuditAction.PRINT, patient_id="p1", detail="=cmd|' /C calc'!A0")
    other = session.store.create_tenant("Other Clinic")
    session.store.tenant(other.id).audit(AuditAction.VIEW_SHEET, patient_id="p9")
    w = AuditViewer(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model.rowCount() > 0)
    yield w


def _tamper(store: Store, keyring: Any, sql: str) -> None:
    key = keyring.entries[(KEYRING_SERVICE, keyring_username(store.path))]
    db = Database.open(store.path, DatabaseKey.raw(key))
    try:
        db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        db.executescript(sql)
    finally:
        db.close()


def test_shows_this_clinic_and_filters(qtbot: QtBot, viewer: AuditViewer) -> None:
    # tenant_create + 6 views + 1 print for this clinic; the other clinic's entry is not shown.
    assert viewer.model.rowCount() == 8
    assert all(e.patient_id != "p9" for e in viewer.model.entries)
    viewer.patient.setText("p1")
    viewer.action.setCurrentIndex(viewer.action.findData("view_sheet"))
    with qtbot.waitSignal(viewer.loaded) as loaded:
        viewer.reload()
    assert loaded.args == [3]
    viewer.patient.clear()
    viewer.action.setCurrentIndex(0)
    viewer.all_clinics.setChecked(True)
    viewer.use_dates.setChecked(True)  # from 30 days ago to today: everything
    with qtbot.waitSignal(viewer.loaded) as loaded:
        viewer.reload()
    assert loaded.args == [10]  # + the other clinic's creation and view
    viewer.user.setText("nobody-by-this-name")
    with qtbot.waitSignal(viewer.loaded) as loaded:
        viewer.reload()
    assert loaded.args == [0]


def test_verify_chain_ok_then_names_the_broken_link(
    qtbot: QtBot, viewer: AuditViewer, session: AppSession, memory_keyring: Any
) -> None:
    with qtbot.waitSignal(viewer.verified) as verified:
        viewer.verify_button.click()
    assert verified.args[0].ok and viewer.result.text().startswith("OK: 10 entries intact")
    _tamper(session.store, memory_keyring, "UPDATE audit_log SET detail = 'x' WHERE seq = 4")
    with qtbot.waitSignal(viewer.verified) as verified:
        viewer.verify_button.click()
    result = verified.args[0]
    assert not result.ok and result.broken_seq == 4
    assert "#4" in viewer.result.text()
    selected = viewer.table.selectionModel().selectedRows()
    assert [viewer.model.entries[i.row()].seq for i in selected] == [4]


def test_export_csv_is_private_and_audited(
    viewer: AuditViewer, session: AppSession, tmp_path: Path
) -> None:
    path = tmp_path / "audit.csv"
    assert viewer.export_csv(path) == 8
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and rows[0]["action"] == "tenant_create"
    assert rows[-1]["detail"].startswith("'=")  # no formula injection
    last = session.scope.audit_entries()[-1]
    assert last.action == AuditAction.EXPORT and last.detail == "audit export: 8 entries"
