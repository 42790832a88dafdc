#!/usr/bin/env bash
# Build the Linux one-folder bundle and its tarball, then smoke-test the result.
#
#   bash packaging/linux/build.sh
#
# Output: dist/healthprep-desktop/ and dist/healthprep-desktop-<version>-linux-<arch>.tar.gz.
# Needs: the project installed in .venv (bash scripts/dev.sh does it) or PYTHON pointing at an
# interpreter that has it; PyInstaller is installed from the 'packaging' extra when missing.
#
# Environment:
#   PYTHON=path                   interpreter with the project installed (default .venv/bin/python)
#   HEALTHPREP_BUNDLE_TESSERACT=1 also bundle the system tesseract (default: the bundle uses the
#                                 one on PATH, from the distribution's tesseract-ocr package)
#   SKIP_SMOKE=1                  build only
#   HEALTHPREP_DIST=dir           output folder (default dist/ in the checkout)
#   HEALTHPREP_WORK=dir           PyInstaller's work folder (default build/pyinstaller)
#
# Smoke tests (offscreen, throwaway HEALTHPREP_HOME): --version, --help, the hidden
# --bundle-check (Qt, SQLCipher, R4B models, PDF, loopback HTTP, process pool, tesseract),
# 'audit verify' and 'self-test' when those subcommands exist in this build.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
NAME=healthprep-desktop
DIST=${HEALTHPREP_DIST:-$ROOT/dist}
BUNDLE=$DIST/$NAME
WORK=${HEALTHPREP_WORK:-$ROOT/build/pyinstaller}

log() { printf '[build.sh] %s\n' "$*" >&2; }

[ -x "$PY" ] || { log "no interpreter at $PY; run 'bash scripts/dev.sh test' first or set PYTHON"; exit 1; }
if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
  log "installing PyInstaller (the 'packaging' extra)"
  "$PY" -m pip install -q --disable-pip-version-check -e ".[packaging]"
fi

VERSION=$("$PY" -c 'import healthprep_desktop as h; print(h.__version__)')
ARCH=$(uname -m)
TARBALL=$DIST/$NAME-$VERSION-linux-$ARCH.tar.gz

if [ "${HEALTHPREP_BUNDLE_TESSERACT:-0}" = "1" ]; then
  log "staging the system tesseract"
  "$PY" packaging/stage_tesseract.py --tesseract "$(command -v tesseract)" --stage "$ROOT/build/tesseract-stage"
  export HEALTHPREP_TESSERACT_STAGE=$ROOT/build/tesseract-stage
else
  unset HEALTHPREP_TESSERACT_STAGE
fi

start=$(date +%s)
log "PyInstaller $("$PY" -m PyInstaller --version) building $NAME $VERSION"
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/healthprep_desktop.spec
log "built in $(( $(date +%s) - start )) s"

# Every Qt library the kept plugins need must be inside the bundle (catches over-pruning in the
# spec). Missing system libraries (e.g. GTK for the gtk3 theme plugin) are only reported.
missing_qt=0
while IFS= read -r -d '' lib; do
  while IFS= read -r line; do
    case "$line" in
      *libQt6*"not found"*) log "MISSING Qt library for ${lib#"$BUNDLE"/}: $line"; missing_qt=1 ;;
    esac
  done < <(LD_LIBRARY_PATH="$BUNDLE/_internal" ldd "$lib" 2>/dev/null | grep "not found" || true)
done < <(find "$BUNDLE" -name '*.so*' -type f -print0)
[ "$missing_qt" = 0 ] || { log "the spec pruned a Qt library that a kept plugin needs"; exit 1; }

# The desktop entry (menu, healthprep:// scheme for EHR launches) and the script that registers
# it for the user who unpacks the tarball.
mkdir -p "$BUNDLE/share"
cp packaging/linux/healthprep-desktop.desktop packaging/linux/install-desktop-entry.sh "$BUNDLE/share/"
chmod 0755 "$BUNDLE/share/install-desktop-entry.sh"

log "bundle size: $(du -sh "$BUNDLE" | cut -f1) ($(du -sm "$BUNDLE" | cut -f1) MB)"
log "writing $TARBALL"
tar -C "$DIST" -czf "$TARBALL" "$NAME"
log "tarball size: $(du -sh "$TARBALL" | cut -f1)"

[ "${SKIP_SMOKE:-0}" = "1" ] && exit 0

SMOKE_HOME=$(mktemp -d)
trap 'rm -rf "$SMOKE_HOME"' EXIT
export HEALTHPREP_HOME=$SMOKE_HOME QT_QPA_PLATFORM=offscreen OMP_THREAD_LIMIT=1
EXE=$BUNDLE/$NAME

log "smoke: --version"; "$EXE" --version
log "smoke: --help"; HELP=$("$EXE" --help); echo "$HELP" | head -n 20
log "smoke: --bundle-check"; "$EXE" --bundle-check
if grep -q "audit" <<<"$HELP"; then
  # A passphrase-keyed store made by the development install (no keyring on a headless box),
  # with one audit entry; the bundle must open it and find the chain intact.
  log "smoke: audit verify"
  SMOKE_PASSPHRASE="packaging-smoke-$RANDOM$RANDOM"
  SMOKE_PASSPHRASE=$SMOKE_PASSPHRASE "$PY" - <<'PYEOF'
import os

from healthprep_desktop.store.audit import AuditAction, AuditEvent
from healthprep_desktop.store.store import Store

with Store.open(passphrase=os.environ["SMOKE_PASSPHRASE"], create=True) as store:
    store.audit.append(AuditEvent(AuditAction.SETTINGS_CHANGE, detail="packaging smoke test"))
PYEOF
  "$EXE" audit verify --passphrase-stdin <<<"$SMOKE_PASSPHRASE"
fi
if grep -q "self-test" <<<"$HELP"; then
  log "smoke: self-test"; "$EXE" self-test
else
  log "smoke: no self-test subcommand in this build yet; skipped"
fi
log "ok: $BUNDLE and $TARBALL"
