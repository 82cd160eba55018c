// Package registration gets the worker its credentials: it asks the studio
// for a registration slot, waits for an operator to approve it, and persists
// the worker id and token it is given. No shared secret is ever distributed.
package registration
