"""The Group resources every organization serves: the whole panel and each clinician's panel.

Membership comes from the data itself: ``panel`` holds every Patient, and ``panel-{id}`` the
patients whose ``generalPractitioner`` is Practitioner ``id`` (the synthetic clinic sets it;
imports usually do not, so they get just ``panel``). Groups are derived on each request from
the datastore's index, so a patient added or changed is reflected at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthprep_desktop.sandbox.config import JSON
from healthprep_desktop.sandbox.datastore import ResourceStore
from healthprep_desktop.sandbox.search_params import normalize_reference

GROUP_SYSTEM = "https://healthprep-desktop.invalid/sandbox/group"
PANEL = "panel"
_CLINICIAN_PREFIX = "panel-"


@dataclass(frozen=True, slots=True)
class PanelGroup:
    id: str
    name: str
    members: tuple[str, ...]  # patient ids, in store order
    practitioner: str | None = None  # "Practitioner/<id>" for a clinician's panel

    def resource(self) -> JSON:
        group: JSON = {
            "resourceType": "Group",
            "id": self.id,
            "identifier": [{"system": GROUP_SYSTEM, "value": self.id}],
            "active": True,
            "type": "person",
            "actual": True,
            "name": self.name,
            "quantity": len(self.members),
            "member": [{"entity": {"reference": f"Patient/{pid}"}} for pid in self.members],
        }
        if self.practitioner is not None:
            group["managingEntity"] = {"reference": self.practitioner}
        return group


def _practitioner_name(store: ResourceStore, practitioner_id: str) -> str:
    stored = store.get("Practitioner", practitioner_id)
    if stored is None:
        return practitioner_id
    names = stored.json().get("name") or []
    if not names or not isinstance(names[0], dict):
        return practitioner_id
    name = names[0]
    text = name.get("text")
    if isinstance(text, str) and text:
        return text
    parts = [*(name.get("prefix") or []), *(name.get("given") or []), name.get("family") or ""]
    return " ".join(str(p) for p in parts if p) or practitioner_id


def _clinician_panels(store: ResourceStore) -> dict[str, list[str]]:
    """Practitioner id -> the ids of the patients naming them as generalPractitioner."""
    panels: dict[str, list[str]] = {}
    for stored in store.all_of("Patient"):
        for ref in stored.index.get("general-practitioner", ()):
            text = normalize_reference(str(ref))
            if text.startswith("Practitioner/"):
                panels.setdefault(text.split("/", 1)[1], []).append(stored.id)
    return panels


def all_groups(store: ResourceStore) -> list[PanelGroup]:
    groups = [PanelGroup(PANEL, "Whole panel", tuple(store.patient_ids()))]
    for practitioner_id, members in sorted(_clinician_panels(store).items()):
        groups.append(
            PanelGroup(
                f"{_CLINICIAN_PREFIX}{practitioner_id}",
                f"Panel of {_practitioner_name(store, practitioner_id)}",
                tuple(members),
                f"Practitioner/{practitioner_id}",
            )
        )
    return groups


def find_group(store: ResourceStore, group_id: str) -> PanelGroup | None:
    if group_id == PANEL:
        return PanelGroup(PANEL, "Whole panel", tuple(store.patient_ids()))
    if not group_id.startswith(_CLINICIAN_PREFIX):
        return None
    practitioner_id = group_id[len(_CLINICIAN_PREFIX) :]
    members = _clinician_panels(store).get(practitioner_id)
    if not members:
        return None
    name = f"Panel of {_practitioner_name(store, practitioner_id)}"
    return PanelGroup(group_id, name, tuple(members), f"Practitioner/{practitioner_id}")


def _identifier_matches(group: PanelGroup, value: str) -> bool:
    if "|" not in value:
        return value == group.id
    system, code = value.split("|", 1)
    return (not system or system == GROUP_SYSTEM) and (not code or code == group.id)


def _name_matches(group: PanelGroup, value: str, modifier: str | None) -> bool:
    name, wanted = group.name.lower(), value.lower()
    if modifier == "exact":
        return group.name == value
    if modifier == "contains":
        return wanted in name
    return name.startswith(wanted)


class GroupSearchError(ValueError):
    """A Group search parameter the sandbox does not support (400)."""


def search_groups(
    store: ResourceStore, query: list[tuple[str, str]], *, restricted: bool = False
) -> list[PanelGroup]:
    """Groups matching every ``identifier``, ``name`` and ``_id`` given (values ORed); a
    restricted server (any profile but generic) refuses a search that names none of them."""
    named = {name.partition(":")[0] for name, _ in query}
    if restricted and not named & {"_id", "identifier", "name"}:
        raise GroupSearchError(
            "Group searches must use one of these parameter combinations: _id, identifier, name"
        )
    found = all_groups(store)
    for raw_name, raw_value in query:
        name, _, modifier = raw_name.partition(":")
        values = [v for v in raw_value.split(",") if v]
        if name in ("_count", "_format", "_pretty", "_summary", "_elements"):
            continue
        if name == "_id" and not modifier:
            found = [g for g in found if g.id in values]
        elif name == "identifier" and not modifier:
            found = [g for g in found if any(_identifier_matches(g, v) for v in values)]
        elif name == "name" and modifier in ("", "exact", "contains"):
            found = [g for g in found if any(_name_matches(g, v, modifier or None) for v in values)]
        else:
            raise GroupSearchError(
                f"Group search supports _id, identifier and name, not {raw_name}"
            )
    return found
