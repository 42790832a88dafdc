"""Static checks of the installer sources in packaging/ (fast, standard library only).

PyInstaller, Inno Setup, Xcode and PowerShell are not needed: these tests read the files and
check what each build tool would otherwise only find out on its own runner.
"""

from __future__ import annotations

import ast
import importlib.util
import plistlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "healthprep_desktop.spec"
ISS = PACKAGING / "windows" / "healthprep.iss"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"
ENTITLEMENTS = PACKAGING / "macos" / "entitlements.plist"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", re.IGNORECASE)

# Text that marks an unfinished script. Signing identities come from environment variables, so
# not even they appear as placeholders in the files.
PLACEHOLDER = re.compile(
    r"\b(TODO|FIXME|XXX|TBD|CHANGEME|CHANGE_ME|REPLACE_ME)\b|YOUR[_ ]|<(?:your|insert)[^>]*>",
    re.IGNORECASE,
)


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _called_names(tree: ast.Module) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _string_constants(tree: ast.Module) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


# --- PyInstaller spec ------------------------------------------------------------------------


def test_spec_is_python_with_the_build_steps() -> None:
    calls = _called_names(_spec_tree())
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls


def test_spec_refers_only_to_files_that_exist() -> None:
    text = SPEC.read_text(encoding="utf-8")
    referenced = re.findall(r'SPEC_DIR / "([^"]+)"(?: / "([^"]+)")?(?: / "([^"]+)")?', text)
    assert referenced, "the spec names no files beside it"
    for parts in referenced:
        path = PACKAGING.joinpath(*[part for part in parts if part])
        assert path.exists(), f"spec refers to missing {path.relative_to(ROOT)}"
    assert (ROOT / "resources").is_dir()


def test_spec_bundles_resources_where_paths_looks_for_them(tmp_path: Path) -> None:
    # The spec puts resources/ at <bundle>/healthprep_desktop/resources; a copy of paths.py
    # placed in such a layout must resolve resources_dir() to exactly that folder.
    assert "healthprep_desktop/resources" in _string_constants(_spec_tree())
    package = tmp_path / "healthprep_desktop"
    (package / "resources").mkdir(parents=True)
    source = ROOT / "healthprep_desktop" / "paths.py"
    (package / "paths.py").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("frozen_layout_paths", package / "paths.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.resources_dir() == (package / "resources").resolve()


def test_spec_collects_dynamic_imports_and_excludes_unused_qt() -> None:
    tree = _spec_tree()
    collected = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "collect_submodules"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert {"healthprep_desktop", "fhir.resources.R4B", "keyring.backends", "uvicorn"} <= collected
    strings = _string_constants(tree)
    for module in ("QtWebEngineCore", "QtQml", "QtQuick", "QtDesigner"):
        assert module in strings, f"{module} is not excluded"
    for plugin in ("qoffscreen", "qxcb", "qwindows", "qcocoa"):
        assert plugin in strings, f"platform plugin {plugin} is not kept"


def test_spec_reads_the_version_the_package_declares() -> None:
    # The spec reads __version__ as text (it imports nothing); a change in how the package
    # declares it must not silently break the installers' version info.
    import healthprep_desktop

    text = SPEC.read_text(encoding="utf-8")
    pattern = re.search(r"re\.search\(r'(.+?)', text, re\.MULTILINE\)", text)
    assert pattern is not None, "the spec no longer reads __version__ with re.search"
    init = (ROOT / "healthprep_desktop" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(pattern.group(1), init, re.MULTILINE)
    assert match is not None and match.group(1) == healthprep_desktop.__version__


def test_pyinstaller_comes_from_the_packaging_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["packaging"]
    assert any(requirement.lower().startswith("pyinstaller") for requirement in extra)
    assert not any("pyinstaller" in r.lower() for r in project["optional-dependencies"]["test"])


# --- Windows installer -------------------------------------------------------------------------


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = header.group(1)
            sections.setdefault(current, [])
        else:
            sections[current].append(line)
    return sections


def _iss_setup() -> dict[str, str]:
    # Lines starting with "#" are preprocessor directives (#ifdef SignInstaller ...).
    pairs = [line.split("=", 1) for line in _iss_sections()["Setup"] if not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_iss_has_a_fixed_app_id_and_version_info() -> None:
    setup = _iss_setup()
    app_id = setup["AppId"]
    assert app_id.startswith("{{") and app_id.endswith("}"), "AppId braces must be escaped"
    assert GUID.fullmatch(app_id[2:-1])
    for key in ("AppVersion", "VersionInfoVersion", "VersionInfoProductVersion"):
        assert "{#" in setup[key], f"{key} must come from the build's version"
    assert setup["PrivilegesRequired"] == "admin"  # per machine
    assert setup["DefaultDirName"].startswith("{autopf}")
    assert setup["UsePreviousAppDir"] == "yes"


def test_iss_has_shortcuts_uninstaller_and_keeps_user_data() -> None:
    sections = _iss_sections()
    icons = " ".join(sections["Icons"])
    assert "{autoprograms}" in icons and "{autodesktop}" in icons
    tasks = " ".join(sections["Tasks"])
    assert "desktopicon" in tasks and "unchecked" in tasks
    assert "UninstallDisplayName" in _iss_setup()
    assert sections["UninstallDelete"], "no [UninstallDelete] entries"
    for line in sections["InstallDelete"] + sections["UninstallDelete"]:
        # Only the install folder; never the per-user data folders.
        assert "{app}" in line and not re.search(r"\{(local|user)appdata\}", line)
    assert "runasoriginaluser" in " ".join(sections["Run"])


def test_installer_test_expects_the_same_app_id() -> None:
    app_id = _iss_setup()["AppId"][2:-1]
    script = (PACKAGING / "windows" / "test_installer.ps1").read_text(encoding="utf-8")
    assert f"{{{app_id}}}_is1" in script


# --- macOS --------------------------------------------------------------------------------------


def test_info_plist_is_valid_with_required_keys() -> None:
    with INFO_PLIST.open("rb") as handle:
        info = plistlib.load(handle)
    assert re.fullmatch(r"[a-z]+(\.[a-z0-9-]+){2,}", info["CFBundleIdentifier"])
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", info["LSMinimumSystemVersion"])
    assert info["NSHighResolutionCapable"] is True
    assert info["NSRequiresAquaSystemAppearance"] is False  # follow dark mode
    for key in ("CFBundleShortVersionString", "CFBundleVersion", "CFBundleName"):
        assert isinstance(info[key], str) and info[key]
    spec = SPEC.read_text(encoding="utf-8")
    assert 'info_plist["CFBundleShortVersionString"] = VERSION' in spec


def test_entitlements_are_hardened_runtime_exceptions_only() -> None:
    with ENTITLEMENTS.open("rb") as handle:
        entitlements = plistlib.load(handle)
    assert entitlements, "empty entitlements"
    assert all(key.startswith("com.apple.security.cs.") for key in entitlements)
    assert "com.apple.security.cs.disable-library-validation" not in entitlements


# --- Scripts and workflow ------------------------------------------------------------------


def _workflow_matrix_oses(text: str) -> list[str]:
    """The ``os:`` values of the matrix (a tiny parser: there is no YAML package here)."""
    return re.findall(r"^\s*-?\s*os:\s*([\w.-]+)\s*$", text, re.MULTILINE)


def test_workflow_builds_on_the_three_platforms() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "\t" not in text, "YAML forbids tabs"
    assert sorted(_workflow_matrix_oses(text)) == [
        "macos-latest",
        "ubuntu-latest",
        "windows-latest",
    ]
    assert "runs-on: ${{ matrix.os }}" in text
    assert "actions/upload-artifact@" in text
    for script in re.findall(r"packaging/[\w/.-]+\.(?:sh|ps1)", text):
        assert (ROOT / script).is_file(), f"workflow runs missing {script}"
    for script in (
        "packaging/linux/build.sh",
        "packaging/windows/build.ps1",
        "packaging/macos/build_app.sh",
        "packaging/windows/test_installer.ps1",
    ):
        assert script in text


@pytest.mark.skipif(sys.platform == "win32", reason="bash may be WSL's launcher on Windows")
@pytest.mark.parametrize(
    "script", ["packaging/linux/build.sh", "packaging/macos/build_app.sh"], ids=lambda s: s
)
def test_shell_scripts_parse_and_stop_on_errors(script: str) -> None:
    path = ROOT / script
    assert "set -euo pipefail" in path.read_text(encoding="utf-8")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_build_script_smoke_tests_the_bundle() -> None:
    for script in ("linux/build.sh", "macos/build_app.sh", "windows/build.ps1"):
        text = (PACKAGING / script).read_text(encoding="utf-8")
        assert "--bundle-check" in text and "self-test" in text, script


def test_no_placeholders_in_packaging_sources() -> None:
    sources = [
        path
        for path in [*PACKAGING.rglob("*"), WORKFLOW]
        if path.is_file()
        and path.suffix in {".spec", ".iss", ".plist", ".sh", ".ps1", ".py", ".yml", ".md"}
    ]
    assert len(sources) >= 10
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not PLACEHOLDER.search(line), (
                f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            )


def test_python_sources_in_packaging_compile() -> None:
    for path in PACKAGING.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    assert sys.version_info >= (3, 11)
