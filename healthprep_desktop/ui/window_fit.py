"""Window sizes that fit the screen they open on (1366x768 laptops, 2x scaling of 1920x1080).

A fixed ``resize(1100, 800)`` puts a dialog's buttons off a 768-pixel screen. ``fit_to_screen``
asks for the preferred size but never more than the screen's available area (minus the window
frame), and ``overflow`` tells tests and the screenshot bench what does not fit.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

# Room for the title bar and frame the window system adds around the client area.
FRAME_ALLOWANCE = QSize(16, 48)


def screen_of(widget: QWidget) -> QScreen | None:
    screen = widget.screen()
    return screen if screen is not None else QGuiApplication.primaryScreen()


def available_area(widget: QWidget) -> QRect:
    screen = screen_of(widget)
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 768)


def fitting_size(widget: QWidget, width: int, height: int, area: QRect | None = None) -> QSize:
    area = area if area is not None else available_area(widget)
    return QSize(
        max(200, min(width, area.width() - FRAME_ALLOWANCE.width())),
        max(150, min(height, area.height() - FRAME_ALLOWANCE.height())),
    )


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize to (width, height) or the screen's available area, whichever is smaller."""
    widget.resize(fitting_size(widget, width, height))


# The logical screens every window must fit: a 1366x768 laptop, and 1920x1080 at 2x scaling.
SMALL_SCREENS = (QRect(0, 0, 1366, 768), QRect(0, 0, 960, 540))


def overflow(widget: QWidget, area: QRect | None = None) -> list[str]:
    """What does not fit: on the widget's own screen, the window itself; on any ``area`` (a
    smaller screen it may open on), its smallest usable size, frame included (fit_to_screen
    sizes a window to the screen it opens on, never below that)."""
    problems: list[str] = []
    if area is None:
        area = available_area(widget)
        size = widget.frameGeometry().size().expandedTo(widget.size())
        if size.width() > area.width() or size.height() > area.height():
            problems.append(f"window {size.width()}x{size.height()} > screen")
    hint = widget.minimumSizeHint().expandedTo(widget.minimumSize()) + FRAME_ALLOWANCE
    if hint.width() > area.width() or hint.height() > area.height():
        problems.append(f"minimum size {hint.width()}x{hint.height()} > screen")
    return problems
