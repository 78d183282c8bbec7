#!/usr/bin/env bash
# One-time set-up of a fresh machine: npm dependencies (from the lockfile), nginx (the
# static-registry tests) and a Chromium for the browser tests (Debian's package; Playwright cannot download its own
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
# nginx serves the static registry tree in the tests (deploy/nginx.conf); Debian's nginx-light is enough.
NGINX="${NGINX_PATH:-/usr/sbin/nginx}"
if [ ! -x "$NGINX" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's nginx-light"
    apt-get update -qq
    # Only the binary is needed: do not start the system service (tests run their own instance).
    ours=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && ours=1
    fi
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null || rc=$?
    [ -n "$ours" ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || exit "$rc"
  else
    echo "setup: no nginx at $NGINX. Install it (sudo apt-get install -y nginx-light) or set NGINX_PATH." >&2
    exit 1
  fi
fi
# clang-19 and wasm-ld-19 rebuild webinfer's WebAssembly engine (scripts/build-engine.sh); the tests check that the
# committed binaries are what their source builds to.
if ! command -v clang-19 >/dev/null || ! command -v wasm-ld-19 >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's clang-19 and lld-19"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-19 lld-19 >/dev/null
  else
    echo "setup: no clang-19 / wasm-ld-19 (the engine's build check needs them). Install them (sudo apt-get install -y clang-19 lld-19)." >&2
    exit 1
  fi
fi
echo "setup: ok (node $(node --version), $("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM"), $("$NGINX" -v 2>&1), $(clang-19 --version | head -1))"
