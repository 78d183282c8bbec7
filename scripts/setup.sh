#!/usr/bin/env bash
# One-time set-up of a fresh machine: npm dependencies (from the lockfile) and a
# Chromium for the browser tests (Debian's package; Playwright cannot download its own
# browser here). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: no Chromium at $CHROMIUM. Install it (sudo apt-get install -y chromium) or set CHROMIUM_PATH." >&2
    exit 1
  fi
fi
echo "setup: ok (node $(node --version), $("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM"))"
