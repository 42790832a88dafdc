"""The status-bar connection indicator and the banner for an expiring or dropped connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.ui import theme

EXPIRY_WARNING = timedelta(minutes=5)


def _local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def indicator_text(
    status: ConnectionStatus | None, *, name: str = "", now: datetime | None = None
) -> str:
    if status is None:
        return "No EHR connection: set one up in Connections"
    prefix = f"{name}: " if name else ""
    if status.is_connected:
        now = now or datetime.now(UTC)
        if status.token_expiry is not None and status.token_expiry > now:
            return f"{prefix}Connected until {_local_time(status.token_expiry)}"
        return f"{prefix}Connected"
    text = f"{prefix}Not connected: action required"
    if status.last_error:
        text += f" ({status.last_error})"
    return text


def banner_message(
    status: ConnectionStatus | None, *, can_refresh: bool, now: datetime | None = None
) -> tuple[str, str] | None:
    """(kind, message) for the banner, or None when all is well. A token that refreshes itself
    needs no warning; one that cannot does, before it lapses."""
    if status is None:
        return None
    now = now or datetime.now(UTC)
    if not status.is_connected:
        if status.last_error:
            return "error", f"The EHR connection dropped: {status.last_error}. Sign in again."
        return None
    expiry = status.token_expiry
    if expiry is not None and not can_refresh:
        if expiry <= now:
            return "error", "The EHR sign-in has expired. Sign in again to keep working."
        if expiry - now <= EXPIRY_WARNING:
            return (
                "warning",
                f"The EHR sign-in expires at {_local_time(expiry)}. Sign in again to keep working.",
            )
    return None


class ConnectionBanner(QFrame):
    reconnect_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # may carry the EHR's own words
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.button = QPushButton("&Reconnect")
        self.button.setObjectName("reconnect")
        self.button.clicked.connect(self.reconnect_requested)
        layout.addWidget(self.button)
        self.hide()

    def show_message(self, kind: str, message: str) -> None:
        self.setStyleSheet(theme.banner_style(kind))
        self.label.setText(message)
        self.show()

    def clear(self) -> None:
        self.label.clear()
        self.hide()
