#!/usr/bin/env bash
# End-to-end check of the UI build: the real `demo` under Xvfb with a D-Bus
# session bus. Checks that a StatusNotifierItem is registered and its menu
# carries the expected items, that jobs complete, and that a screenshot of
# the window is not blank. Exits non-zero on any failure.
#
# Usage: scripts/ui-e2e.sh [path/to/studio-worker]   (default: builds it)
# Needs: Xvfb xdotool imagemagick(import, convert) dbus-run-session gdbus busctl
set -euo pipefail

if [[ "${1:-}" != "--inside" ]]; then
	here=$(cd "$(dirname "$0")/.." && pwd)
	bin=${1:-}
	if [[ -z "$bin" ]]; then
		bin=$(mktemp -d)/studio-worker
		(cd "$here" && go build -o "$bin" .)
	fi
	exec dbus-run-session -- "$0" --inside "$(realpath "$bin")"
fi
bin=$2

source "$(dirname "$0")/ui-session.sh"
out=${UI_E2E_OUT:-$work}
mkdir -p "$out"
fail() { echo "ui-e2e: FAIL: $*" >&2; echo "--- demo stdout"; cat "$work/demo.out" >&2 || true; echo "--- demo stderr (tail)"; tail -n 30 "$work/demo.err" >&2 || true; exit 1; }

start_xvfb 90 || fail "Xvfb did not start"

"$bin" demo --jobs 4 --job-delay 1500ms >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
pids+=($demo)

# 1. the tray: a StatusNotifierItem owned by the demo process
name=
for _ in $(seq 100); do
	name=$(busctl --user list --no-legend 2>/dev/null | awk -v p="$demo" '$1 ~ /^org\.kde\.StatusNotifierItem-/ && $2 == p {print $1; exit}')
	[[ -n "$name" ]] && break
	sleep 0.1
done
[[ -n "$name" ]] || fail "no StatusNotifierItem registered by pid $demo"
echo "ui-e2e: tray item $name"
menu=$(busctl --user get-property "$name" /StatusNotifierItem org.kde.StatusNotifierItem Menu | awk '{print $2}' | tr -d '"')
[[ -n "$menu" ]] || fail "tray item has no Menu property"
layout=
for _ in $(seq 50); do
	layout=$(gdbus call --session --dest "$name" --object-path "$menu" --method com.canonical.dbusmenu.GetLayout -- 0 -1 '[]' 2>&1 || true)
	grep -q "Take new jobs" <<<"$layout" && break
	sleep 0.1
done
echo "$layout" >"$out/tray-menu.txt"
for label in "Open window" "Take new jobs" "Quit" "Status: "; do
	grep -q "'label': <'$label" <<<"$layout" || fail "tray menu lacks '$label': $layout"
done
grep -q "'toggle-state': <1>" <<<"$layout" || fail "Take new jobs is not checked: $layout"
echo "ui-e2e: tray menu ok"

# 2. the window
wid=
for _ in $(seq 100); do
	wid=$(xdotool search --name '^studio-worker$' 2>/dev/null | head -n1 || true)
	[[ -n "$wid" ]] && break
	sleep 0.1
done
[[ -n "$wid" ]] || fail "no window named studio-worker"

# 3. a job completes (the demo prints one line per finished job)
for _ in $(seq 300); do
	grep -q '^job 1 ' "$work/demo.out" && break
	sleep 0.1
done
grep -q '^job 1 .*completed' "$work/demo.out" || fail "no completed job line"
echo "ui-e2e: $(grep '^job 1 ' "$work/demo.out")"

# a running job shows in the tray menu as kind · model · elapsed
seen_job=
for _ in $(seq 60); do
	l=$(gdbus call --session --dest "$name" --object-path "$menu" --method com.canonical.dbusmenu.GetLayout -- 0 -1 '[]' 2>&1 || true)
	if grep -q " · .* · [0-9]*s'" <<<"$l"; then seen_job=1; break; fi
	sleep 0.1
done
[[ -n "$seen_job" ]] || fail "tray menu never showed the running job line"
echo "ui-e2e: tray shows the running job"

# 4. screenshot of the window, not blank, with the finished job drawn
sleep 1
import -window "$wid" "$out/window.png" || fail "import failed"
colours=$(convert "$out/window.png" -format '%k' info:)
echo "ui-e2e: screenshot $out/window.png has $colours colours"
(( colours > 20 )) || fail "screenshot looks blank ($colours colours)"

# 5. the demo finishes its jobs and exits by itself (Quit path: graceful stop)
for _ in $(seq 300); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$demo" 2>/dev/null; then fail "demo did not exit after its jobs"; fi
wait "$demo" || fail "demo exited non-zero"
grep -q '^job 4 ' "$work/demo.out" || fail "fewer than 4 jobs finished"
echo "ui-e2e: demo ok"

# 6. `ui`: one tray per config dir, autostart entry, Quit from the tray menu
export STUDIO_WORKER_API_BASE_URL=http://127.0.0.1:9/ # nothing listens: no network
cfg=$work/ui/config.toml
"$bin" --config "$cfg" ui >"$work/ui1.out" 2>"$work/ui1.err" &
ui1=$!
pids+=($ui1)
name=
for _ in $(seq 100); do
	name=$(busctl --user list --no-legend 2>/dev/null | awk -v p="$ui1" '$1 ~ /^org\.kde\.StatusNotifierItem-/ && $2 == p {print $1; exit}')
	[[ -n "$name" ]] && break
	sleep 0.1
done
[[ -n "$name" ]] || fail "ui registered no tray item"
sleep 1
if xdotool search --onlyvisible --name '^studio-worker$' >/dev/null 2>&1; then fail "start_minimised (default true) ignored: window visible"; fi
timeout 10 "$bin" --config "$cfg" ui >"$work/ui2.out" 2>&1 || fail "second ui exited non-zero: $(cat "$work/ui2.out")"
grep -q "already running" "$work/ui2.out" || fail "second ui did not defer to the first: $(cat "$work/ui2.out")"
kill -0 "$ui1" || fail "first ui died"
raised=
for _ in $(seq 50); do
	xdotool search --onlyvisible --name '^studio-worker$' >/dev/null 2>&1 && { raised=1; break; }
	sleep 0.1
done
[[ -n "$raised" ]] || fail "second launch did not bring the window up"
[[ -f "$XDG_CONFIG_HOME/autostart/studio-worker-ui.desktop" ]] || fail "no autostart entry"
grep -q "^Exec=.* --config $cfg ui$" "$XDG_CONFIG_HOME/autostart/studio-worker-ui.desktop" || fail "autostart Exec line wrong"
echo "ui-e2e: single instance and autostart ok"
menu=$(busctl --user get-property "$name" /StatusNotifierItem org.kde.StatusNotifierItem Menu | awk '{print $2}' | tr -d '"')
layout=$(gdbus call --session --dest "$name" --object-path "$menu" --method com.canonical.dbusmenu.GetLayout -- 0 -1 '[]')
grep -q "'label': <'Check for updates'>" <<<"$layout" || fail "the ui tray menu has no Check for updates: $layout"
quit_id=$(grep -oP "\(\K[0-9]+(?=, \{[^}]*'label': <'Quit'>)" <<<"$layout" | head -n1)
[[ -n "$quit_id" ]] || fail "no Quit item in $layout"
gdbus call --session --dest "$name" --object-path "$menu" --method com.canonical.dbusmenu.Event -- "$quit_id" clicked '<0>' 0 >/dev/null
for _ in $(seq 150); do kill -0 "$ui1" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ui1" 2>/dev/null && fail "ui still running 15 s after Quit"
wait "$ui1" || fail "ui exited non-zero after Quit"
echo "ui-e2e: Quit from the tray stopped the ui"
echo "ui-e2e: PASS"
