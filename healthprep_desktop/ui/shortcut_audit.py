"""Ambiguous shortcuts and mnemonics of a window, under each platform theme's key bindings.

A ``QKeySequence.StandardKey`` means different keys per platform theme (Qt's table in
qplatformtheme.cpp): under GTK "Refresh" is F5 *and* Ctrl+R, so an action on Ctrl+R beside one
on Refresh is ambiguous there and Qt runs neither. The tests and the screenshot bench run on
one theme, so an action's keys are mapped back to the standard key they came from and expanded
with ``THEME_BINDINGS``. Mnemonics (Alt+letter) must be unique among a window's menu-bar titles,
buttons and labelled fields, and within each menu; macOS has no mnemonics.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMenu,
    QTabBar,
    QToolButton,
    QWidget,
)

Std = QKeySequence.StandardKey
THEMES = ("default", "gtk", "macos")
# The standard keys the app's windows use or might, per theme (portable text; Ctrl is Cmd on
# macOS). "default" is Qt's Windows/KDE set.
THEME_BINDINGS: dict[Std, dict[str, tuple[str, ...]]] = {
    Std.Refresh: {"default": ("F5",), "gtk": ("Ctrl+R", "F5"), "macos": ("Ctrl+R",)},
    Std.Print: {t: ("Ctrl+P",) for t in THEMES},
    Std.Find: {t: ("Ctrl+F",) for t in THEMES},
    Std.FindNext: {"default": ("F3",), "gtk": ("Ctrl+G", "F3"), "macos": ("Ctrl+G",)},
    Std.Quit: {t: ("Ctrl+Q",) for t in THEMES},
    Std.Close: {"default": ("Ctrl+F4", "Ctrl+W"), "gtk": ("Ctrl+W",), "macos": ("Ctrl+W",)},
    Std.ZoomIn: {t: ("Ctrl++",) for t in THEMES},
    Std.ZoomOut: {t: ("Ctrl+-",) for t in THEMES},
    Std.Open: {t: ("Ctrl+O",) for t in THEMES},
    Std.Save: {t: ("Ctrl+S",) for t in THEMES},
    Std.New: {t: ("Ctrl+N",) for t in THEMES},
    Std.Copy: {t: ("Ctrl+C",) for t in THEMES},
    Std.HelpContents: {"default": ("F1",), "gtk": ("F1",), "macos": ("Ctrl+?",)},
    Std.Back: {"default": ("Alt+Left",), "gtk": ("Alt+Left",), "macos": ("Ctrl+[",)},
    Std.Forward: {"default": ("Alt+Right",), "gtk": ("Alt+Right",), "macos": ("Ctrl+]",)},
    Std.MoveToNextPage: {t: ("PgDown",) for t in THEMES},
    Std.MoveToPreviousPage: {t: ("PgUp",) for t in THEMES},
    Std.Cancel: {t: ("Esc",) for t in THEMES},
    Std.Undo: {t: ("Ctrl+Z",) for t in THEMES},
    Std.Redo: {"default": ("Ctrl+Y",), "gtk": ("Ctrl+Shift+Z",), "macos": ("Ctrl+Shift+Z",)},
}


@dataclass(frozen=True, slots=True)
class Clash:
    window: str
    theme: str
    keys: str
    owners: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.window} [{self.theme}] {self.keys}: {', '.join(self.owners)}"


def _portable(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.PortableText)


def _standard_key_of(action: QAction) -> Std | None:
    """The standard key an action's shortcuts came from on this platform, if any."""
    mine = [_portable(k) for k in action.shortcuts()]
    if not mine:
        return None
    for std in THEME_BINDINGS:
        if [_portable(k) for k in QKeySequence.keyBindings(std)] == mine:
            return std
    return None


def keys_under(action: QAction, theme: str) -> list[str]:
    std = _standard_key_of(action)
    if std is not None:
        return list(THEME_BINDINGS[std][theme])
    return [_portable(k) for k in action.shortcuts() if not k.isEmpty()]


def _name(obj: QWidget | QAction) -> str:
    text = obj.text() if isinstance(obj, QAction | QAbstractButton) else ""
    return obj.objectName() or text.replace("&", "") or type(obj).__name__


def window_actions(window: QWidget) -> list[QAction]:
    """The actions whose shortcuts work in ``window``: its own and its children's (menus,
    toolbars, widgets), not those of other top-level windows parented to it."""
    out: list[QAction] = []
    for action in window.findChildren(QAction):
        owner = action.parent()
        if isinstance(owner, QWidget) and owner.window() is not window:
            continue  # a dialog's (its own window)
        if action.shortcuts() and action not in out:
            out.append(action)
    return out


def shortcut_clashes(window: QWidget, title: str | None = None) -> list[Clash]:
    name = title or window.objectName() or type(window).__name__
    clashes: list[Clash] = []
    actions = window_actions(window)
    for theme in THEMES:
        owners: dict[str, list[str]] = defaultdict(list)
        for action in actions:
            for key in keys_under(action, theme):
                owners[key].append(_name(action))
        clashes += [Clash(name, theme, k, tuple(v)) for k, v in owners.items() if len(v) > 1]
    return clashes


def mnemonic(text: str) -> str | None:
    """The letter after a single '&' ("&&" is a literal ampersand)."""
    i = 0
    while i < len(text) - 1:
        if text[i] == "&":
            if text[i + 1] == "&":
                i += 2
                continue
            return text[i + 1].lower()
        i += 1
    return None


def _window_mnemonics(window: QWidget) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)

    def add(text: str, owner: str) -> None:
        letter = mnemonic(text)
        if letter:
            found[letter].append(owner)

    if isinstance(window, QMainWindow) and window.menuBar() is not None:
        for action in window.menuBar().actions():
            add(action.text(), f"menu {action.text().replace('&', '')}")
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or isinstance(widget, QToolButton):
            continue  # another window's; tool buttons show icon text (no mnemonic)
        if isinstance(widget, QAbstractButton):
            add(widget.text(), _name(widget))
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text(), f"label {widget.text().replace('&', '')}")
        elif isinstance(widget, QGroupBox):
            add(widget.title(), f"group {widget.title().replace('&', '')}")
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                add(widget.tabText(i), f"tab {widget.tabText(i).replace('&', '')}")
    return found


def mnemonic_clashes(window: QWidget, title: str | None = None) -> list[Clash]:
    """Per window and per menu; every theme but macOS (which has none)."""
    name = title or window.objectName() or type(window).__name__
    groups: list[tuple[str, dict[str, list[str]]]] = [(name, _window_mnemonics(window))]
    for menu in window.findChildren(QMenu):
        if menu.window() is not menu:
            continue
        items: dict[str, list[str]] = defaultdict(list)
        for action in menu.actions():
            letter = mnemonic(action.text())
            if letter and not action.isSeparator():
                items[letter].append(action.text().replace("&", ""))
        groups.append((f"{name} ▸ {menu.title().replace('&', '')}", items))
    return [
        Clash(where, theme, f"Alt+{letter.upper()}", tuple(owners))
        for theme in ("default", "gtk")
        for where, found in groups
        for letter, owners in found.items()
        if len(owners) > 1
    ]


def ambiguities(window: QWidget, title: str | None = None) -> list[str]:
    """Every ambiguous shortcut and mnemonic of ``window``, one line each (empty: none)."""
    return [str(c) for c in (*shortcut_clashes(window, title), *mnemonic_clashes(window, title))]
