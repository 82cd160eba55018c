// Package protocol defines the JSON frames exchanged with the studio over the
// worker WebSocket (sub-protocol studio-worker-v1) and how they are encoded and
// decoded. It holds no I/O: the session and the studio double both use it.
package protocol
