//go:build !headless

package updater

// DefaultAssetPrefix names the archives this build updates from. The UI
// build takes studio-worker_<os>_<arch>: the best build of each platform.
const DefaultAssetPrefix = BinaryName
