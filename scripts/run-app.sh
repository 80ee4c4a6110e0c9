#!/usr/bin/env bash
# Opens Renkei Desk. On the first run (no store yet) it creates the store and loads demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
RENKEI="$TARGET_DIR/debug/renkei"
APP="$TARGET_DIR/debug/renkei-desk"
DATA_ARGS=()
[ -n "${RENKEI_DATA_DIR:-}" ] && DATA_ARGS=(--data-dir "$RENKEI_DATA_DIR")
data_dir="${RENKEI_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/renkei-desk}"
if [ ! -f "$data_dir/renkei.db" ]; then
  echo "first run: creating the store in $data_dir and loading demo data"
  "$RENKEI" "${DATA_ARGS[@]}" init
  "$RENKEI" "${DATA_ARGS[@]}" demo
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: starting under a virtual display (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- "$APP"
fi
exec "$APP"
