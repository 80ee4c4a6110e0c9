#!/usr/bin/env bash
# End-to-end tests of the real app in a real webview (WebKitGTK) under Xvfb — issue 9.
#
#   scripts/e2e.sh                 build (debug), then run the whole suite
#   scripts/e2e.sh -k keyboard     extra arguments go to pytest
#   E2E_SKIP_BUILD=1 scripts/e2e.sh    reuse the binaries already in target/debug
#   E2E_SCREEN=1920x1080x24 scripts/e2e.sh -k views_fit   the virtual screen (default 1366x768x24)
#   E2E_PATHS=tests/e2e/bench_live.py scripts/e2e.sh      other test files (make bench runs its live part so)
#
# Needs the system packages of `scripts/install-system-deps.sh --test` (WebKitWebDriver, Xvfb,
# D-Bus, dunst) and python3 with venv. Installs what else is missing: tauri-driver 2.x (reused
# from PATH or $TAURI_DRIVER, else `cargo install` into target/tools) and selenium + pytest in
# .venv-e2e/. Screenshots of every test's end state: target/e2e-screenshots/. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARGO=${CARGO:-cargo}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET
VENV=$ROOT/.venv-e2e
REQ=$ROOT/tests/e2e/requirements.txt

say() { echo "e2e: $*" >&2; }
die() { say "$*"; exit 1; }

# ----- system packages (not installed here: needs root; see install-system-deps.sh --test) -----
for bin in WebKitWebDriver xvfb-run dbus-run-session dbus-monitor python3; do
  command -v "$bin" >/dev/null || die "$bin not found — run: scripts/install-system-deps.sh --test"
done

# ----- tauri-driver 2.x ------------------------------------------------------------------------
if [ -n "${TAURI_DRIVER:-}" ]; then
  [ -x "$TAURI_DRIVER" ] || die "TAURI_DRIVER=$TAURI_DRIVER is not executable"
elif command -v tauri-driver >/dev/null; then
  TAURI_DRIVER=$(command -v tauri-driver)
elif [ -x "$TARGET/tools/bin/tauri-driver" ]; then
  TAURI_DRIVER=$TARGET/tools/bin/tauri-driver
else
  say "installing tauri-driver 2.x into $TARGET/tools (~30 s)"
  "$CARGO" install tauri-driver --locked --version "^2" --root "$TARGET/tools" >&2
  TAURI_DRIVER=$TARGET/tools/bin/tauri-driver
fi
export TAURI_DRIVER

# ----- Python client (selenium + pytest) in .venv-e2e --------------------------------------------
stamp=$VENV/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "setting up $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed — install python3-venv (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
  echo "$want" > "$stamp"
fi

# ----- build (debug: the one profile cargo test uses too) -----------------------------------------
if [ -z "${E2E_SKIP_BUILD:-}" ]; then
  say "cargo build -p renkei-desk -p renkei-cli"
  "$CARGO" build -p renkei-desk -p renkei-cli >&2
fi
[ -x "$TARGET/debug/renkei-desk" ] || die "$TARGET/debug/renkei-desk missing"
[ -x "$TARGET/debug/renkei" ] || die "$TARGET/debug/renkei missing"

# ----- run -------------------------------------------------------------------------------------
SHOTS=$TARGET/e2e-screenshots
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
export RENKEI_E2E_SCREENSHOTS=$SHOTS
# Never set WEBKIT_DISABLE_COMPOSITING_MODE / WEBKIT_DISABLE_DMABUF_RENDERER: screenshots hang.
unset WEBKIT_DISABLE_COMPOSITING_MODE WEBKIT_DISABLE_DMABUF_RENDERER
# The suite gets its own X server and its own D-Bus session (notifications, single-instance).
unset DBUS_SESSION_BUS_ADDRESS
export NO_AT_BRIDGE=1  # no accessibility bus to start for every app launch
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
say "running the suite (screenshots: $SHOTS)"
start=$(date +%s)
set +e
xvfb-run -a -s "-screen 0 ${E2E_SCREEN:-1366x768x24}" \
  dbus-run-session -- \
  "$VENV/bin/python" -m pytest ${E2E_PATHS:-tests/e2e} -p no:cacheprovider -v -s --durations=0 \
    --junitxml="$TARGET/e2e-report.xml" "$@"
rc=$?
set -e
say "finished in $(( $(date +%s) - start )) s, exit $rc"
exit $rc
