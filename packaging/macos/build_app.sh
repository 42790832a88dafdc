#!/usr/bin/env bash
# Build "HealthPrep Desktop.app" and its .dmg on macOS: bundle Tesseract, sign, smoke-test,
# notarize, staple.
#
#   bash packaging/macos/build_app.sh
#
# Output: dist/HealthPrep Desktop.app and dist/HealthPrep-Desktop-<version>-macos-<arch>.dmg.
# Needs: Xcode command line tools (codesign, xcrun notarytool/stapler, otool, hdiutil), Homebrew
# (tesseract is installed from it when missing), the project installed in .venv or PYTHON set.
#
# Signing and notarization (all optional; without an identity the app is ad-hoc signed and
# neither notarized nor stapled, fine for a local build, refused by Gatekeeper elsewhere):
#   MACOS_SIGN_IDENTITY     "Developer ID Application: <Company> (<TEAMID>)", in the keychain
#   MACOS_ENTITLEMENTS      entitlements plist (default packaging/macos/entitlements.plist)
#   MACOS_NOTARY_PROFILE    a notarytool keychain profile (xcrun notarytool store-credentials), or
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD   (an app-specific password)
#   MACOS_REQUIRE_SIGNING=1 fail instead of skipping when the identity or credentials are missing
# Other:
#   PYTHON=path             interpreter with the project installed (default .venv/bin/python)
#   SKIP_SMOKE=1            do not run the app's checks after the build
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
APP_NAME="HealthPrep Desktop"
EXE_NAME=healthprep-desktop
APP="$ROOT/dist/$APP_NAME.app"
STAGE="$ROOT/build/tesseract-stage"
export MACOS_ENTITLEMENTS=${MACOS_ENTITLEMENTS:-$ROOT/packaging/macos/entitlements.plist}

log() { printf '[build_app.sh] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(uname -s)" = Darwin ] || die "macOS only"
[ -x "$PY" ] || die "no interpreter at $PY; set PYTHON"
for tool in codesign xcrun otool hdiutil ditto /usr/libexec/PlistBuddy; do
  command -v "$tool" >/dev/null || die "missing $tool (install the Xcode command line tools)"
done
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install -q -e ".[packaging]"

VERSION=$("$PY" -c 'import healthprep_desktop as h; print(h.__version__)')
ARCH=$(uname -m)
DMG="$ROOT/dist/HealthPrep-Desktop-$VERSION-macos-$ARCH.dmg"

# --- Signing configuration ------------------------------------------------------------------
IDENTITY=${MACOS_SIGN_IDENTITY:-}
NOTARY_ARGS=()
if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
  NOTARY_ARGS=(--keychain-profile "$MACOS_NOTARY_PROFILE")
elif [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
  NOTARY_ARGS=(--apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD")
fi
if [ -z "$IDENTITY" ] || [ ${#NOTARY_ARGS[@]} -eq 0 ]; then
  [ "${MACOS_REQUIRE_SIGNING:-0}" = 1 ] && die "MACOS_SIGN_IDENTITY and notarization credentials are required"
  log "no signing identity or notarization credentials: building ad-hoc signed, not notarized"
fi

# --- Tesseract from Homebrew ------------------------------------------------------------------
command -v brew >/dev/null || die "Homebrew is needed for tesseract (https://brew.sh)"
brew list --formula tesseract >/dev/null 2>&1 || brew install tesseract
TESS_PREFIX=$(brew --prefix tesseract)
"$PY" packaging/stage_tesseract.py --tesseract "$TESS_PREFIX/bin/tesseract" \
  --tessdata "$TESS_PREFIX/share/tessdata" --stage "$STAGE"
export HEALTHPREP_TESSERACT_STAGE=$STAGE

# --- Build (PyInstaller signs every binary, then the bundle, with MACOS_SIGN_IDENTITY) ---------
log "building $APP_NAME $VERSION ($ARCH)"
rm -rf "$APP"
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/healthprep_desktop.spec
[ -d "$APP" ] || die "PyInstaller did not produce $APP"

# --- Relinking check: nothing may still load from Homebrew ----------------------------------
BREW_PREFIX=$(brew --prefix)
macho_files() {
  find "$APP/Contents" -type f \( -perm -u+x -o -name '*.dylib' -o -name '*.so' \) -print0 |
    while IFS= read -r -d '' f; do file -b "$f" | grep -q Mach-O && printf '%s\0' "$f"; done
}
leaks=0
while IFS= read -r -d '' f; do
  if otool -L "$f" | tail -n +2 | grep -q "$BREW_PREFIX"; then
    log "still linked to Homebrew: ${f#"$APP"/}"; otool -L "$f" | grep "$BREW_PREFIX" >&2; leaks=1
  fi
done < <(macho_files)
[ "$leaks" = 0 ] || die "bundled binaries reference $BREW_PREFIX; relinking failed"

# --- Minimum macOS: the newest any bundled binary was built for -------------------------------
# Homebrew bottles target the runner's macOS, so bundling them can raise the real minimum.
PLIST="$APP/Contents/Info.plist"
declared=$(/usr/libexec/PlistBuddy -c 'Print :LSMinimumSystemVersion' "$PLIST")
needed=$declared
while IFS= read -r -d '' f; do
  for v in $(otool -l "$f" | awk '/LC_BUILD_VERSION/{b=1} b&&$1=="minos"{print $2; b=0}
                                 /LC_VERSION_MIN_MACOSX/{m=1} m&&$1=="version"{print $2; m=0}'); do
    needed=$(printf '%s\n%s\n' "$needed" "$v" | sort -V | tail -n 1)
  done
done < <(macho_files)
if [ "$needed" != "$declared" ]; then
  log "bundled binaries need macOS $needed (Info.plist said $declared); raising LSMinimumSystemVersion"
  /usr/libexec/PlistBuddy -c "Set :LSMinimumSystemVersion $needed" "$PLIST"
  # Info.plist is sealed by the outer signature only; re-sign the bundle itself (not --deep:
  # the nested code keeps the signatures PyInstaller gave it).
  codesign --force --sign "${IDENTITY:--}" ${IDENTITY:+--options runtime --timestamp} \
    --entitlements "$MACOS_ENTITLEMENTS" "$APP"
fi
codesign --verify --deep --strict --verbose=2 "$APP"

# --- Smoke run of the signed app ----------------------------------------------------------
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
  SMOKE_HOME=$(mktemp -d)
  trap 'rm -rf "$SMOKE_HOME"' EXIT
  EXE="$APP/Contents/MacOS/$EXE_NAME"
  export HEALTHPREP_HOME=$SMOKE_HOME QT_QPA_PLATFORM=offscreen
  "$EXE" --version
  "$EXE" --bundle-check --require-ocr
  HELP=$("$EXE" --help)
  if grep -q "self-test" <<<"$HELP"; then
    "$EXE" self-test
  else
    log "no self-test subcommand in this build yet; skipped"
  fi
  unset HEALTHPREP_HOME QT_QPA_PLATFORM
fi

# --- Notarize and staple ----------------------------------------------------------------------
notarize() {  # $1: file to submit (.zip or .dmg)
  local out status id
  out=$(xcrun notarytool submit "$1" "${NOTARY_ARGS[@]}" --wait --output-format json)
  status=$("$PY" -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' <<<"$out")
  id=$("$PY" -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' <<<"$out")
  if [ "$status" != Accepted ]; then
    log "notarization of $(basename "$1") ended with status '$status'"
    [ -n "$id" ] && xcrun notarytool log "$id" "${NOTARY_ARGS[@]}" >&2
    exit 1
  fi
  log "notarized $(basename "$1") (submission $id)"
}
SIGNED=0
if [ -n "$IDENTITY" ] && [ ${#NOTARY_ARGS[@]} -gt 0 ]; then
  SIGNED=1
  ZIP="$ROOT/build/$EXE_NAME-notarize.zip"
  ditto -c -k --sequesterRsrc --keepParent "$APP" "$ZIP"
  notarize "$ZIP"
  xcrun stapler staple "$APP"
  xcrun stapler validate "$APP"
  spctl --assess --type execute --verbose=2 "$APP"
fi

# --- Disk image with an Applications link --------------------------------------------------
DMG_ROOT="$ROOT/build/dmg"
rm -rf "$DMG_ROOT" "$DMG"
mkdir -p "$DMG_ROOT"
ditto "$APP" "$DMG_ROOT/$APP_NAME.app"
ln -s /Applications "$DMG_ROOT/Applications"
hdiutil create -volname "$APP_NAME" -srcfolder "$DMG_ROOT" -fs HFS+ -format UDZO -ov "$DMG"
if [ "$SIGNED" = 1 ]; then
  codesign --force --sign "$IDENTITY" --timestamp "$DMG"
  notarize "$DMG"
  xcrun stapler staple "$DMG"
  xcrun stapler validate "$DMG"
fi
log "app: $(du -sh "$APP" | cut -f1), dmg: $(du -sh "$DMG" | cut -f1) -> $DMG"
