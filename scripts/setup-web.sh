#!/usr/bin/env bash
# Install the in-browser app's one JS dependency (@litertjs/core 2.5.3, pinned by
# runtime/web/package-lock.json) with `npm ci`, then copy the files the page needs into the
# runtime package (runtime/edge_emotion_runtime/web/vendor/litert/, shipped as package data, so a
# wheel built afterwards serves the page with no npm on the device).
# Exits 0 with a note when node/npm are missing (the web tests then skip), except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/../runtime/web"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "setup-web: node and npm are required under CI" >&2
    exit 1
  fi
  echo "setup-web: node/npm not found; the in-browser app and its tests are skipped" >&2
  exit 0
fi
stamp=node_modules/.edge-emotion-lock
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
node vendor.mjs >&2
