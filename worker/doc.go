// Package worker composes the runtime: settings, logging, registration gate,
// studio session and settings watcher, plus the one-shot helpers behind the
// CLI commands (status, config, set-enabled, set-threshold, register).
package worker
