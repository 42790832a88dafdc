"""Peak memory of document extraction for each file of the hostile corpus.

Run: .venv/bin/python bench/hostile.py
Target (issue 12): under 500 MB of peak memory growth for any single document.
Each document is extracted (OCR on, default limits) in a fresh interpreter, and the growth of
its peak resident set (VmHWM on Linux, ru_maxrss elsewhere) over the baseline taken after the
imports is printed, with the time and the warning. Tesseract runs as a child process: its own
memory is not in these figures. Prints figures; asserts nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 500

_CHILD = """
import resource, sys, time
from pathlib import Path
import pymupdf, PIL.TiffImagePlugin, PIL.PngImagePlugin
from healthprep_desktop.screening.documents import extract_text

def peak_mb():
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024 / 1024

data = Path(sys.argv[1]).read_bytes()
base = peak_mb()
started = time.monotonic()
doc = extract_text("DocumentReference/bench", "bench", None, sys.argv[2], data)
print(f"{peak_mb() - base:.0f}|{time.monotonic() - started:.1f}|{doc.warning}")
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.screening.hostile_corpus import CORPUS, big_frames_tiff

    cases = {name: (build, ctype) for name, (build, ctype, _) in CORPUS.items()}
    cases["tiff-6x9000px-rgb"] = (big_frames_tiff, "image/tiff")
    worst = 0.0
    print(f"{'document':<24} {'size':>10} {'peak +MB':>9} {'seconds':>8}  warning")
    with tempfile.TemporaryDirectory() as folder:
        for name, (build, content_type) in cases.items():
            path = Path(folder) / name
            path.write_bytes(build())
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path), content_type],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                print(f"{name:<24} failed after {time.monotonic() - started:.1f} s")
                print(done.stderr[-1500:])
                continue
            growth, seconds, warning = done.stdout.strip().split("|", 2)
            worst = max(worst, float(growth))
            size = path.stat().st_size
            print(f"{name:<24} {size:>10,} {growth:>9} {seconds:>8}  {warning}")
    verdict = "meets" if worst < TARGET_MB else "MISSES"
    print(f"worst peak growth {worst:.0f} MB: {verdict} the {TARGET_MB} MB target")


if __name__ == "__main__":
    main()
