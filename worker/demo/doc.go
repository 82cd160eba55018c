// Package demo runs the whole loop on one machine with no account and no
// network: the studio double on 127.0.0.1, a worker on a temporary config
// pointed at it, auto-approval and an endless stream of synthetic jobs.
package demo
