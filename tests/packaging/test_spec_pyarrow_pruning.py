"""The spec's pruning of pyarrow, checked without building a bundle.

The spec leaves out the pyarrow modules the Parquet export never imports (cloud file systems,
datasets, Acero, Substrait, CSV/JSON/Feather, encryption) and the libraries only those link.
These tests run the spec's own functions (taken from its source) on the installed pyarrow, and
run the export's writer with those modules made unimportable, as they are in the bundle: a
change to the writer that needs a dropped module fails here, not in a clinic.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "healthprep_desktop.spec"

# What the spec's pruning needs from its own source; the rest calls PyInstaller's build steps.
SPEC_NAMES = {
    "QT_EXCLUDES",
    "excludes",
    "QT_PLUGINS_KEPT",
    "QT_LIBS_DROPPED",
    "PYARROW_MODULES_DROPPED",
    "_plugin_kept",
    "keep_entry",
    "pyarrow_kept_libraries",
    "without_dangling_links",
    "_files",
}


def _spec_namespace() -> dict[str, Any]:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    picked: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names = {node.name}
        elif isinstance(node, ast.Assign):
            names = {target.id for target in node.targets if isinstance(target, ast.Name)}
        else:
            continue
        if names & SPEC_NAMES:
            picked.append(node)
    namespace: dict[str, Any] = {"os": os, "re": re, "posixpath": posixpath, "Path": Path}
    # The spec is a PyInstaller script, not a module: its pruning is run from its own source.
    code = compile(ast.Module(body=picked, type_ignores=[]), str(SPEC), "exec")
    exec(code, namespace)  # noqa: S102 - our own spec, as PyInstaller itself runs it
    missing = SPEC_NAMES - namespace.keys()
    assert not missing, f"the spec no longer defines {sorted(missing)}"
    return namespace


def _dropped_pyarrow_modules(spec: dict[str, Any]) -> list[str]:
    modules = [name for name in spec["excludes"] if name.startswith("pyarrow.")]
    modules += [f"pyarrow.{stem}" for stem in spec["PYARROW_MODULES_DROPPED"]]
    return sorted(set(modules))


def test_the_parquet_export_needs_none_of_the_dropped_pyarrow_modules(tmp_path: Path) -> None:
    # The bundle check's Parquet check is the app's writer (zstd, two row groups, every column
    # kind) read back with ParquetFile; here it runs with the dropped modules unimportable.
    blocked = _dropped_pyarrow_modules(_spec_namespace())
    assert "pyarrow._s3fs" in blocked and "pyarrow.dataset" in blocked
    code = (
        "import sys\n"
        "from importlib.abc import MetaPathFinder\n"
        f"BLOCKED = {blocked!r}\n"
        "class Pruned(MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if any(name == b or name.startswith(b + '.') for b in BLOCKED):\n"
        "            raise ImportError(f'{name} is not in the bundle')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Pruned())\n"
        f"sys.path.insert(0, {str(ROOT / 'packaging')!r})\n"
        "import bundle_check\n"
        "print(bundle_check.check_parquet())\n"
        "import pyarrow.fs\n"
        "print('not imported:', sorted(pyarrow.fs._not_imported))\n"
    )
    env = dict(os.environ, HEALTHPREP_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "rows in 2 row groups, ZSTD" in result.stdout
    # The blocker really ran: pyarrow.fs found none of the cloud file systems.
    assert "S3FileSystem" in result.stdout and "GcsFileSystem" in result.stdout


def test_the_blocker_fails_code_that_needs_a_dropped_module(tmp_path: Path) -> None:
    # The same harness fails a reader that needs pyarrow.dataset, so the test above can fail.
    # (pq.read_table of one file does not: without pyarrow.dataset it falls back to ParquetFile,
    # a configuration pyarrow supports; ParquetDataset has no fallback.)
    blocked = _dropped_pyarrow_modules(_spec_namespace())
    code = (
        "import sys\n"
        "from importlib.abc import MetaPathFinder\n"
        f"BLOCKED = {blocked!r}\n"
        "class Pruned(MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if any(name == b or name.startswith(b + '.') for b in BLOCKED):\n"
        "            raise ImportError(f'{name} is not in the bundle')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Pruned())\n"
        "import pyarrow as pa, pyarrow.parquet as pq\n"
        f"pq.write_table(pa.table({{'a': [1]}}), {str(tmp_path / 'x.parquet')!r})\n"
        f"assert pq.read_table({str(tmp_path / 'x.parquet')!r}).num_rows == 1\n"
        f"pq.ParquetDataset({str(tmp_path / 'x.parquet')!r})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "pyarrow.dataset is not in the bundle" in result.stderr


def _pyarrow_toc(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """pyarrow's shared objects as the PyInstaller hook collects them (collect_dynamic_libs and
    the extension modules of collect_submodules), after the spec's keep_entry."""
    import pyarrow

    folder = Path(pyarrow.__file__).parent
    entries = [
        (f"pyarrow/{path.name}", str(path), "EXTENSION" if ".cpython-" in path.name else "BINARY")
        for path in sorted(folder.iterdir())
        if path.is_file() and (path.suffix == ".so" or ".so." in path.name)
    ]
    return [entry for entry in entries if spec["keep_entry"](entry[0])]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF file names of the wheel")
def test_pyarrow_keeps_every_linked_library_and_no_unlinked_copy() -> None:
    pytest.importorskip("PyInstaller.depend.bindepend", reason="the spec links with PyInstaller")
    spec = _spec_namespace()
    toc = _pyarrow_toc(spec)
    kept = {Path(dest).name for dest, _src, _kind in spec["pyarrow_kept_libraries"](toc)}
    extensions = {name.split(".")[0] for name in kept if ".cpython-" in name}
    libraries = {re.sub(r"\.so.*", "", name) for name in kept if ".cpython-" not in name}
    # The export's path: lib, _fs (pyarrow.fs), _parquet; _compute stays (pyarrow's own Table
    # and Array methods import pyarrow.compute lazily).
    assert extensions == {"lib", "_fs", "_parquet", "_compute"}
    # lib.cpython*.so links all of these; none can go.
    assert libraries == {
        "libarrow",
        "libarrow_compute",
        "libarrow_acero",
        "libarrow_dataset",
        "libarrow_substrait",
        "libparquet",
        "libarrow_python",
    }
    # One name per library: the one the extensions' DT_NEEDED asks for.
    assert len([name for name in kept if name.startswith("libarrow_python")]) == 1
    assert not any("s3" in name or "flight" in name or "encryption" in name for name in kept)


def test_links_to_pruned_files_are_dropped_and_other_links_kept() -> None:
    spec = _spec_namespace()
    datas = [
        ("libarrow.so.2600", "pyarrow/libarrow.so.2600", "SYMLINK"),
        ("libarrow_s3.so.2600", "pyarrow/libarrow_s3.so.2600", "SYMLINK"),
        # A macOS framework links folders; those are no collected files and must stay.
        ("PySide6/Qt/lib/QtCore.framework/Versions/Current", "A", "SYMLINK"),
        ("healthprep_desktop/resources/x.json", "/src/x.json", "DATA"),
    ]
    collected = {"pyarrow/libarrow.so.2600", "pyarrow/libarrow_s3.so.2600", *spec["_files"](datas)}
    kept_files = {"pyarrow/libarrow.so.2600", "healthprep_desktop/resources/x.json"}
    kept = spec["without_dangling_links"](datas, collected - kept_files)
    assert [dest for dest, _src, _kind in kept] == [
        "libarrow.so.2600",
        "PySide6/Qt/lib/QtCore.framework/Versions/Current",
        "healthprep_desktop/resources/x.json",
    ]
