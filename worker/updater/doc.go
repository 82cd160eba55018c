// Package updater keeps the worker current: it checks a go-selfupdate feed
// (GitHub releases or a self-hosted manifest), installs verified release
// archives between jobs, restarts in place, and notices when something else
// replaced the executable.
package updater
