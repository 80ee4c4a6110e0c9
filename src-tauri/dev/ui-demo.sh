#!/bin/sh
# Seeds /tmp/ui-demo and runs the app under a virtual display; screenshots go to /tmp/shot*.png.
# Usage: src-tauri/dev/ui-demo.sh (after `cargo build -p renkei-desk --bins --examples`)
set -eu
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export RENKEI_DATA_DIR="${RENKEI_DATA_DIR:-/tmp/ui-demo}" RENKEI_KEY_FILE="${RENKEI_KEY_FILE:-/tmp/ui-demo.key}"
"$CARGO_TARGET_DIR/debug/examples/seed"
exec xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- sh -c 'echo "$DISPLAY" > /tmp/ui-demo.display; exec "$0"' "$CARGO_TARGET_DIR/debug/renkei-desk"
