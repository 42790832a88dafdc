"""Admin: the screening library (turn screenings on or off, ages, frequencies, keywords) and
the clinic's sheet settings (due-soon window, section cutoffs, ...).

Library edits are validated with the library's own parser before they are kept; settings go
through ``settings.Settings`` (validated, audited as ``settings_change``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.screening.library import LibraryError
from healthprep_desktop.settings import SETTINGS, Scope, Setting
from healthprep_desktop.store import AuditAction
from healthprep_desktop.ui.session import AppSession
from healthprep_desktop.ui.window_fit import fit_to_screen
from healthprep_desktop.workers.library_overrides import (
    OVERRIDES_SETTING,
    apply_overrides,
    default_library_data,
    load_overrides,
    validated_library,
)

UNITS = ("years", "months", "days", "once", "season")
NO_AGE = -1  # the spin box's "no limit" value
ID_ROLE = Qt.ItemDataRole.UserRole + 1


def frequency_of(modality: dict[str, Any]) -> tuple[int, str]:
    every = modality.get("every")
    if every in ("once", "season"):
        return 0, str(every)
    if isinstance(every, dict):
        for unit in ("years", "months", "days"):
            if every.get(unit):
                return int(every[unit]), unit
    return 1, "years"


def frequency_text(modality: dict[str, Any]) -> str:
    value, unit = frequency_of(modality)
    if unit in ("once", "season"):
        return "once" if unit == "once" else "every season"
    return f"every {value} {unit[:-1] if value == 1 else unit}"


class LibraryEditor(QWidget):
    """The list of screenings and the fields of the selected one."""

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.base = default_library_data()
        self.overrides = load_overrides(session.scope)
        self._current: str | None = None
        self._loading = False
        self.tree = QTreeWidget()
        self.tree.setObjectName("screenings")
        self.tree.setHeaderLabels(["Screening", "Ages", "Frequency"])
        self.tree.currentItemChanged.connect(self._selected)
        self.tree.itemChanged.connect(self._check_changed)
        editor = QWidget()
        form = QFormLayout(editor)
        self.title = QLabel()
        self.title.setWordWrap(True)
        form.addRow(self.title)
        self.min_age = QSpinBox()
        self.max_age = QSpinBox()
        for spin in (self.min_age, self.max_age):
            spin.setRange(NO_AGE, 120)
            spin.setSpecialValueText("no limit")
            spin.valueChanged.connect(self._edited)
        form.addRow("Minimum age:", self.min_age)
        form.addRow("Maximum age:", self.max_age)
        self.modalities = QTableWidget(0, 4)
        self.modalities.setObjectName("modalities")
        self.modalities.setHorizontalHeaderLabels(["Test", "Every", "Unit", "Document keywords"])
        self.modalities.horizontalHeader().setStretchLastSection(True)
        self.modalities.verticalHeader().hide()
        form.addRow(self.modalities)
        splitter = QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(editor)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([380, 600])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.populate()

    def effective(self) -> dict[str, Any]:
        return apply_overrides(self.base, {"screenings": self.overrides.get("screenings", {})})

    def populate(self) -> None:
        self._loading = True
        self.tree.clear()
        disabled = set(self.overrides.get("disabled") or ())
        for screening in self.effective()["screenings"]:
            age = screening.get("age") or {}
            ages = f"{age.get('min', '')}–{age.get('max', '')}".strip("–") or "any"
            freq = ", ".join(sorted({frequency_text(m) for m in screening["modalities"]}))
            item = QTreeWidgetItem([screening["name"], ages, freq])
            item.setData(0, ID_ROLE, screening["id"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = screening["id"] not in disabled
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setToolTip(0, screening.get("description", ""))
            self.tree.addTopLevelItem(item)
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        self._loading = False
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)

    def item_for(self, screening_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, ID_ROLE) == screening_id:
                return item
        return None

    def _check_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._loading or column != 0:
            return
        disabled = set(self.overrides.get("disabled") or ())
        sid = str(item.data(0, ID_ROLE))
        if item.checkState(0) == Qt.CheckState.Checked:
            disabled.discard(sid)
        else:
            disabled.add(sid)
        self.overrides["disabled"] = sorted(disabled)

    def _selected(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        sid = str(item.data(0, ID_ROLE))
        screening = next(s for s in self.effective()["screenings"] if s["id"] == sid)
        self._loading = True
        self._current = sid
        self.title.setText(f"<b>{screening['name']}</b><br>{screening.get('description', '')}")
        age = screening.get("age") or {}
        self.min_age.setValue(int(age["min"]) if age.get("min") is not None else NO_AGE)
        self.max_age.setValue(int(age["max"]) if age.get("max") is not None else NO_AGE)
        self.modalities.setRowCount(0)
        for row, modality in enumerate(screening["modalities"]):
            self.modalities.insertRow(row)
            name = QLabel(modality.get("name", modality["id"]))
            name.setProperty("modality_id", modality["id"])
            value, unit = frequency_of(modality)
            every = QSpinBox()
            every.setRange(1, 100)
            every.setValue(max(1, value))
            unit_box = QComboBox()
            unit_box.addItems(list(UNITS))
            unit_box.setCurrentText(unit)
            every.setEnabled(unit not in ("once", "season"))
            keywords = QLineEdit(", ".join(modality.get("keywords") or []))
            keywords.setPlaceholderText("none: coded data only")
            every.valueChanged.connect(self._edited)
            unit_box.currentTextChanged.connect(self._edited)
            keywords.textEdited.connect(self._edited)
            for column, widget in enumerate((name, every, unit_box, keywords)):
                self.modalities.setCellWidget(row, column, widget)
        self.modalities.resizeColumnsToContents()
        self._loading = False

    def _edited(self, *_: object) -> None:
        if self._loading or self._current is None:
            return
        change: dict[str, Any] = {
            "age": {
                "min": None if self.min_age.value() == NO_AGE else self.min_age.value(),
                "max": None if self.max_age.value() == NO_AGE else self.max_age.value(),
            },
            "modalities": {},
        }
        for row in range(self.modalities.rowCount()):
            name = self.modalities.cellWidget(row, 0)
            every = self.modalities.cellWidget(row, 1)
            unit = self.modalities.cellWidget(row, 2)
            keywords = self.modalities.cellWidget(row, 3)
            assert isinstance(every, QSpinBox) and isinstance(unit, QComboBox)
            assert isinstance(keywords, QLineEdit) and name is not None
            unit_text = unit.currentText()
            every.setEnabled(unit_text not in ("once", "season"))
            change["modalities"][str(name.property("modality_id"))] = {
                "every": unit_text
                if unit_text in ("once", "season")
                else {unit_text: every.value()},
                "keywords": [k.strip() for k in keywords.text().split(",") if k.strip()],
            }
        self.overrides.setdefault("screenings", {})[self._current] = change


class SettingsEditor(QWidget):
    """Every declared setting of a scope, with the widget its type calls for."""

    def __init__(self, settings: list[Setting[Any]], values: dict[str, Any]) -> None:
        super().__init__()
        self.settings = settings
        self.widgets: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for item in settings:
            widget: QWidget
            value = values[item.name]
            if item.type is bool:
                box = QCheckBox()
                box.setChecked(bool(value))
                widget = box
            elif item.choices:
                combo = QComboBox()
                combo.addItems([str(c) for c in item.choices])
                combo.setCurrentText(str(value))
                widget = combo
            elif item.type is int:
                spin = QSpinBox()
                spin.setRange(
                    int(item.minimum if item.minimum is not None else -1_000_000),
                    int(item.maximum if item.maximum is not None else 1_000_000),
                )
                spin.setValue(int(value))
                widget = spin
            else:
                widget = QLineEdit(str(value))
            widget.setObjectName(item.name)
            widget.setToolTip(item.description)
            label = QLabel(item.description)
            label.setWordWrap(True)
            form.addRow(label, widget)
            self.widgets[item.name] = widget

    def value(self, name: str) -> Any:
        widget = self.widgets[name]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentText()
        if isinstance(widget, QSpinBox):
            return widget.value()
        assert isinstance(widget, QLineEdit)
        return widget.text()


class LibraryDialog(QDialog):
    saved = Signal()

    def __init__(self, session: AppSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(f"Screening library and sheet settings · {session.tenant_name}")
        self.tabs = QTabWidget()
        self.library = LibraryEditor(session)
        self.tabs.addTab(self.library, "Screening &library")
        scope = session.scope
        tenant_settings = [s for s in SETTINGS if s.scope is Scope.TENANT]
        app_settings = [s for s in SETTINGS if s.scope is Scope.APP]
        self.clinic_settings = SettingsEditor(
            tenant_settings, session.settings.values(Scope.TENANT, scope)
        )
        self.workstation_settings = SettingsEditor(app_settings, session.settings.values(Scope.APP))
        page = QWidget()
        page_layout = QVBoxLayout(page)
        clinic_box = QGroupBox("This clinic")
        QVBoxLayout(clinic_box).addWidget(self.clinic_settings)
        station_box = QGroupBox("This workstation")
        QVBoxLayout(station_box).addWidget(self.workstation_settings)
        page_layout.addWidget(clinic_box)
        page_layout.addWidget(station_box)
        page_layout.addStretch(1)
        # Scrolls: every setting shown is taller than a 2x-scaled 1080p screen.
        page_area = QScrollArea()
        page_area.setWidget(page)
        page_area.setWidgetResizable(True)
        page_area.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(page_area, "Sheet se&ttings")
        self.errors = QLabel()
        self.errors.setObjectName("libraryErrors")
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #d1242f;")
        reset = QPushButton("Reset library to shipped")
        reset.clicked.connect(self.reset_library)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(reset)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.errors)
        layout.addLayout(bottom)
        fit_to_screen(self, 1000, 680)

    def reset_library(self) -> None:
        self.library.overrides = {}
        self.library.populate()

    def save(self) -> bool:
        """Validate everything, then keep it (one transaction, audited)."""
        errors: list[str] = []
        overrides = self.library.overrides
        try:
            validated_library(overrides, self.library.base)
        except LibraryError as exc:
            errors.append(f"Screening library: {exc}")
        changes: list[tuple[Setting[Any], Any, bool]] = []
        scope = self.session.scope
        settings = self.session.settings
        for editor, tenant_scope in (
            (self.clinic_settings, True),
            (self.workstation_settings, False),
        ):
            for item in editor.settings:
                value = editor.value(item.name)
                try:
                    typed = item.validate(value)
                except ValueError as exc:
                    errors.append(str(exc))
                    continue
                current = settings.get(item, scope if tenant_scope else None)
                if typed != current:
                    changes.append((item, typed, tenant_scope))
        if errors:
            self.errors.setText("\n".join(errors))
            return False
        self.errors.clear()
        ehr_user = self.session.ehr_user()
        with self.session.store.transaction():
            if overrides != load_overrides(scope):
                scope.settings.set_raw(OVERRIDES_SETTING, overrides)
                scope.audit(
                    AuditAction.SETTINGS_CHANGE, detail="screening library", ehr_user=ehr_user
                )
            for item, typed, tenant_scope in changes:
                settings.set(item, typed, scope if tenant_scope else None, ehr_user=ehr_user)
        self.saved.emit()
        return True

    def accept(self) -> None:
        if self.save():
            super().accept()
