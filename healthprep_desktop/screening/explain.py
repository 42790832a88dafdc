"""One-line explanations a clinic coordinator understands.

They go on the prep sheet and into the encrypted store, never into a log. A document is named
by its keyword and confidence, not by its title or text (those may carry other people's names).
"""

from __future__ import annotations

from datetime import date

from healthprep_desktop.screening.valuesets import short_system_name


def code_text(system: str | None, code: str | None) -> str:
    if not code:
        return ""
    name = short_system_name(system)
    return f"{name} {code}" if name else code


def coded_event(name: str, when: date | None, system: str | None, code: str | None) -> str:
    """'Colonoscopy 2019-04-02 (CPT 45378)'."""
    parts = [name]
    if when is not None:
        parts.append(when.isoformat())
    text = " ".join(parts)
    codes = code_text(system, code)
    return f"{text} ({codes})" if codes else text


def document_event(name: str, when: date | None, keyword: str, confidence: float) -> str:
    """'Colonoscopy 2019-04-02 (document: "colonoscopy", 90%)'."""
    when_text = f" {when.isoformat()}" if when else ""
    return f'{name}{when_text} (document: "{keyword}", {round(confidence * 100)}%)'


def complete(event: str, next_due: date | None) -> str:
    if next_due is None:
        return f"{event}; done, no repeat needed"
    return f"{event}; next due {next_due.isoformat()}"


def due_soon(event: str, next_due: date, as_of: date) -> str:
    days = (next_due - as_of).days
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return f"{event}; next due {next_due.isoformat()} ({when})"


def due_today(event: str, next_due: date) -> str:
    """'Colonoscopy 2011-06-30 (CPT 45378); due today (2021-06-30)'."""
    return f"{event}; due today ({next_due.isoformat()})"


def not_at_goal(finding: str, next_due: date | None, as_of: date) -> str:
    """'Blood pressure 113/91 on 2021-05-01: diastolic 91 ≥ 90 (...); next due 2022-05-01'."""
    if next_due is None:
        return finding
    days = (next_due - as_of).days
    return f"{finding}; next due {next_due.isoformat()}" + (
        f" (in {days} day{'s' if days != 1 else ''})" if days <= 30 else ""
    )


def no_current_result() -> str:
    """Appended to Due/Overdue outcome measures: no result in the window counts as not at goal
    (CMS122, CMS165)."""
    return "no result in the window: counts as not at goal"


def overdue(event: str, next_due: date) -> str:
    return f"{event}; was due {next_due.isoformat()}"


def new_season(event: str, season_start: date) -> str:
    """'Flu vaccine 2025-10-04 (CVX 141); none this season (from 2026-08-01)'."""
    return f"{event}; none this season (from {season_start.isoformat()})"


def never_done(names: list[str]) -> str:
    return f"No {join_or([in_sentence(n) for n in names])} on record"


def in_sentence(name: str) -> str:
    """'Mammogram' -> 'mammogram' mid-sentence; acronyms ('HbA1c', 'FIT/FOBT') stay as written."""
    first = name.split(" ", 1)[0]
    if first.isalpha() and first[1:].islower():
        return name[0].lower() + name[1:]
    return name


def number(value: float) -> str:
    """A reading as people write it: 9.6, 142, 166.3 (one decimal at most)."""
    return f"{round(value, 1):g}"


def join_or(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def join_and(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def not_applicable(reason: str) -> str:
    return f"Not applicable: {reason}"


def insufficient(reason: str) -> str:
    return f"Insufficient data: {reason}"
