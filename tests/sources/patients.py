"""Small Patient resources for the matching tests."""

from __future__ import annotations

from typing import Any

from healthprep_desktop.sources.model import Demographics
from healthprep_desktop.sources.normalise import demographics


def patient(
    pid: str = "p",
    *,
    family: str | None = "Okafor",
    given: str | None = "Ngozi",
    middle: str | None = "A",
    birth: str | None = "1968-04-09",
    gender: str | None = "female",
    postal: str | None = "62701",
    phone: str | None = "(217) 555-0142",
    old_family: str | None = None,
    street: str | None = "12 Oak Street",
    former: tuple[str, str] | None = None,  # (street, postal) kept as use "old"
    identifiers: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "name": []}
    if family is not None or given is not None:
        name: dict[str, Any] = {"use": "official"}
        if family is not None:
            name["family"] = family
        if given is not None:
            name["given"] = [given] if middle is None else [given, middle]
        resource["name"].append(name)
    if old_family is not None:
        resource["name"].append({"use": "old", "family": old_family, "given": [given]})
    if birth is not None:
        resource["birthDate"] = birth
    if gender is not None:
        resource["gender"] = gender
    if postal is not None:
        home: dict[str, Any] = {"use": "home", "postalCode": postal}
        if street is not None:
            home["line"] = [street]
        resource["address"] = [home]
    if former is not None:
        resource.setdefault("address", []).append(
            {"use": "old", "line": [former[0]], "postalCode": former[1]}
        )
    if phone is not None:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    resource["identifier"] = [{"system": s, "value": v} for s, v in identifiers]
    return resource


def demo(pid: str = "p", **fields: Any) -> Demographics:
    return demographics(patient(pid, **fields))
