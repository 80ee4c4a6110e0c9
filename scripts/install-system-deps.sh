#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Renkei Desk needs to build, run and test.
# Idempotent: only missing packages are installed; never fails when all are present.
set -euo pipefail
BUILD_PKGS=(build-essential pkg-config libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev)
TEST_PKGS=(python3-venv xvfb xauth dbus dbus-x11 dunst imagemagick x11-utils xdotool webkit2gtk-driver fonts-noto-cjk gnome-keyring libsecret-tools python3-gi gir1.2-gtk-3.0 postgresql dovecot-imapd openssl curl)
# postgresql: private test instances of the hub store (issue 18); dovecot-imapd: a private IMAP
# server for the mail poller tests (issue 21); openssl + curl: throw-away certificates and a
# real HTTPS client for the TLS tests. Neither runs as a service: tests start their own.
want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing system packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: missing system packages: ${missing[*]}" >&2
    echo "       install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v apt-get >/dev/null; then
  echo "error: missing system packages: ${missing[*]} (this script knows apt-get only; install their equivalents)" >&2
  exit 1
fi
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || true
still=()
for p in "${missing[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
  echo "error: could not install system packages: ${still[*]}" >&2
  echo "       install them by hand: sudo apt-get install ${still[*]}" >&2
  exit 1
fi
