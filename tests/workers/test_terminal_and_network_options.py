"""The terminal's "waiting for the server (N s)" line, and ``connection add --ca-file/--proxy``
through the real entry point and the real encrypted store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.workers.events import JobPhase, JobProgress
from healthprep_desktop.workers.terminal import TerminalProgress


def _progress() -> JobProgress:
    return JobProgress("1", JobPhase.PATIENTS, 10, 3, 0, 0, 2, 6.0, 70.0)


def test_a_log_gets_one_line_at_5_s_and_every_10_s_after() -> None:
    out = io.StringIO()
    terminal = TerminalProgress(out, interactive=False)
    for second in (1, 4, 5, 6, 9, 10, 11, 19, 20):
        terminal.waiting(float(second))
    terminal.waiting(0.0)  # answered
    terminal.waiting(7.0)  # the next slow request
    lines = [line for line in out.getvalue().splitlines() if line.startswith("waiting")]
    assert lines == [
        "waiting for the server (5 s)",
        "waiting for the server (10 s)",
        "waiting for the server (20 s)",
        "waiting for the server (7 s)",
    ]


def test_a_terminal_shows_the_wait_after_the_bar_and_clears_it() -> None:
    out = io.StringIO()
    terminal = TerminalProgress(out, interactive=True)
    terminal(_progress())
    terminal.waiting(12.0)
    shown = out.getvalue().rsplit("\r", 1)[-1]
    assert shown.startswith("[") and shown.rstrip().endswith("  waiting for the server (12 s)")
    terminal.waiting(0.0)
    assert "waiting" not in out.getvalue().rsplit("\r", 1)[-1]
    terminal.close()
    terminal.waiting(30.0)  # after the run: nothing more is drawn
    assert out.getvalue().endswith("\n")


def test_connection_add_takes_a_ca_file_and_a_proxy(
    tmp_path: Path, healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["connection", "add", "--tenant", "Clinic", "--name", "EHR", "--auth", "none"]
    url = ["--base-url", "https://ehr.example.org/fhir/R4"]
    missing = tmp_path / "nowhere.pem"
    assert main([*base, *url, "--ca-file", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"The CA file {missing} cannot be found: choose the clinic's CA certificate file again."
    )
    assert main([*base, *url, "--proxy", "http://proxy.clinic.local/proxy.pac"]) == 2
    assert "(PAC) file cannot be used here" in capsys.readouterr().err
    import trustme

    ca_file = tmp_path / "clinic-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    proxy = "http://proxy.clinic.local:3128"
    assert main([*base, *url, "--ca-file", str(ca_file), "--proxy", proxy]) == 0
    capsys.readouterr()
    assert main(["connection", "show", "--tenant", "Clinic", "--connection", "EHR"]) == 0
    shown = capsys.readouterr().out
    assert f"Trust: the system's trust store and {ca_file}" in shown
    assert f"Proxy: {proxy}" in shown
