"""The main window's actions, toolbar and menus, and the Help shortcut list.

Every shortcut is an explicit key sequence, never a ``QKeySequence.StandardKey``: a standard key
expands per platform theme (under GTK "Refresh" is F5 *and* Ctrl+R), which made Ctrl+R
ambiguous. ``ui.shortcut_audit`` checks the result under each theme's bindings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from healthprep_desktop.ui import window_fit


@dataclass
class MainActions:
    prepare: QAction
    prepare_again: QAction
    retry_failed: QAction
    cancel_batch: QAction
    reload: QAction
    open_sheet: QAction
    print_sheet: QAction
    reprepare: QAction
    copy_mrn: QAction
    print_day: QAction
    find: QAction
    lock: QAction
    connections: QAction
    post_to_chart: QAction
    library: QAction
    audit: QAction
    panel: QAction
    new_clinic: QAction
    shortcuts: QAction
    about: QAction
    quit: QAction
    previous_day: QAction
    next_day: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]

    def phi(self) -> list[QAction]:
        """Everything that shows or fetches patient data: off while the window is locked."""
        keep = {self.quit, self.about, self.shortcuts, self.lock}
        return [a for a in self.all() if a not in keep]


def _action(
    owner: QWidget,
    text: str,
    keys: str | list[str] | None,
    slot: Callable[[], Any],
    name: str,
    tip: str = "",
) -> QAction:
    action = QAction(text, owner)
    action.setObjectName(name)
    sequences = [keys] if isinstance(keys, str) else list(keys or [])
    action.setShortcuts([QKeySequence(k) for k in sequences])
    if tip:
        # The tooltip names the key the action really has (never a stale, hard-coded one).
        native = QKeySequence.SequenceFormat.NativeText
        keys_text = QKeySequence(sequences[0]).toString(native) if sequences else ""
        action.setToolTip(f"{tip} ({keys_text})" if keys_text else tip)
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    owner.addAction(action)
    return action


def build_actions(window: Any) -> MainActions:
    """``window`` is the MainWindow (typed loosely: its slots live in its controllers)."""
    a = _action
    actions = MainActions(
        prepare=a(
            window,
            "&Prepare sheets",
            "Ctrl+R",
            lambda: window.prepare(),
            "prepare",
            "Fetch every scheduled patient's chart and prepare the sheets",
        ),
        prepare_again=a(
            window,
            "Prepare &all again",
            "Ctrl+Shift+R",
            lambda: window.prepare(force=True),
            "prepareAgain",
            "Re-fetch and re-screen every patient, even unchanged ones",
        ),
        retry_failed=a(
            window,
            "Re&try failed",
            "Ctrl+Shift+T",
            lambda: window.retry_failed(),
            "retryFailed",
            "Prepare again only the patients that failed",
        ),
        cancel_batch=a(
            window,
            "&Cancel preparing…",
            "Esc",
            lambda: window.confirm_cancel(),
            "cancelBatch",
            "Stop preparing; finished sheets are kept",
        ),
        reload=a(
            window,
            "Re&load day",
            "F5",
            lambda: window.reload_day(online=True, reread=True),
            "reload",
            "Read the schedule again and show added or cancelled visits",
        ),
        open_sheet=a(
            window,
            "&Open sheet",
            "Ctrl+O",
            lambda: window.open_selected(),
            "openSheet",
            "Review the selected patient's sheet",
        ),
        print_sheet=a(
            window,
            "Print &this sheet…",
            "Ctrl+Shift+P",
            lambda: window.print_selected(),
            "printSheet",
            "Print the selected patient's sheet",
        ),
        reprepare=a(
            window,
            "&Re-prepare this patient",
            "Ctrl+Shift+E",
            lambda: window.reprepare_selected(),
            "reprepare",
            "Fetch and screen the selected patient again, now",
        ),
        copy_mrn=a(
            window,
            "Copy &MRN",
            "Ctrl+Shift+M",
            lambda: window.copy_selected_mrn(),
            "copyMrn",
            "Copy the selected patient's medical record number",
        ),
        print_day=a(
            window,
            "Print the &day…",
            "Ctrl+P",
            lambda: window.print_day(),
            "printDay",
            "All of the day's sheets in one document, to review and print",
        ),
        find=a(
            window,
            "&Find patient",
            "Ctrl+F",
            lambda: window.focus_filter(),
            "find",
            "Filter the day's patients",
        ),
        lock=a(window, "&Lock", "Ctrl+L", lambda: window.lock(), "lock", "Hide patient data now"),
        connections=a(
            window,
            "&Connections…",
            "Ctrl+Shift+C",
            lambda: window.open_connections(),
            "connections",
        ),
        post_to_chart=a(
            window,
            "P&ost sheets to the chart",
            None,
            lambda: window.dialogs.toggle_post_to_chart(),
            "postToChart",
            "File each prepared sheet in the EHR chart (this connection only)",
        ),
        library=a(
            window,
            "Screening &library and sheet settings…",
            None,
            lambda: window.dialogs.open_library(),
            "library",
        ),
        audit=a(
            window, "&Audit trail…", "Ctrl+Shift+A", lambda: window.dialogs.open_audit(), "audit"
        ),
        panel=a(
            window,
            "&Panel…",
            "Ctrl+Shift+G",
            lambda: _open_panel(window),
            "panel",
            "The whole panel's screening: statuses, measures, exports",
        ),
        new_clinic=a(window, "&New clinic…", None, lambda: window.new_clinic(), "newClinic"),
        shortcuts=a(
            window,
            "&Keyboard shortcuts",
            "F1",
            lambda: show_shortcuts(window),
            "shortcuts",
            "Every keyboard shortcut of this window",
        ),
        about=a(window, "&About", None, lambda: window.dialogs.show_about(), "about"),
        quit=a(window, "&Quit", "Ctrl+Q", lambda: window.close(), "quit"),
        previous_day=a(
            window, "Pre&vious day", "Alt+Left", lambda: window.shift_day(-1), "previousDay"
        ),
        next_day=a(window, "Ne&xt day", "Alt+Right", lambda: window.shift_day(1), "nextDay"),
    )
    actions.post_to_chart.setCheckable(True)
    actions.retry_failed.setEnabled(False)
    actions.cancel_batch.setEnabled(False)  # Esc belongs to nothing else while no batch runs
    return actions


@dataclass
class DayBar:
    clinic_combo: QComboBox
    date_edit: QDateEdit


def build_toolbars(window: QMainWindow, actions: MainActions) -> DayBar:
    """Two toolbars: the main actions first, then clinic and day. The main actions' bar holds
    only short buttons, so at 2x scaling nothing of it moves into the overflow menu."""
    main = QToolBar("Actions")
    main.setObjectName("mainToolbar")
    main.setMovable(False)
    main.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for action in (actions.prepare, actions.print_day, actions.reload):
        main.addAction(action)
    actions.prepare.setIconText("Prepare")
    actions.print_day.setIconText("Print day")
    actions.reload.setIconText("Reload")
    window.addToolBar(main)
    day = QToolBar("Clinic and day")
    day.setObjectName("dayToolbar")
    day.setMovable(False)
    clinic_combo = QComboBox()
    clinic_combo.setObjectName("clinicSwitcher")
    clinic_combo.setMinimumContentsLength(12)
    clinic_combo.setSizeAdjustPolicy(
        QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    clinic_combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    clinic_combo.setAccessibleName("Clinic")
    clinic_label = QLabel("Cli&nic: ")
    clinic_label.setBuddy(clinic_combo)
    day.addWidget(clinic_label)
    day.addWidget(clinic_combo)
    day.addSeparator()
    date_edit = QDateEdit()
    date_edit.setObjectName("clinicDay")
    date_edit.setCalendarPopup(True)
    date_edit.setDisplayFormat("ddd d MMM yyyy")
    date_edit.setAccessibleName("Clinic day")
    day_label = QLabel(" Da&y: ")
    day_label.setBuddy(date_edit)
    day.addWidget(day_label)
    actions.previous_day.setIconText("◀")
    actions.next_day.setIconText("▶")
    day.addAction(actions.previous_day)
    day.addWidget(date_edit)
    day.addAction(actions.next_day)
    window.addToolBar(day)
    return DayBar(clinic_combo, date_edit)


def build_menus(window: QMainWindow, actions: MainActions) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for action in (actions.open_sheet, actions.print_sheet, actions.print_day, actions.copy_mrn):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(actions.lock)
    file_menu.addAction(actions.quit)
    day_menu = bar.addMenu("&Day")
    for action in (
        actions.prepare,
        actions.prepare_again,
        actions.retry_failed,
        actions.reprepare,
        actions.cancel_batch,
        actions.reload,
        actions.find,
        actions.previous_day,
        actions.next_day,
    ):
        day_menu.addAction(action)
    clinic_menu = bar.addMenu("C&linic")
    for action in (
        actions.connections,
        actions.post_to_chart,
        actions.library,
        actions.audit,
        actions.new_clinic,
    ):
        clinic_menu.addAction(action)
    view_menu = bar.addMenu("Vie&w")
    view_menu.addAction(actions.panel)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions.shortcuts)
    help_menu.addAction(actions.about)


def _open_panel(window: Any) -> None:
    from healthprep_desktop.ui.panel_view import open_panel  # imported when first opened

    open_panel(window)


def shortcut_rows(owner: QObject) -> list[tuple[str, str]]:
    """(what, keys) for every action of ``owner`` that has a shortcut, in creation order."""
    rows: list[tuple[str, str]] = []
    for action in owner.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys and action.text():
            rows.append((action.text().replace("&", "").rstrip("…"), ", ".join(keys)))
    return rows


def show_shortcuts(window: QWidget) -> QDialog:
    """Help ▸ Keyboard shortcuts: the list, read from the actions themselves."""
    dialog = QDialog(window)
    dialog.setObjectName("shortcutList")
    dialog.setWindowTitle("Keyboard shortcuts")
    layout = QVBoxLayout(dialog)
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setObjectName("shortcutTable")
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, (what, keys) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(what))
        table.setItem(r, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    layout.addWidget(table)
    layout.addWidget(QLabel("Alt + the underlined letter moves to a field or button."))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    window_fit.fit_to_screen(dialog, 460, 460)  # within 960x540 (2x scaling) too
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
