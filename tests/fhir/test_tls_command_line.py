"""The command line's TLS sentence names the certificate and why (issue 13 item 2): a batch
against an HTTPS server whose certificate a private CA issued, in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tls_support import tls_server

PASSPHRASE = "correct horse battery staple"


def test_batch_names_the_untrusted_certificate(tmp_path: Path, healthprep_home: Path) -> None:
    with tls_server(tmp_path, "localhost", common_name="ehr.clinic.local") as server:
        env = dict(os.environ, HEALTHPREP_HOME=str(healthprep_home), QT_QPA_PLATFORM="offscreen")
        env.pop("SSL_CERT_FILE", None)
        result = subprocess.run(
            [sys.executable, "-m", "healthprep_desktop", "batch", "--fhir-url", server.url,
             "--auth", "none", "--all-patients", "--passphrase-stdin"],
            input=PASSPHRASE + "\n", capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert (
        "The certificate of localhost (CN=ehr.clinic.local, issued by Clinic Root CA) is not "
        "trusted: add the clinic's CA file to this connection."
    ) in result.stderr, output
