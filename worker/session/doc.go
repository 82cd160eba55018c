// Package session keeps the worker's one WebSocket session with the studio:
// connect, hello/welcome, heartbeats, log shipping, job offers and result
// delivery, and the reconnect policy around it.
package session
