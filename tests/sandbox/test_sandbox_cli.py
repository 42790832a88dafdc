"""``healthprep-desktop sandbox`` as a user runs it: a real process, stopped with Ctrl-C."""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx
from sandbox_smart import bearer, pkce

from healthprep_desktop.cli import build_parser
from healthprep_desktop.sandbox.cli import synthetic_clinic


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line)


def test_cli_serves_imported_bundles_until_ctrl_c(synthea_dir: Path, tmp_path: Path) -> None:
    living = 0
    for file in sorted(synthea_dir.glob("*.json"))[:3]:
        shutil.copy(file, tmp_path / file.name)
        patient = json.loads(file.read_text(encoding="utf-8"))["entry"][0]["resource"]
        living += not (patient.get("deceasedDateTime") or patient.get("deceasedBoolean"))
    command = [
        sys.executable,
        "-m",
        "healthprep_desktop",
        "sandbox",
        "--import",
        str(tmp_path),
        "--date",
        "2026-12-01",
        "--org",
        "east",
        "--token-lifetime",
        "120",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        code = _drive(proc, living)
    assert code == 0


def _drive(proc: subprocess.Popen[str], living: int) -> int:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        banner: list[str] = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("Approval:") for line in banner):
            assert time.monotonic() < deadline, "".join(banner)
            try:
                banner.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, "the sandbox exited early"
        text = "".join(banner)
        base = re.search(r"FHIR base\s+(\S+)", text)
        assert base is not None, text
        assert "healthprep-desktop" in text and "sandbox-secret-basic" in text
        assert "3 patients" in text and f"{living} appointments on 2026-12-01" in text
        fhir = base.group(1)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/org/east/fhir", fhir)

        with httpx.Client(timeout=10) as http:
            smart = http.get(f"{fhir}/.well-known/smart-configuration").json()
            verifier, challenge = pkce()
            redirect = http.get(
                smart["authorization_endpoint"],
                params={
                    "response_type": "code",
                    "client_id": "healthprep-desktop",
                    "redirect_uri": "http://127.0.0.1:8765/callback",
                    "scope": "user/*.rs",
                    "state": "s",
                    "aud": fhir,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            auth_code = httpx.URL(redirect.headers["location"]).params["code"]
            token = http.post(
                smart["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": auth_code,
                    "redirect_uri": "http://127.0.0.1:8765/callback",
                    "client_id": "healthprep-desktop",
                    "code_verifier": verifier,
                },
            ).json()
            assert token["expires_in"] == 120
            day = http.get(
                f"{fhir}/Appointment", params={"date": "2026-12-01"}, headers=bearer(token)
            )
            assert day.json()["total"] == living
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            returncode = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return returncode


def test_cli_help_lists_the_options() -> None:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.choices)  # type: ignore[union-attr]
    help_text = sub.choices["sandbox"].format_help()  # type: ignore[index]
    for option in (
        "--patients",
        "--date",
        "--port",
        "--latency-ms",
        "--rate-limit",
        "--seed",
        "--import",
    ):
        assert option in help_text


def test_synthetic_clinic_plugs_in_when_present() -> None:
    clinic = synthetic_clinic(1, 3)
    if clinic is None:  # the generator is not installed: the CLI asks for --import
        return
    resources = list(clinic.resources())
    assert sum(r["resourceType"] == "Patient" for r in resources) == 3
    assert isinstance(clinic.schedule(date(2026, 12, 1)), list)
