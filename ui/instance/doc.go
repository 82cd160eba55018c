// Package instance keeps one tray UI per config dir: the first holds a lock
// and listens on loopback; a second asks it to raise its window and exits.
package instance
