//go:build headless

package updater

// DefaultAssetPrefix names the archives this build updates from. A headless
// build must stay headless: the UI build of linux/amd64 links libGL and X11,
// which a server may not have, so an update to it would leave a worker that
// cannot start. Headless builds take studio-worker-headless_<os>_<arch>.
const DefaultAssetPrefix = BinaryName + "-headless"
