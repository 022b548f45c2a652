#!/usr/bin/env bash
# The main job: build the plugin (frontend + backend for this machine's
# Linux architecture) and start the demo stack: Grafana with the plugin,
# Tempo, Loki and the demo traffic generator. Open http://localhost:3000.
# Without a Docker engine it says so and runs the same engine in the
# terminal on the embedded seed trace instead.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
case "$(uname -m)" in
  aarch64 | arm64) target=build:linuxARM64 ;;
  *) target=build:linux ;;
esac
go run github.com/magefile/mage -v "$target"

if docker info >/dev/null 2>&1; then
  exec docker compose up --build "$@"
fi
echo
echo "No Docker engine is reachable here, so the demo stack cannot start."
echo "The plugin is built in dist/. This is what it tells about the seed trace:"
echo
exec go run ./pkg/cmd/tracegap explain --example
