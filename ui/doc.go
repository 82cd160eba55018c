// Package ui is the tray icon and status window (Fyne). It reads the
// observers slots and writes settings through the worker's settings code.
package ui
