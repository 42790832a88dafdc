"""Write-back document shape and ledger logic, endpoint directory, schedule and record helpers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig, RetryConfig
from healthprep_desktop.fhir.directory import load_directory, parse_directory, search_directory
from healthprep_desktop.fhir.discovery import Capabilities
from healthprep_desktop.fhir.errors import BadRequest
from healthprep_desktop.fhir.record import (
    choose_strategy,
    document_date,
    document_title,
    pick_attachment,
)
from healthprep_desktop.fhir.schedule import unique_patients, visits_from_appointments
from healthprep_desktop.fhir.writeback import (
    MemoryLedger,
    PrepSheetDocument,
    WritebackError,
    build_document_reference,
    write_back,
)

SHEET = PrepSheetDocument(
    patient_id="p1",
    sheet_key="prep-sheet/2025-03-14",
    title="Pre-visit prep sheet",
    text="Colonoscopy: due",
    pdf=b"%PDF-1.4 sheet",
    author="Practitioner/7",
    encounter_id="e1",
)


def test_document_reference_shape_validates_as_r4b() -> None:
    body = build_document_reference(
        SHEET,
        version_uuid="urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        content_type="text/plain",
        single_attachment=True,
        replaces="old-1",
    )
    DocumentReference.model_validate(body)
    assert body["status"] == "current" and body["type"]["coding"][0]["code"] == "11506-3"
    assert body["context"]["encounter"][0]["reference"] == "Encounter/e1"
    assert body["relatesTo"][0] == {
        "code": "replaces",
        "target": {"reference": "DocumentReference/old-1"},
    }
    assert len(body["content"]) == 1
    attachment = body["content"][0]["attachment"]
    assert attachment["contentType"].startswith("text/plain")
    assert base64.b64decode(attachment["data"]) == b"Colonoscopy: due"
    both = build_document_reference(
        SHEET, version_uuid="urn:uuid:x", content_type="application/pdf", single_attachment=False
    )
    assert [c["attachment"]["contentType"].split(";")[0] for c in both["content"]] == [
        "application/pdf",
        "text/plain",
    ]


class DocServer:
    """A minimal DocumentReference endpoint: create and identifier search."""

    def __init__(self, server: LoopbackServer, *, fail_first: bool = False) -> None:
        self.docs: list[dict[str, Any]] = []
        self.fail_first = fail_first
        server.route("/fhir/DocumentReference")(self.handle)

    def handle(self, seen: Seen) -> tuple[int, dict[str, str], object]:
        if seen.method == "POST":
            if self.fail_first:
                self.fail_first = False
                return (
                    422,
                    {},
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": "invalid"}],
                    },
                )
            doc = json.loads(seen.body)
            doc["id"] = f"d{len(self.docs) + 1}"
            self.docs.append(doc)
            return 201, {"Location": f"/fhir/DocumentReference/{doc['id']}/_history/1"}, b""
        value = seen.query.split("%7C")[-1].replace("%3A", ":")
        hits = [d for d in self.docs if d["masterIdentifier"]["value"] == value]
        return (
            200,
            {},
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": d} for d in hits],
            },
        )


def client_for(server: LoopbackServer) -> FhirClient:
    return FhirClient(
        server.url,
        retry=RetryConfig(max_attempts=2, base_delay=0.01),
        rate_limit=RateLimitConfig(requests_per_second=0),
    )


async def test_write_back_is_idempotent_and_versions_replace(server: LoopbackServer) -> None:
    docs = DocServer(server)
    ledger = MemoryLedger()
    async with client_for(server) as client:
        first = await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
        again = await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
        newer = SHEET.__class__(
            SHEET.patient_id,
            SHEET.sheet_key,
            SHEET.title,
            SHEET.text,
            b"%PDF-1.4 v2",
            SHEET.author,
            SHEET.encounter_id,
        )
        second = await write_back(client, newer, ledger=ledger, tenant="t", connection="c")
        rerun = await write_back(client, newer, ledger=ledger, tenant="t", connection="c")
    assert (first.outcome, again.outcome, second.outcome, rerun.outcome) == (
        "created",
        "unchanged",
        "replaced",
        "unchanged",
    )
    assert len(docs.docs) == 2  # one POST per distinct version, none for reruns
    assert first.resource_id == "d1" and second.resource_id == "d2"
    assert docs.docs[1]["relatesTo"][0]["target"]["reference"] == "DocumentReference/d1"


async def test_pending_claim_is_recovered_not_reposted(server: LoopbackServer) -> None:
    docs = DocServer(server)
    ledger = MemoryLedger()
    async with client_for(server) as client:
        await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
        # Simulate a crash after the POST: the ledger still says pending.
        key, (patient, record) = next(iter(ledger.records.items()))
        ledger.records[key] = (patient, record.__class__(key, "pending", None))
        result = await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
    assert result.outcome == "recovered" and result.resource_id == "d1"
    assert len(docs.docs) == 1


async def test_rejected_post_releases_the_claim(server: LoopbackServer) -> None:
    docs = DocServer(server, fail_first=True)
    ledger = MemoryLedger()
    async with client_for(server) as client:
        with pytest.raises(BadRequest):
            await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
        assert ledger.records == {}
        result = await write_back(client, SHEET, ledger=ledger, tenant="t", connection="c")
    assert result.outcome == "created" and len(docs.docs) == 1


async def test_epic_style_needs_text_and_encounter(server: LoopbackServer) -> None:
    no_text = PrepSheetDocument("p1", "k", "t", pdf=b"%PDF", encounter_id="e")
    async with client_for(server) as client:
        with pytest.raises(WritebackError, match="no text"):
            await write_back(
                client,
                no_text,
                ledger=MemoryLedger(),
                tenant="t",
                connection="c",
                content_type="text/plain",
            )
        with pytest.raises(WritebackError, match="encounter"):
            await write_back(
                client,
                PrepSheetDocument("p1", "k", "t", text="x"),
                ledger=MemoryLedger(),
                tenant="t",
                connection="c",
                content_type="text/plain",
                require_encounter=True,
            )


DIRECTORY = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "resource": {
                "resourceType": "Endpoint",
                "id": "e1",
                "status": "active",
                "name": "Alpha Health",
                "address": "https://fhir.alpha.org/api/FHIR/R4/",
                "connectionType": {"code": "hl7-fhir-rest"},
                "payloadType": [{"text": "x"}],
                "managingOrganization": {"reference": "Organization/o1"},
            }
        },
        {"resource": {"resourceType": "Organization", "id": "o1", "name": "Alpha Health System"}},
        {
            "resource": {
                "resourceType": "Endpoint",
                "id": "e2",
                "status": "active",
                "address": "https://beta.example/R4",
            }
        },
        {
            "resource": {
                "resourceType": "Organization",
                "id": "o2",
                "name": "beta clinics",
                "endpoint": [{"reference": "Endpoint/e2"}],
            }
        },
        {
            "resource": {
                "resourceType": "Endpoint",
                "id": "e3",
                "status": "off",
                "address": "https://gone.example/R4",
            }
        },
    ],
}


async def test_endpoint_directory(tmp_path: Path, server: LoopbackServer) -> None:
    entries = parse_directory(DIRECTORY)
    assert [(e.organization, e.base_url) for e in entries] == [
        ("Alpha Health System", "https://fhir.alpha.org/api/FHIR/R4"),
        ("beta clinics", "https://beta.example/R4"),
    ]
    assert [e.organization for e in search_directory(entries, "BETA")] == ["beta clinics"]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(DIRECTORY))
    assert await load_directory(path) == entries

    @server.route("/fhir/directory.json")
    def serve(seen: Seen) -> tuple[int, dict[str, str], object]:
        return 200, {}, DIRECTORY

    assert await load_directory(f"{server.url}/directory.json") == entries


def test_schedule_from_appointments() -> None:
    def appt(i: str, start: str, status: str, patient: str) -> dict[str, Any]:
        return {
            "resourceType": "Appointment",
            "id": i,
            "status": status,
            "start": start,
            "participant": [
                {"actor": {"reference": f"Patient/{patient}"}},
                {"actor": {"reference": "http://x/fhir/Practitioner/9"}},
            ],
        }

    visits = visits_from_appointments(
        [
            appt("a2", "2025-03-14T10:00:00Z", "booked", "p2"),
            appt("a1", "2025-03-14T09:00:00Z", "booked", "p1"),
            appt("a3", "2025-03-14T11:00:00Z", "cancelled", "p3"),
            appt("a4", "2025-03-14T15:00:00Z", "arrived", "p1"),
        ]
    )
    assert [v.appointment_id for v in visits] == ["a1", "a2", "a4"]
    assert visits[0].practitioners == ("Practitioner/9",)
    assert unique_patients(visits) == ["p1", "p2"]


def test_record_helpers_and_strategy() -> None:
    doc = {
        "resourceType": "DocumentReference",
        "id": "d",
        "type": {"coding": [{"display": "Note"}]},
        "context": {"period": {"start": "2024-02-03T10:00:00Z"}},
        "content": [
            {"attachment": {"contentType": "image/png", "url": "Binary/1"}},
            {"attachment": {"contentType": "application/pdf", "url": "Binary/2"}},
            {"attachment": {"contentType": "text/plain"}},
        ],
    }
    assert document_title(doc) == "Note" and str(document_date(doc)) == "2024-02-03"
    assert pick_attachment(doc) == {"contentType": "application/pdf", "url": "Binary/2"}
    caps = Capabilities.from_json(
        {
            "resourceType": "CapabilityStatement",
            "fhirVersion": "4.0.1",
            "rest": [
                {
                    "mode": "server",
                    "interaction": [{"code": "batch"}],
                    "resource": [
                        {
                            "type": "Patient",
                            "searchRevInclude": ["Observation:patient"],
                            "operation": [{"name": "everything"}],
                        }
                    ],
                }
            ],
        }
    )
    assert choose_strategy(caps, None) == "everything"
    assert choose_strategy(None, None) == "per-type"
    no_everything = Capabilities.from_json(
        {
            "resourceType": "CapabilityStatement",
            "rest": [
                {
                    "mode": "server",
                    "resource": [{"type": "Patient", "searchRevInclude": ["Observation:patient"]}],
                }
            ],
        }
    )
    assert choose_strategy(no_everything, None) == "revinclude"
    assert choose_strategy(no_everything, __import__("datetime").datetime(2025, 1, 1)) == "per-type"
