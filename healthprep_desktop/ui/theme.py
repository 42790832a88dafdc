"""Follow the operating system's light or dark scheme (Qt 6.5+ reports it in styleHints).

Fusion is used everywhere so the palette fully decides the colours: native styles on some
platforms ignore a dark palette. Status colours (Due, Due Soon...) come from ``status_color``
so they stay readable in both schemes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from healthprep_desktop.screening.model import Status


def is_dark(app: QGuiApplication | None = None) -> bool:
    app = app or QGuiApplication.instance()  # type: ignore[assignment]
    if app is None:
        return False
    return bool(app.styleHints().colorScheme() == Qt.ColorScheme.Dark)


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(37, 37, 38), QColor(30, 30, 30), QColor(230, 230, 230)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(45, 45, 48))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(50, 50, 52))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(51, 51, 55))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 170, 255))
    p.setColor(QPalette.ColorRole.Highlight, QColor(38, 110, 200))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def apply(app: QApplication) -> None:
    """Apply the palette for the current scheme and re-apply whenever the OS scheme changes."""
    app.setStyle("Fusion")
    _apply_palette(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: _apply_palette(app))


def _apply_palette(app: QApplication) -> None:
    if is_dark(app):
        app.setPalette(_dark_palette())
    else:
        style = app.style()
        app.setPalette(style.standardPalette() if style is not None else QPalette())


_LIGHT = {
    Status.DUE: "#b3261e",
    Status.OVERDUE: "#8c1d18",
    Status.NOT_AT_GOAL: "#a40e4c",
    Status.FOLLOW_UP_NEEDED: "#6a1b9a",
    Status.DECLINED: "#5d4037",
    Status.MEDICAL_REASON: "#455a64",
    Status.POSTPONED: "#00695c",
    Status.DUE_SOON: "#9a6700",
    Status.COMPLETE: "#1a7f37",
    Status.NOT_APPLICABLE: "#6e7781",
    Status.INSUFFICIENT_DATA: "#6e7781",
}
_DARK = {
    Status.DUE: "#ff8a80",
    Status.OVERDUE: "#ff6e6e",
    Status.NOT_AT_GOAL: "#ff8fb8",
    Status.FOLLOW_UP_NEEDED: "#ce93d8",
    Status.DECLINED: "#bcaaa4",
    Status.MEDICAL_REASON: "#b0bec5",
    Status.POSTPONED: "#80cbc4",
    Status.DUE_SOON: "#f2cc60",
    Status.COMPLETE: "#7ee787",
    Status.NOT_APPLICABLE: "#a0a8b0",
    Status.INSUFFICIENT_DATA: "#a0a8b0",
}


def status_color(status: Status) -> QColor:
    return QColor((_DARK if is_dark() else _LIGHT)[status])


def banner_style(kind: str) -> str:
    """Style sheet for a banner: 'warning' or 'error', readable in both schemes."""
    dark = is_dark()
    if kind == "error":
        bg, fg = ("#5c1a1a", "#ffdad6") if dark else ("#ffebe9", "#82071e")
    else:
        bg, fg = ("#4d3800", "#fff1c2") if dark else ("#fff8c5", "#5c4300")
    return f"QFrame#banner {{ background: {bg}; border-radius: 4px; }} QLabel {{ color: {fg}; }}"
