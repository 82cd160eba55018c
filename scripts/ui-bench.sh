#!/usr/bin/env bash
# Idle cost of the UI app, measured from /proc (a command, not a test):
#   1. `ui` with the window hidden (start_minimised) for SECONDS (default 60);
#   2. `ui` with the window shown on the Logs tab holding 1000 lines.
# Prints CPU % of one core and RSS for each. Targets (issue 3): hidden
# < 0.5 % of one core and < 100 MiB RSS; shown < 2 % of one core.
# The worker points at a closed local port (no network): it sits in the
# registration retry loop, the idle of a worker that cannot reach its studio.
#
# Usage: scripts/ui-bench.sh [path/to/studio-worker] [seconds]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" != "--inside" ]]; then
	bin=${1:-}
	if [[ -z "$bin" ]]; then
		bin=$(mktemp -d)/studio-worker
		(cd "$here" && go build -o "$bin" .)
	fi
	exec dbus-run-session -- "$0" --inside "$(realpath "$bin")" "${2:-60}"
fi
bin=$2 secs=$3

source "$(dirname "$0")/ui-session.sh"
export STUDIO_WORKER_API_BASE_URL=http://127.0.0.1:9/
start_xvfb 300 || { echo "ui-bench: Xvfb did not start" >&2; exit 1; }

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# run NAME START_MINIMISED [env...]: start ui, settle 5 s, measure $secs
run() {
	local name=$1 minimised=$2
	shift 2
	local cfg=$work/$RANDOM/config.toml
	mkdir -p "$(dirname "$cfg")"
	printf 'start_minimised = %s\nauto_start = false\nauto_update_enabled = false\n' "$minimised" >"$cfg"
	env "$@" "$bin" --config "$cfg" ui >/dev/null 2>"$work/ui.err" &
	local p=$!
	pids+=($p)
	sleep 5
	local t0 t1
	t0=$(ticks "$p")
	sleep "$secs"
	t1=$(ticks "$p")
	awk -v n="$name" -v d=$((t1 - t0)) -v hz="$hz" -v s="$secs" -v r="$(rss_mib "$p")" \
		'BEGIN { printf "%-40s cpu %5.2f %% of one core   rss %6s MiB\n", n, 100 * d / hz / s, r }'
	kill -TERM "$p"
	wait "$p" || true
}

echo "idle ${secs}s per case, $(nproc) cores"
run "ui, window hidden" true
run "ui, window shown on Logs (1000 lines)" false STUDIO_WORKER_UI_TAB=logs STUDIO_WORKER_UI_BENCH_LOGS=1000
