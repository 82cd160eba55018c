package protocol

import "fmt"

// HTTPError is a non-2xx answer from a studio HTTP route, in the
// reference's words: "<op> failed: <status> — <body>". Body is clipped by
// the caller; the request's credentials are never part of it.
type HTTPError struct {
	Op     string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s failed: %d", e.Op, e.Status)
	}
	return fmt.Sprintf("%s failed: %d — %s", e.Op, e.Status, e.Body)
}
