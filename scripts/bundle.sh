#!/usr/bin/env bash
# Builds the Linux installer (.deb) of Renkei Desk with the Tauri CLI 2.x.
# Installs the CLI into target/tools once (~8 min); AppImage/NSIS need downloads from github.com
# and are not built here. Windows installers (MSI/NSIS) are built on Windows (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
say() { echo "bundle: $*" >&2; }

if command -v cargo-tauri >/dev/null; then
  TAURI=(cargo-tauri)
elif [ -x "$TARGET/tools/bin/cargo-tauri" ]; then
  TAURI=("$TARGET/tools/bin/cargo-tauri")
else
  say "installing the Tauri CLI 2.x into $TARGET/tools (once, ~8 min)"
  "$CARGO" install tauri-cli --locked --version "^2" --root "$TARGET/tools" >&2
  TAURI=("$TARGET/tools/bin/cargo-tauri")
fi
say "$("${TAURI[@]}" --version)"
# The headless `renkei` command ships in the same package (key export, staff PIN recovery,
# backups, `renkei serve`): build it first and map it to /usr/bin/renkei.
"$CARGO" build --release -p renkei-cli >&2
extra=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/renkei":"%s"}}}}}' "$TARGET/release/renkei")
cd src-tauri
"${TAURI[@]}" build --bundles deb --config "$extra" "$@"
deb=$(ls -t "$TARGET"/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  echo "error: no .deb was produced; see the output above" >&2
  exit 1
fi
dpkg-deb -c "$deb" | grep "usr/bin/renkei$" >/dev/null || { echo "error: $deb lacks /usr/bin/renkei" >&2; exit 1; }
say "installer: $deb ($(du -h "$deb" | cut -f1)): /usr/bin/renkei-desk, /usr/bin/renkei"
../scripts/deb-smoke.sh "$deb"
