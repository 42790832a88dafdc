"""The "Today" box: what this visit should do, in clinical priority, grouped by who does it.

Like a huddle's pre-charting view: the provider's items first (results not at goal, positive
screens needing a follow-up plan, due cancer and other screenings to order, declined items to
re-offer), then what rooming does (blood pressure, BMI, tobacco, depression and falls
questionnaires), then vaccines to offer. Each line is short and carries the one fact that
justifies it, taken from the engine's explanation ("HbA1c 9.4 % on 2026-10-31: above 9 %").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from healthprep_desktop.screening.explain import in_sentence
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.sheet_units import human_units

PROVIDER = "Provider"
ROOMING = "Rooming"
VACCINES = "Vaccines to offer"
GROUPS = (PROVIDER, ROOMING, VACCINES)

_VACCINE_WORDS = ("vaccin", "immuniz", "influenza", "pneumococcal", "zoster", "tdap", "tetanus")
_ROOMING_WORDS = (
    "depression",
    "tobacco",
    "smoking",
    "alcohol",
    "blood pressure",
    "fall",
    "bmi",
    "body mass",
    "weight",
)
_CANCER_WORDS = ("cancer", "colorectal", "colon", "mammo", "breast", "cervical", "lung")
_FACT_LIMIT = 90


@dataclass(frozen=True, slots=True)
class TodayItem:
    group: str  # PROVIDER, ROOMING or VACCINES
    rank: int  # clinical priority within the group, lowest first
    action: str  # "Review HbA1c: not at goal"
    fact: str  # the one justifying fact
    status: Status


def _kind(name: str) -> str:
    lowered = name.lower()
    if any(w in lowered for w in _VACCINE_WORDS):
        return VACCINES
    if any(w in lowered for w in _ROOMING_WORDS):
        return ROOMING
    return PROVIDER


def _sentence(name: str) -> str:
    return in_sentence(name)


# Code-system and measure references belong to the evidence line, not to the Today box.
_CODES = re.compile(r"\s*\((?:CMS\d+|LOINC|CPT|HCPCS|CVX|RxNorm|SNOMED|ICD|SCT)\b[^()]*\)")


def clip(text: str, limit: int = _FACT_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fact(result: ScreeningResult) -> str:
    """The first clause of the explanation: the finding, without the repeat schedule."""
    first = result.explanation.split("; ", 1)[0]
    return clip(_CODES.sub("", human_units(first)))


def _item(result: ScreeningResult) -> TodayItem | None:
    kind = _kind(result.name)
    name = result.name
    status = result.status
    fact = _fact(result)
    cancer = any(w in name.lower() for w in _CANCER_WORDS)
    if status is Status.NOT_AT_GOAL:
        return TodayItem(PROVIDER, 0, f"{name}: not at goal", fact, status)
    if status is Status.FOLLOW_UP_NEEDED:
        return TodayItem(PROVIDER, 1, f"{name}: positive screen, plan follow-up", fact, status)
    if status in (Status.OVERDUE, Status.DUE):
        word = "Overdue" if status is Status.OVERDUE else "Due"
        if kind is VACCINES:
            return TodayItem(VACCINES, 0, f"{name} ({word.lower()})", fact, status)
        if kind is ROOMING:
            return TodayItem(ROOMING, 0, f"{name} ({word.lower()})", fact, status)
        verb = "Order or obtain report:" if cancer else "Order:"
        return TodayItem(PROVIDER, 2 if cancer else 3, f"{verb} {_sentence(name)}", fact, status)
    if status is Status.DECLINED:
        group = VACCINES if kind is VACCINES else PROVIDER
        return TodayItem(group, 4, f"Re-offer {_sentence(name)} (declined)", fact, status)
    if status is Status.INSUFFICIENT_DATA:
        what = result.reason or "missing data"
        group = ROOMING if kind is ROOMING else PROVIDER
        return TodayItem(group, 5, f"Confirm {clip(what, 50)} ({_sentence(name)})", "", status)
    if status is Status.DUE_SOON:
        by = f"due {result.next_due.isoformat()}" if result.next_due else "due soon"
        return TodayItem(kind, 6, f"{name} ({by}): consider today", "", status)
    return None


def today_items(results: Iterable[ScreeningResult]) -> tuple[TodayItem, ...]:
    """Every action of the visit, in group order (provider, rooming, vaccines) and priority."""
    items = [i for i in (_item(r) for r in results) if i is not None]
    items.sort(key=lambda i: (GROUPS.index(i.group), i.rank, i.action))
    return tuple(items)


def top_actions(items: Iterable[TodayItem], count: int = 3) -> str:
    """The huddle list's short form: "HbA1c not at goal; order mammogram; +4 more"."""
    wanted = [i for i in items if i.rank < 6]
    shown = [i.action for i in wanted[:count]]
    more = len(wanted) - len(shown)
    return "; ".join(shown) + (f"; +{more} more" if more > 0 else "") if shown else "\u2014"
