#!/usr/bin/env bash
# The headless browser the site tests use (tests/test_site.py) and `challenge-bot site --screenshot`:
# Debian's chromium and chromium-driver, installed when missing, and axe-core, pinned, fetched from
# npm into a cache folder and checked against the registry's integrity hash. Idempotent: a second
# run installs and downloads nothing. Prints the path of axe.min.js last (tests read $AXE_CORE_JS
# or this same default path).
set -euo pipefail

AXE_VERSION=4.14.1
AXE_INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
CACHE="${CHALLENGE_BOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/challenge-bot}"
AXE="$CACHE/axe-core-$AXE_VERSION/axe.min.js"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

if [ ! -s "$AXE" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tarball="$work/axe-core-$AXE_VERSION.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$AXE_INTEGRITY" ]; then
    echo "axe-core $AXE_VERSION: integrity mismatch ($actual)" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/axe.min.js
  mkdir -p "$(dirname "$AXE")"
  mv "$work/package/axe.min.js" "$AXE"
fi

echo "$AXE"
