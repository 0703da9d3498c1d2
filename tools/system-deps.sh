#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium (the wall page, through Playwright),
# Prometheus' promtool and server (metric names, rules, scraping), Alertmanager, and Node.js with
# npm (TimescaleDB as WASM for tests/integration/test_timescale.py; `make timescale-wasm`).
# Idempotent: installs only what is missing. Needs root (or sudo) on a Debian machine.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# A Node.js from elsewhere brings its own npm; Debian's npm would conflict with it.
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "==> installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The prometheus package starts daemons on install where systemd runs; tests start their own.
