"""What every part of the main window needs from the window that holds it, as a Protocol.

The window's parts (``batch_controller``, ``day_loader``, ``connection_state``,
``sheet_opening``, ``main_dialogs``, ``schedule_corrections``) are built by ``main_window`` and
used to import ``MainWindow`` back for their type hints: two modules that need each other, even
if only the type checker sees it. Instead each part states what it uses of its host in a
Protocol of its own (``BatchHost``, ``DayLoaderHost``, ``ConnectionHost``, ``SheetsHost``,
``DialogsHost``, ``CorrectionsHost``) that extends ``WindowHost``, and ``MainWindow`` satisfies
them all structurally: mypy checks it where the window builds each part (the window declares
the members at class level so that check is complete). Each part's Protocol is the written
list of what it touches of the window.

This module names no part, so any part may import it (no cycle through here).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from PySide6.QtWidgets import QStatusBar, QWidget

from healthprep_desktop.ui.session import AppSession

__all__ = ["WindowHost"]


class WindowHost(Protocol):
    """The members of the main window that most parts read."""

    @property
    def session(self) -> AppSession: ...

    @property
    def locked(self) -> bool:
        """The idle lock is up: no patient data may be shown or changed."""
        ...

    @property
    def clinic_day(self) -> date: ...

    def statusBar(self) -> QStatusBar: ...

    def window(self) -> QWidget:
        """The host's own widget (``QWidget.window()``): the parent of the part, and of the
        message boxes and dialogs the part opens."""
        ...
