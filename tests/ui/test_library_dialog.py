"""Screening library and sheet settings: validated, stored per clinic, audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from healthprep_desktop.settings import DUE_SOON_DAYS, IDLE_LOCK_MINUTES, LABS_MONTHS
from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.library_dialog import LibraryDialog
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.workers.library_overrides import custom_library_json, validated_library


@pytest.fixture
def dialog(qtbot: QtBot, session: AppSession) -> Iterator[LibraryDialog]:
    d = LibraryDialog(session)
    qtbot.addWidget(d)
    d.show()
    yield d


def _settings_changes(session: AppSession) -> list[str]:
    return [
        e.detail for e in session.store.audit.entries() if e.action == AuditAction.SETTINGS_CHANGE
    ]


def test_turn_off_a_screening_and_edit_another(dialog: LibraryDialog, session: AppSession) -> None:
    editor = dialog.library
    hiv = editor.item_for("hiv")
    assert hiv is not None and hiv.checkState(0) == Qt.CheckState.Checked
    hiv.setCheckState(0, Qt.CheckState.Unchecked)
    colorectal = editor.item_for("colorectal_cancer")
    assert colorectal is not None
    editor.tree.setCurrentItem(colorectal)
    editor.min_age.setValue(50)
    every = editor.modalities.cellWidget(0, 1)
    keywords = editor.modalities.cellWidget(0, 3)
    assert isinstance(every, QSpinBox) and isinstance(keywords, QLineEdit)
    every.setValue(8)
    keywords.setText("colonoscopy, coloscopy")
    keywords.textEdited.emit(keywords.text())
    assert dialog.save()
    assert custom_library_json(session.scope) is not None
    library = validated_library(editor.overrides)
    assert "hiv" not in {s.id for s in library.screenings}
    rule = library.by_id("colorectal_cancer")
    assert rule.age.min == 50 and rule.modalities[0].every is not None
    assert rule.modalities[0].every.years == 8
    assert rule.modalities[0].keywords == ("colonoscopy", "coloscopy")
    assert "screening library" in _settings_changes(session)
    # A fresh dialog shows what was kept.
    again = LibraryDialog(session)
    item = again.library.item_for("hiv")
    assert item is not None and item.checkState(0) == Qt.CheckState.Unchecked


def test_an_invalid_edit_is_refused_with_its_place(
    dialog: LibraryDialog, session: AppSession
) -> None:
    editor = dialog.library
    editor.tree.setCurrentItem(editor.item_for("colorectal_cancer"))
    editor.min_age.setValue(90)  # above the maximum of 75
    assert not dialog.save()
    assert (
        "colorectal_cancer" in dialog.errors.text() and "min is above max" in dialog.errors.text()
    )
    assert custom_library_json(session.scope) is None


def test_unit_once_turns_off_the_number(dialog: LibraryDialog) -> None:
    editor = dialog.library
    editor.tree.setCurrentItem(editor.item_for("colorectal_cancer"))
    unit = editor.modalities.cellWidget(0, 2)
    every = editor.modalities.cellWidget(0, 1)
    assert isinstance(unit, QComboBox) and isinstance(every, QSpinBox)
    unit.setCurrentText("once")
    assert not every.isEnabled()
    assert (
        editor.overrides["screenings"]["colorectal_cancer"]["modalities"]["colonoscopy"]["every"]
        == "once"
    )


def test_sheet_settings_are_validated_and_audited(
    dialog: LibraryDialog, session: AppSession
) -> None:
    due_soon = dialog.clinic_settings.widgets["due_soon_days"]
    labs = dialog.clinic_settings.widgets["labs_months"]
    idle = dialog.workstation_settings.widgets["idle_lock_minutes"]
    assert isinstance(due_soon, QSpinBox) and due_soon.maximum() == DUE_SOON_DAYS.maximum
    due_soon.setValue(45)
    assert isinstance(labs, QSpinBox)
    labs.setValue(0)  # since the last encounter
    assert isinstance(idle, QSpinBox)
    idle.setValue(5)
    assert dialog.save()
    settings = session.settings
    assert settings.get(DUE_SOON_DAYS, session.scope) == 45
    assert settings.get(LABS_MONTHS, session.scope) == 0
    assert settings.get(IDLE_LOCK_MINUTES) == 5
    assert {"due_soon_days", "labs_months", "idle_lock_minutes"} <= set(_settings_changes(session))
