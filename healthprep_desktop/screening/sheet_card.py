"""The huddle card: a few facts about a sheet (time, name, age and sex, provider, visit type,
top actions), stored inside the sheet's own PDF so the day print can list and sort any stored
sheet without the chart.

It sits in a private key of the PDF catalog (``/HPCard``, a hex string of ASCII JSON, written by
sheet_furniture.NumberedCanvas as the PDF is made): viewers
ignore it and it is not metadata a print queue shows, and it carries nothing the page itself
does not print. Combining sheets into the day PDF drops it (catalogs are not copied).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from healthprep_desktop.screening.sheet_model import SheetContent
from healthprep_desktop.screening.sheet_today import top_actions

CARD_KEY = "HPCard"
CARD_VERSION = 1


@dataclass(frozen=True, slots=True)
class HuddleCard:
    name: str
    start: str  # ISO time in the clinic's zone ("" when unknown): the sort key
    time: str  # "08:00"
    provider: str
    age_sex: str  # "54 y F"
    visit: str  # the appointment's reason or type
    actions: str  # "HbA1c control: not at goal; Order: mammogram; +2 more"
    mrn: str
    demo: bool
    version: int = CARD_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> HuddleCard | None:
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (ValueError, TypeError, KeyError):
            return None


def card_for(content: SheetContent) -> HuddleCard:
    h = content.header
    sex = h.sex[:1] if h.sex and h.sex != "\u2014" else ""
    age_sex = " ".join(x for x in (h.age, sex) if x) or "\u2014"
    start = content.appointment_sort
    return HuddleCard(
        name=h.name,
        start=start,
        time=start[11:16] if len(start) >= 16 else "",
        provider=h.provider,
        age_sex=age_sex,
        visit=h.reason,
        actions=top_actions(content.today),
        mrn=h.mrn,
        demo=content.demo,
    )


def read_card(doc: Any) -> HuddleCard | None:
    """The card of an open pymupdf document (None: a sheet from before cards existed)."""
    kind, value = doc.xref_get_key(doc.pdf_catalog(), CARD_KEY)
    if kind != "string":
        return None
    return HuddleCard.from_json(str(value))
