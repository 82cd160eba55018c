// Package autostart writes or removes the per-user login entry that starts
// the tray UI with the computer (XDG autostart, LaunchAgent, HKCU Run).
package autostart
