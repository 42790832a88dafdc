"""The right-hand side of the connections dialog (connections_dialog.py): the connection's form,
its action buttons, the progress and sign-in panel of a running task, its status, and its other
sources of charts.

Widgets only: the dialog wires the buttons to what they do, and ConnectionTasks
(connections_tasks.py) drives the progress and sign-in panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.store import TenantScope
from healthprep_desktop.ui.connection_form import ConnectionForm
from healthprep_desktop.ui.sign_in_panel import SignInPanel
from healthprep_desktop.ui.sources_panel import SourcesPanel


def _plain_label(name: str) -> QLabel:
    # Plain text: these labels may carry text from the EHR, never to be read as rich text.
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def _button(text: str, name: str = "") -> QPushButton:
    button = QPushButton(text)
    if name:
        button.setObjectName(name)
    return button


class ConnectionPane(QWidget):
    def __init__(self, scope: TenantScope, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = ConnectionForm()
        self.errors = _plain_label("connErrors")
        self.errors.setStyleSheet("color: #d1242f;")
        self.save_button = _button("&Save", "saveConnection")
        self.test_button = _button("&Test connection", "testConnection")
        self.connect_button = _button("&Connect", "connect")
        self.cancel_button = _button("Cancel sign-in", "cancelLogin")
        self.cancel_button.hide()
        self.disconnect_button = _button("Sign &out")
        self.jwks_button = _button("Copy public key (JWKS)")
        self.jwks_button.setToolTip("Register this with the EHR for Backend Services")
        actions = QHBoxLayout()
        for button in (
            self.save_button,
            self.test_button,
            self.connect_button,
            self.cancel_button,
            self.disconnect_button,
            self.jwks_button,
        ):
            actions.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.progress_label = _plain_label("connProgress")
        self.sign_in_panel = SignInPanel()
        status_box = QGroupBox("Status")
        status_layout = QVBoxLayout(status_box)
        self.status_label = _plain_label("connStatus")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checks_label = _plain_label("connChecks")
        status_layout.addWidget(self.status_label)
        status_layout.addWidget(self.checks_label)
        self.sources_panel = SourcesPanel(scope)  # another source of charts (issue 16)
        layout = QVBoxLayout(self)
        # The form scrolls: with every row shown it is taller than a 2x-scaled screen.
        layout.addWidget(_scrolling(self.form, "connFormArea", 160), 1)
        layout.addWidget(self.errors)
        layout.addLayout(actions)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.sign_in_panel)
        # The status scrolls too: a test's findings wrap to many lines in a narrow 2x pane.
        layout.addWidget(_scrolling(status_box, "connStatusArea", None))
        layout.addWidget(self.sources_panel.scrolling())


def _scrolling(widget: QWidget, name: str, minimum_height: int | None) -> QScrollArea:
    area = QScrollArea()
    area.setObjectName(name)
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if minimum_height is not None:
        area.setMinimumHeight(minimum_height)
    return area
