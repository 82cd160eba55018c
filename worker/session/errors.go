package session

import (
	"errors"
	"fmt"
)

// AuthFailedError ends the session for good: the studio refused the worker's
// credentials. The operator has to re-register.
type AuthFailedError struct{ Reason string }

func (e *AuthFailedError) Error() string { return "ws auth failed: " + e.Reason }

// FatalError ends the session for good for any other reason the studio gave
// (protocol violation, duplicate worker, deleted worker) or when the
// reconnect cap was reached.
type FatalError struct{ Reason string }

func (e *FatalError) Error() string { return "ws fatal: " + e.Reason }

// Terminal reports whether err means the session will not reconnect.
func Terminal(err error) bool {
	var a *AuthFailedError
	var f *FatalError
	return errors.As(err, &a) || errors.As(err, &f)
}

// disconnectError is a recoverable end of one connection: reconnect.
type disconnectError struct {
	op  string
	err error
}

func (e *disconnectError) Error() string { return fmt.Sprintf("%s: %v", e.op, e.err) }
func (e *disconnectError) Unwrap() error { return e.err }
