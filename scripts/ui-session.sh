# Sourced (not run) by the ui-*.sh scripts once inside dbus-run-session: a
# private work dir with XDG dirs, a trap that stops every process added to
# pids, and start_xvfb to open a virtual display.

work=$(mktemp -d)
export XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config LANG=${LANG:-C.UTF-8}
mkdir -m 0700 -p "$XDG_RUNTIME_DIR"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# start_xvfb BASE: Xvfb on a random display from BASE (scripts running at
# once use different bases) and DISPLAY set; fails if it did not come up.
start_xvfb() {
	disp=:$(($1 + RANDOM % 100))
	Xvfb "$disp" -screen 0 1280x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
	pids+=($!)
	export DISPLAY=$disp
	for _ in $(seq 50); do
		xdpyinfo >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
