// Package observers holds the mutex-guarded state slots the worker writes and the UI reads, with change signals so readers redraw on change instead of polling.
package observers
