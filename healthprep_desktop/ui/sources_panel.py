"""The connections dialog's "other source" part (issue 16): whether the selected connection is
one of the clinic's secondary FHIR sources, what the sheet calls it, and what kind it is; and the
way to the confirmation queue of possible matches.

The schedule always comes from the batch's own connection (the primary EHR); each secondary
source is read for every scheduled patient with its own sign-in and rate limit. The settings
live in the connection's config (workers/source_config.py) and are saved with the connection:
the dialog's Save passes its config through ``apply_to``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.sources.model import SourceKind
from healthprep_desktop.store import Connection, TenantScope
from healthprep_desktop.ui.link_queue_dialog import LinkQueueDialog
from healthprep_desktop.workers.source_config import (
    SOURCE_KEY,
    SourceSettings,
    source_id_from,
    source_settings,
)

_KINDS = (
    (SourceKind.EHR, "EHR (hospital, specialist group)"),
    (SourceKind.REGISTRY, "Immunization registry"),
)


class SourcesPanel(QGroupBox):
    def __init__(self, scope: TenantScope, parent: QWidget | None = None) -> None:
        super().__init__("Also read as another source of the clinic's charts", parent)
        self.setObjectName("sourcesPanel")
        self.scope = scope
        self.setCheckable(True)
        self.setChecked(False)
        self.user: str | None = None  # who answers in the queue (the dialog sets it)
        self._connection: Connection | None = None
        self._source_id = ""
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("sourceName")
        self.kind_box = QComboBox()
        self.kind_box.setObjectName("sourceKind")
        for kind, label in _KINDS:
            self.kind_box.addItem(label, kind.value)
        note = QLabel(
            "The day's schedule comes from the clinic's own EHR. Each patient is looked up "
            "here too (identifier, then name, birth date, sex, postal code, phone); sure matches "
            "are linked, possible ones wait for you. When two sources hold the same result, "
            "the lower priority number wins. Saved with the connection."
        )
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        self.queue_button = QPushButton()
        self.queue_button.setObjectName("openLinkQueue")
        self.queue_button.clicked.connect(self.open_queue)
        form = QFormLayout()
        form.addRow("Name on the sheet", self.name_edit)
        form.addRow("Kind", self.kind_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.queue_button)
        self.refresh_queue_count()

    def scrolling(self) -> QScrollArea:
        """The panel in a scroll area of its own: the dialog must still fit 960x540 logical
        (1920x1080 at 2x), so the panel scrolls instead of raising the minimum height."""
        area = QScrollArea()
        area.setObjectName("sourcesArea")
        area.setWidget(self)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setMinimumHeight(60)
        return area

    def show_connection(self, connection: Connection | None) -> None:
        """Show the selected connection's source settings (None: a new connection)."""
        self._connection = connection
        settings = source_settings(connection) if connection is not None else None
        self.setChecked(settings is not None)
        self._source_id = settings.id if settings else ""
        self.name_edit.setText(settings.name if settings else "")
        self.name_edit.setPlaceholderText(connection.name if connection else "")
        kind = settings.kind if settings else SourceKind.EHR
        self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(kind.value)))
        self.refresh_queue_count()

    def settings(self, connection_name: str) -> SourceSettings | None:
        if not self.isChecked():
            return None
        name = self.name_edit.text().strip()
        previous = source_settings(self._connection) if self._connection is not None else None
        return SourceSettings(
            id=self._source_id or source_id_from(name or connection_name),
            kind=SourceKind(str(self.kind_box.currentData())),
            name=name,
            enterprise_systems=previous.enterprise_systems if previous else (),
        )

    def apply_to(self, config: dict[str, Any], connection_name: str) -> dict[str, Any]:
        """The connection's config to store, with (or without) this panel's source section."""
        out = dict(config)
        settings = self.settings(connection_name)
        if settings is None:
            out.pop(SOURCE_KEY, None)
        else:
            out[SOURCE_KEY] = settings.to_json()
        return out

    def refresh_queue_count(self) -> None:
        waiting = len(self.scope.links.waiting())
        self.queue_button.setText(f"Patients in other sources… ({waiting} to confirm)")

    def source_names(self) -> dict[str, str]:
        names = {}
        for connection in self.scope.connections.all():
            found = source_settings(connection)
            if found is not None:
                names[found.id] = found.name or connection.name
        return names

    def open_queue(self) -> LinkQueueDialog:
        dialog = LinkQueueDialog(self.scope, self, user=self.user, source_names=self.source_names())
        dialog.finished.connect(lambda _r: self.refresh_queue_count())
        dialog.open()
        return dialog
