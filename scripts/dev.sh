#!/usr/bin/env bash
# One entry point for a fresh Debian machine (and for CI): installs what is missing, then
#   bash scripts/dev.sh run    -> the app (a window if there is a display, the demo batch if not)
#   bash scripts/dev.sh test   -> lint, type check and the whole test suite
# Idempotent: system packages are installed only when missing, the virtualenv (.venv/) only
# when pyproject.toml changed since the last install.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-run}
shift || true

SYSTEM_PACKAGES=(
  tesseract-ocr tesseract-ocr-eng   # OCR of scanned documents
  xvfb xauth                        # a real X server for window tests and screenshots
  gnome-keyring dbus                # a real Secret Service for the keyring integration test
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
  libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0   # Qt's xcb platform plugin
  libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core  # QtGui
  desktop-file-utils                # checks the Linux healthprep:// URL-scheme entry
)

log() { printf '[dev.sh] %s\n' "$*" >&2; }

install_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages (${missing[*]}) and no apt-get: install them with your package manager"
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  log "Python 3.11 to 3.13 is needed"
  exit 1
}

install_venv() {
  local stamp_value stamp_file=.venv/.installed
  stamp_value=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$(pick_python)" -m venv .venv
  fi
  if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp_value" ]; then
    log "installing the project and its test tools into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
    echo "$stamp_value" >"$stamp_file"
  fi
}

have_display() {
  [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]
}

install_system_packages
install_venv
export OMP_THREAD_LIMIT=${OMP_THREAD_LIMIT:-1}

case "$MODE" in
  run)
    if have_display; then
      exec .venv/bin/healthprep-desktop "$@"
    fi
    out="$ROOT/demo-output"
    log "no display: running the demo clinic day headless instead; sheets go to $out"
    exec .venv/bin/healthprep-desktop batch --demo --out "$out" --json "$out/results.json" "$@"
    ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    log "ruff"
    .venv/bin/ruff check healthprep_desktop tests bench
    .venv/bin/ruff format --check healthprep_desktop tests bench
    log "mypy"
    .venv/bin/mypy
    log "pytest"
    .venv/bin/python -m pytest "$@"
    ;;
  *)
    log "usage: bash scripts/dev.sh run|test [args...]"
    exit 2
    ;;
esac
