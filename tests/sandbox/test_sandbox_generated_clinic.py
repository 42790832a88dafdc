"""The synthetic clinic generator plugged into the server (skipped while it is absent)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sandbox_smart import bearer, entries, login, validate

from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.cli import synthetic_clinic

DAY = date(2026, 12, 1)


def test_generated_clinic_is_served(http: httpx.Client) -> None:
    clinic = synthetic_clinic(seed=11, patients=30)
    if clinic is None:
        pytest.skip("healthprep_desktop.sandbox.clinic is not installed yet")
    org = OrgConfig("gen", clients=demo_clients(), source=clinic)
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        token = login(http, server, scope="user/*.rs")
        base = server.base_url()
        schedule = http.get(
            f"{base}/Appointment",
            params={"date": DAY.isoformat(), "_include": "Appointment:patient", "_count": 500},
            headers=bearer(token),
        ).json()
        appointments = entries(schedule)
        assert appointments, "the generator scheduled nobody on a weekday"
        assert {r["id"] for r in appointments} == {a["id"] for a in clinic.schedule(DAY)}
        included = {r["id"] for r in entries(schedule, "include")}
        for appointment in appointments:
            validate(appointment)
            patients = [
                p["actor"]["reference"]
                for p in appointment["participant"]
                if p["actor"].get("reference", "").startswith("Patient/")
            ]
            assert patients and patients[0].split("/")[1] in included
        patient = next(iter(included))
        chart: list[dict[str, object]] = []
        url: str | None = f"{base}/Patient/{patient}/$everything"
        while url:
            page = http.get(url, headers=bearer(token)).json()
            chart += entries(page)
            url = next((lnk["url"] for lnk in page["link"] if lnk["relation"] == "next"), None)
        for resource in chart:
            validate(resource)
        # Documents behind Binary are readable as raw bytes.
        for doc in (r for r in chart if r["resourceType"] == "DocumentReference"):
            attachment = doc["content"][0]["attachment"]  # type: ignore[index]
            if str(attachment.get("url", "")).startswith("Binary/"):
                raw = http.get(f"{base}/{attachment['url']}", headers=bearer(token))
                assert raw.status_code == 200
                assert raw.headers["content-type"].split(";")[0] == attachment["contentType"]
                assert len(raw.content) > 0
