#!/usr/bin/env bash
# Proves a built .deb installs and starts (issue 23), without touching the machine's /usr:
# unpacks it with `dpkg-deb -x` into a temp root and checks what a clinic PC would meet —
# both binaries and the menu entry are there, every shared library resolves, the packaged
# `renkei` makes a store and lists its queue, and the packaged `renkei-desk` opens its window
# (under Xvfb when there is no display). Run by scripts/bundle.sh after the build.
#
#   scripts/deb-smoke.sh [FILE.deb]     (default: the newest target/release/bundle/deb/*.deb)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
deb=${1:-$(ls -t "$TARGET"/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "deb-smoke: no .deb given or found — run make bundle" >&2; exit 1; }
say() { echo "deb-smoke: $*" >&2; }
fail() { echo "deb-smoke: FAILED: $*" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root/fs"
say "$(basename "$deb"): $(du -h "$deb" | cut -f1), $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"

for f in usr/bin/renkei-desk usr/bin/renkei; do
  [ -x "$root/fs/$f" ] || fail "/$f missing or not executable"
done
desktop=$(find "$root/fs/usr/share/applications" -name '*.desktop' | head -1)
[ -n "$desktop" ] || fail "no .desktop menu entry"
grep -q '^Exec=renkei-desk' "$desktop" || fail "$desktop does not start renkei-desk"
ls "$root"/fs/usr/share/icons/hicolor/*/apps/*.png >/dev/null 2>&1 || fail "no icons"

# Every declared dependency is a real package here, and nothing the binaries link is missing.
for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//' | xargs); do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || fail "dependency $dep is not installed here"
done
for b in renkei-desk renkei; do
  missing=$(ldd "$root/fs/usr/bin/$b" | grep "not found" || true)
  [ -z "$missing" ] || fail "$b: libraries not found: $missing"
done

v=$("$root/fs/usr/bin/renkei" --version) || fail "renkei --version"
vd=$("$root/fs/usr/bin/renkei-desk" --version) || fail "renkei-desk --version"
"$root/fs/usr/bin/renkei" --help | grep -q "serve" || fail "renkei --help lacks serve"
"$root/fs/usr/bin/renkei-desk" --help | grep -q -- "--autostart" || fail "renkei-desk --help"
say "$v; $vd"

# The packaged CLI makes an encrypted store with demo data and reads it back.
export RENKEI_DATA_DIR="$root/data" RENKEI_KEY_FILE="$root/key" RENKEI_KEYRING=off
"$root/fs/usr/bin/renkei" demo >/dev/null || fail "renkei demo"
n=$("$root/fs/usr/bin/renkei" queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" -gt 0 ] || fail "renkei queue is empty after renkei demo"
say "packaged renkei: demo store with $n open items"

# The packaged app opens its window on that store (a script of its own, so it runs the same
# under xvfb-run as on a real display; its last line is the result, checked below).
mkdir -p "$root/home"
cat > "$root/run-app.sh" <<'APP'
#!/usr/bin/env bash
set -u
root=$1
HOME="$root/home" XDG_CONFIG_HOME="$root/cfg" XDG_DATA_HOME="$root/xdg" RENKEI_AUTOSTART=off \
  RENKEI_DESK_EXIT_ON_CLOSE=1 "$root/fs/usr/bin/renkei-desk" >"$root/app.log" 2>&1 &
pid=$!
t0=$(date +%s%N)
wid=$(timeout 60 xdotool search --sync --onlyvisible --name "Renkei Desk" 2>/dev/null | head -1 || true)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
if [ -n "$wid" ]; then echo "WINDOW $ms"; else echo "NOWINDOW"; fi
APP
chmod +x "$root/run-app.sh"
if ! command -v xdotool >/dev/null; then
  fail "xdotool missing (scripts/install-system-deps.sh --test): cannot check the window"
elif [ -n "${DISPLAY:-}" ]; then
  res=$("$root/run-app.sh" "$root" | tail -1)
elif command -v xvfb-run >/dev/null; then
  res=$(xvfb-run -a -s '-screen 0 1366x768x24' dbus-run-session -- "$root/run-app.sh" "$root" 2>/dev/null | tail -1)
else
  fail "no display and no xvfb-run: cannot check the window"
fi
case "$res" in
  WINDOW*) say "packaged renkei-desk: window shown in ${res#WINDOW } ms" ;;
  *) cat "$root/app.log" >&2; fail "the packaged renkei-desk showed no window within 60 s ($res)" ;;
esac
say "ok"
