"""``healthprep-desktop sandbox --profile NAME``: the options and a real process serving one."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from healthprep_desktop.cli import build_parser
from healthprep_desktop.sandbox import SandboxConfig
from healthprep_desktop.sandbox.cli import build_config


def _config(*options: str) -> SandboxConfig:
    args = build_parser().parse_args(["sandbox", "--patients", "3", *options])
    return build_config(args)


def test_profile_sets_tokens_rate_limit_and_429_style() -> None:
    config = _config("--profile", "epic-like")
    assert config.profile == "epic-like"
    assert config.tokens.access_token_lifetime == 3600
    assert config.tokens.refresh_for_public_clients is False
    assert config.faults.rate_limit == 10.0
    oracle = _config("--profile", "oracle-like", "--rate-limit", "0", "--token-lifetime", "90")
    assert oracle.tokens.access_token_lifetime == 90
    assert oracle.faults.rate_limit is None
    generic = _config()
    assert generic.profile == "generic"
    assert generic.faults.rate_limit is None
    assert generic.tokens.access_token_lifetime == 3600


def test_unknown_profile_is_one_clear_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["sandbox", "--profile", "meditech"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'meditech'" in err and "us-core" in err and "epic-like" in err


def test_cli_serves_a_profile(synthea_dir: Path, tmp_path: Path) -> None:
    first = sorted(synthea_dir.glob("*.json"))[0]
    shutil.copy(first, tmp_path / first.name)
    command = [
        sys.executable,
        "-m",
        "healthprep_desktop",
        "sandbox",
        "--import",
        str(tmp_path),
        "--profile",
        "us-core",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True
        ).start()
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
            assert "Server profile: us-core" in text
            assert "Rate limit: 20 requests/s (429)" in text
            fhir = next(line.split()[-1] for line in banner if "FHIR base" in line)
            statement = httpx.get(f"{fhir}/metadata", timeout=10).json()
            patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
            assert "operation" not in patient
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                assert proc.wait(timeout=60) == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
