// Package logs is the worker's log pipeline: an slog handler that fans each record out to stderr, the observers' UI ring and a bounded queue of entries shipped to the studio.
package logs
