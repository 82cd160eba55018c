#!/usr/bin/env bash
# Writes one PNG per window tab to docs/screenshots/ (status.png, jobs.png,
# logs.png, settings.png, about.png), taken from the real `demo` under Xvfb
# after a few synthetic jobs went through.
#
# Usage: scripts/ui-screenshots.sh [path/to/studio-worker] [out dir]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" != "--inside" ]]; then
	bin=${1:-}
	if [[ -z "$bin" ]]; then
		bin=$(mktemp -d)/studio-worker
		(cd "$here" && go build -o "$bin" .)
	fi
	out=${2:-$here/docs/screenshots}
	mkdir -p "$out"
	exec dbus-run-session -- "$0" --inside "$(realpath "$bin")" "$(realpath "$out")"
fi
bin=$2 out=$3

source "$(dirname "$0")/ui-session.sh"
start_xvfb 200 || { echo "ui-screenshots: Xvfb did not start" >&2; exit 1; }

for tab in status jobs logs settings about; do
	STUDIO_WORKER_UI_TAB=$tab "$bin" demo --job-delay 2500ms >"$work/$tab.out" 2>"$work/$tab.err" &
	demo=$!
	# two finished jobs, then catch the third while it runs
	for _ in $(seq 300); do grep -q '^job 2 ' "$work/$tab.out" && break; sleep 0.1; done
	sleep 1.2
	wid=$(xdotool search --name '^studio-worker$' | head -n1)
	import -window "$wid" "$out/$tab.png"
	kill -TERM "$demo"
	wait "$demo" || true
	echo "wrote $out/$tab.png"
done
