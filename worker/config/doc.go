// Package config loads, validates and atomically saves the worker's config.toml, with
// STUDIO_WORKER_<KEY> environment overrides that are never written back.
package config
