#!/usr/bin/env bash
# Re-vendor the web view's JavaScript from the npm registry at the pinned versions and check it
# against the SHA-256 sums recorded in scientist/web/static/vendor/SHA256SUMS. The files are
# committed; nothing is fetched at run time and no page loads from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=scientist/web/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent htmx.org@2.0.11 htmx-ext-sse@2.2.4 >/dev/null)
tar xzf "$WORK/htmx.org-2.0.11.tgz" -C "$WORK" package/dist/htmx.min.js package/LICENSE
cp "$WORK/package/dist/htmx.min.js" "$VENDOR/htmx-2.0.11.min.js"
cp "$WORK/package/LICENSE" "$VENDOR/LICENSE.htmx"
rm -rf "$WORK/package"
tar xzf "$WORK/htmx-ext-sse-2.2.4.tgz" -C "$WORK" package/dist/sse.min.js
cp "$WORK/package/dist/sse.min.js" "$VENDOR/htmx-ext-sse-2.2.4.min.js"
(cd "$VENDOR" && sha256sum -c SHA256SUMS)
