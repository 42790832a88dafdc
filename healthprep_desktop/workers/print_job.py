"""Hand a finished PDF to the operating system's print system, as vector PDF.

- Linux and macOS: CUPS takes the PDF itself (``lp -d PRINTER [-o sides=...] FILE``); CUPS
  rasterises for the printer only if the printer needs it, on the print server, so the job is
  the PDF's size (a few MB for a clinic day) instead of hundreds of MB of page images.
- Windows: the PDF goes to the application registered for printing PDFs (``ShellExecute``
  "print", e.g. Edge or Acrobat), which sends vector output through the printer driver. To
  measure a job there, print to "Microsoft Print to PDF" and look at the file's size.

The PDF is written to a private file (0600 in a 0700 folder) that is removed once the print
system has taken it; the command line holds no patient data, only the file's path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from healthprep_desktop.paths import cache_dir
from healthprep_desktop.workers.private_files import make_private_dir, write_private_bytes

LP_TIMEOUT_S = 60.0


class PrintProblem(Exception):
    """The print system refused the job; the message is one sentence for the user."""


@dataclass(frozen=True, slots=True)
class Handed:
    command: str  # "lp", "shell"
    seconds: float
    bytes: int
    job: str  # what the print system answered ("request id is Office-12 (1 file(s))")


def lp_command() -> str | None:
    """CUPS's ``lp`` (HEALTHPREP_LP overrides it, e.g. a PDF printer stand-in in tests)."""
    override = os.environ.get("HEALTHPREP_LP")
    if override:
        return override
    return shutil.which("lp")


def send_pdf(
    pdf: bytes,
    *,
    printer: str | None = None,
    duplex: bool = False,
    copies: int = 1,
    title: str = "Pre-visit prep sheets",
    spool_dir: Path | None = None,
) -> Handed:
    """Give ``pdf`` to the system's print queue; raise PrintProblem when that is refused."""
    started = time.perf_counter()
    folder = spool_dir or cache_dir() / "print"  # the user's own cache, not a shared /tmp
    make_private_dir(folder)
    clean_old_spool(folder)  # what an earlier Windows hand-over left for its PDF application
    path = folder / f"print-{os.getpid()}-{time.monotonic_ns()}.pdf"
    write_private_bytes(path, pdf)
    try:
        if sys.platform == "win32" and not os.environ.get("HEALTHPREP_LP"):
            return _windows(path, started, len(pdf))
        lp = lp_command()
        if lp is None:
            raise PrintProblem(
                "No print system was found (CUPS's lp command is missing): install CUPS or "
                "save the PDF and print it from another program."
            )
        args = [lp, "-t", title, "-n", str(max(1, copies))]
        if printer:
            args += ["-d", printer]
        args += ["-o", "sides=two-sided-long-edge" if duplex else "sides=one-sided"]
        args.append(str(path))
        try:
            done = subprocess.run(
                args, capture_output=True, text=True, timeout=LP_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrintProblem(
                f"The print system did not take the job ({type(exc).__name__}): check that "
                "the printer is installed and try again."
            ) from None
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()
            said = f": {reason[-1][:160].rstrip('.')}" if reason else ""
            raise PrintProblem(f"The printer refused the job{said}.")
        return Handed("lp", time.perf_counter() - started, len(pdf), done.stdout.strip())
    finally:
        if not (sys.platform == "win32" and not os.environ.get("HEALTHPREP_LP")):
            with contextlib.suppress(OSError):
                path.unlink()


def _windows(path: Path, started: float, size: int) -> Handed:
    # The PDF application reads the file after ShellExecute returns: it is left for the
    # next run's clean-up (old files in the private folder), not removed here.
    try:
        os.startfile(str(path), "print")  # type: ignore[attr-defined, unused-ignore]  # noqa: S606
    except OSError:
        raise PrintProblem(
            "Windows has no program registered to print PDF files: install a PDF reader "
            "(Edge or Acrobat) or save the PDF and print it from there."
        ) from None
    return Handed("shell", time.perf_counter() - started, size, "")


def clean_old_spool(spool_dir: Path, older_than_s: float = 3600.0) -> int:
    """Remove print files an earlier run left behind (Windows hands files over by path)."""
    removed = 0
    now = time.time()
    for item in spool_dir.glob("print-*.pdf"):
        with contextlib.suppress(OSError):
            if now - item.stat().st_mtime > older_than_s:
                item.unlink()
                removed += 1
    return removed
