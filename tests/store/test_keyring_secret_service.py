"""The database key in a real Secret Service: gnome-keyring under its own dbus session.

Everything runs in a child process with its own HOME and XDG directories, so the machine's real
keyring is never touched. Skips only when dbus-run-session or gnome-keyring-daemon is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.keyring_integration

# Run twice in one dbus session: "create" makes the store (key into the Secret Service), then
# "reopen" opens it from a fresh process with the key read back from the Secret Service.
CHILD = r"""
import json, sys
import keyring
from keyring.backends import SecretService
from healthprep_desktop.store import Store
from healthprep_desktop.store.keys import KEYRING_SERVICE, keyring_username, usable_keyring

backend = SecretService.Keyring()
keyring.set_keyring(backend)
usable_keyring()
phase = sys.argv[1]
with Store.open() as store:
    if phase == "create":
        tenant = store.tenant(store.create_tenant("Clinic", tenant_id="c1").id)
        connection = tenant.connections.add("Epic", "epic", "https://ehr/fhir")
        tenant.secrets.put(connection.id, "refresh_token", "tok-integration")
    tenant = store.tenant("c1")
    key = backend.get_password(KEYRING_SERVICE, keyring_username(store.path))
    print(json.dumps({
        "phase": phase,
        "backend": type(keyring.get_keyring()).__module__,
        "key_len": len(key or ""),
        "key": key,
        "secret": tenant.secrets.get(tenant.connections.all()[0].id, "refresh_token"),
        "chain_ok": store.audit.verify().ok,
    }))
"""


def test_store_key_lives_in_a_real_secret_service(tmp_path: Path) -> None:
    missing = [t for t in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (Debian: dbus, gnome-keyring)")
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    home = tmp_path / "home"
    runtime = tmp_path / "runtime"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "HEALTHPREP_HOME": str(tmp_path / "healthprep"),
    }
    python = sys.executable
    command = (
        "echo -n integration-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
        f" && {python} {script} create && {python} {script} reopen"
    )
    result = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["phase"] for line in lines] == ["create", "reopen"]
    for line in lines:
        assert line["backend"] == "keyring.backends.SecretService"
        assert line["key_len"] == 64
        assert line["secret"] == "tok-integration"
        assert line["chain_ok"]
    assert lines[0]["key"] == lines[1]["key"]
    # gnome-keyring keeps its collection encrypted on disk: the raw key is not in plain bytes.
    key = lines[0]["key"].encode()
    stored = [p for p in (home / "data").rglob("*") if p.is_file()]
    assert stored, "gnome-keyring wrote no keyring file"
    assert all(key not in p.read_bytes() for p in stored)
