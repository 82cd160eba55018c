#!/usr/bin/env bash
# Cuts a release into dist/: one archive per platform, checksums.txt over
# them, and manifest.yaml, so dist/ is both a GitHub release's asset list and
# a self-hosted go-selfupdate feed when served at <base>/<owner>/<repo>/.
#
#   scripts/release.sh 1.2.3          # what `make release VERSION=1.2.3` runs
#   TARGETS="linux/amd64" scripts/release.sh 1.2.3   # fewer platforms
#
# Archives: studio-worker_<os>_<arch>.tar.gz (.zip on windows), each holding
# one binary named studio-worker (studio-worker.exe), version stamped with
# -X main.version; this is what UI builds update from. Cross-compiled ones are
# headless (CGO_ENABLED=0, no window or tray): the UI needs cgo and there is
# no cross C toolchain here. linux/amd64 gets the UI build when built on
# linux/amd64 with gcc and the Fyne dev packages (scripts/install-deps.sh);
# the script says which it made. Every platform also gets
# studio-worker-headless_<os>_<arch>, which headless builds update from.
set -euo pipefail

version=${1:-}
semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if [[ ! $version =~ $semver ]]; then
  echo "usage: $0 x.y.z   (a semantic version, no leading v)" >&2
  exit 2
fi
tag="v$version"
prerelease=false
[[ $version == *-* ]] && prerelease=true

GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
dist="$root/dist"
targets=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"}
host="$($GO env GOHOSTOS)/$($GO env GOHOSTARCH)"
ldflags="-s -w -X main.version=$version"

# Why a UI build is or is not possible on this machine (empty: it is).
ui_blocker() {
  if [[ $host != linux/amd64 ]]; then echo "host is $host, not linux/amd64"; return; fi
  if ! command -v gcc >/dev/null; then echo "no gcc"; return; fi
  if ! command -v pkg-config >/dev/null || ! pkg-config --exists gl x11 xcursor xrandr xinerama xi xxf86vm; then
    echo "Fyne dev packages missing (scripts/install-deps.sh)"; return
  fi
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

zip_one() { # zip_one <archive> <dir> <file>
  if command -v zip >/dev/null; then
    (cd "$2" && zip -q -X "$1" "$3")
  elif command -v python3 >/dev/null; then
    (cd "$2" && python3 -m zipfile -c "$1" "$3")
  else
    echo "need zip or python3 to pack windows archives" >&2; exit 1
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$dist"
mkdir -p "$dist"
cd "$root"

blocker=$(ui_blocker)
echo "studio-worker $version → dist/"
archives=()

# pack <dir> <exe> <name-without-extension> <os>: one archive into dist/.
pack() {
  local name
  if [[ $4 == windows ]]; then
    name="$3.zip"
    zip_one "$dist/$name" "$1" "$2"
  else
    name="$3.tar.gz"
    tar -C "$1" -czf "$dist/$name" "$2"
  fi
  archives+=("$name")
}

for target in $targets; do
  os=${target%/*}
  arch=${target#*/}
  exe=studio-worker
  [[ $os == windows ]] && exe=studio-worker.exe
  # Every platform gets the headless build as studio-worker-headless_*: a
  # headless worker updates only from those, so it never swaps itself for a
  # UI build whose GL/X11 libraries a server lacks.
  hdir="$work/headless_${os}_$arch"
  mkdir -p "$hdir"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -tags headless -ldflags "$ldflags" -o "$hdir/$exe" .
  pack "$hdir" "$exe" "studio-worker-headless_${os}_$arch" "$os"
  # studio-worker_* is the best build of the platform: the UI build where
  # this machine can make it, else the same headless binary.
  if [[ $target == linux/amd64 && -z $blocker ]]; then
    kind="UI build (cgo, window + tray)"
    udir="$work/ui_${os}_$arch"
    mkdir -p "$udir"
    CGO_ENABLED=1 GOOS=$os GOARCH=$arch $GO build -trimpath -ldflags "$ldflags" -o "$udir/$exe" .
    pack "$udir" "$exe" "studio-worker_${os}_$arch" "$os"
  else
    kind="headless (CGO_ENABLED=0, -tags headless)"
    [[ $target == linux/amd64 ]] && kind="$kind; no UI build: $blocker"
    pack "$hdir" "$exe" "studio-worker_${os}_$arch" "$os"
  fi
  printf '  %-16s studio-worker_%s_%s: %s; studio-worker-headless_%s_%s: headless\n' "$target" "$os" "$arch" "$kind" "$os" "$arch"
done

(cd "$dist" && sha256 "${archives[@]}") >"$dist/checksums.txt"

# manifest.yaml: go-selfupdate's HTTP source. Asset urls are relative, so
# the feed works wherever dist/ is served.
size() { wc -c <"$1" | tr -d ' '; }
{
  echo "# go-selfupdate feed: serve this directory as <base>/<owner>/<repo>/"
  echo "releases:"
  echo "  - id: 1"
  echo "    tag_name: \"$tag\""
  echo "    name: \"studio-worker $version\""
  echo "    draft: false"
  echo "    prerelease: $prerelease"
  echo "    published_at: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "    assets:"
  id=1
  for name in "${archives[@]}" checksums.txt; do
    echo "      - id: $id"
    echo "        name: \"$name\""
    echo "        size: $(size "$dist/$name")"
    echo "        url: \"$name\""
    id=$((id + 1))
  done
} >"$dist/manifest.yaml"

echo "  checksums.txt, manifest.yaml"
echo "tag the release $tag; upload dist/* as its assets, or serve dist/ as a self-hosted feed"
