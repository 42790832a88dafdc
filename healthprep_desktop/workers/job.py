"""What a batch job is asked to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class JobSpec:
    tenant_id: str
    connection_id: str
    clinic_date: date | None = None  # a clinic day: the patients on its schedule
    practitioner: str | None = None  # filters for the clinic day
    location: str | None = None
    patient_ids: tuple[str, ...] = ()  # or an explicit list
    all_patients: bool = False  # or every patient the server has
    as_of: date | None = None  # screening date; defaults to the clinic date, else today
    write_back: bool = False
    force: bool = False  # refetch and re-screen even if nothing changed
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        chosen = sum((self.clinic_date is not None, bool(self.patient_ids), self.all_patients))
        if chosen != 1:
            raise ValueError(
                "choose exactly one of: a clinic date, a list of patients, or all patients"
            )

    def screening_date(self, today: date) -> date:
        return self.as_of or self.clinic_date or today

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["clinic_date"] = self.clinic_date.isoformat() if self.clinic_date else None
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        data["patient_ids"] = list(self.patient_ids)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSpec:
        def day(key: str) -> date | None:
            return date.fromisoformat(data[key]) if data.get(key) else None

        return cls(
            tenant_id=data["tenant_id"],
            connection_id=data["connection_id"],
            clinic_date=date.fromisoformat(data["clinic_date"])
            if data.get("clinic_date")
            else None,
            practitioner=data.get("practitioner"),
            location=data.get("location"),
            patient_ids=tuple(data.get("patient_ids") or ()),
            all_patients=bool(data.get("all_patients")),
            as_of=day("as_of"),
            write_back=bool(data.get("write_back")),
            force=bool(data.get("force")),
            options=dict(data.get("options") or {}),
        )
