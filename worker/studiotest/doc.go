// Package studiotest is an in-process studio double: the studio side of the worker protocol (registration, WebSocket session, uploads, offers) for tests and the demo.
package studiotest
