#!/usr/bin/env bash
# Register the unpacked Linux bundle with the desktop for the current user: the menu entry and
# the healthprep:// URL scheme (an EHR launch, healthprep://launch?iss=...&launch=..., then
# opens the app on the launched patient).
#
#   bash healthprep-desktop/share/install-desktop-entry.sh     (from the unpacked tarball)
#
# It writes ~/.local/share/applications/healthprep-desktop.desktop with Exec pointing at this
# bundle (the address is passed as one argument, %u, never through a shell) and makes it the
# x-scheme-handler/healthprep default. Nothing is written outside the user's own folders.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUNDLE=$(cd "$HERE/.." && pwd)
EXE=$BUNDLE/healthprep-desktop
[ -x "$EXE" ] || { echo "no executable at $EXE: run this from the unpacked bundle" >&2; exit 1; }
APPS=${XDG_DATA_HOME:-$HOME/.local/share}/applications
mkdir -p "$APPS"
# Exec and TryExec take the bundle's absolute path; a path with spaces is quoted per the spec.
sed -e "s|^Exec=.*|Exec=\"$EXE\" %u|" -e "s|^TryExec=.*|TryExec=$EXE|" \
  "$HERE/healthprep-desktop.desktop" >"$APPS/healthprep-desktop.desktop"
chmod 0644 "$APPS/healthprep-desktop.desktop"
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database "$APPS" || true
fi
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default healthprep-desktop.desktop x-scheme-handler/healthprep
fi
echo "Registered healthprep:// for $EXE"
