package protocol

import (
	"fmt"
	"net/url"
	"strings"
)

// Endpoint builds the URL of a worker route: base (the api_base_url setting)
// with query and fragment dropped, APIPrefix appended unless base already ends
// in it, then the escaped path elements. An outer mount path is kept
// (https://x/custom → https://x/custom/graphics/api/...).
func Endpoint(base string, elems ...string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return nil, fmt.Errorf("api base url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("api base url %q: scheme must be http or https", redactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api base url %q: missing host", redactURL(u))
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, APIPrefix) {
		p += APIPrefix
	}
	for _, e := range elems {
		p += "/" + url.PathEscape(e)
	}
	u.Path, u.RawPath = "", ""
	return u.JoinPath(p), nil
}

// WebSocketURL is the session URL for a worker: the connect route with the
// scheme coerced http→ws and https→wss.
func WebSocketURL(base, workerID string) (*url.URL, error) {
	u, err := Endpoint(base, "workers", workerID, "connect")
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	return u, nil
}

// RedactURL is a URL setting as it may be shown in a log line, an error,
// `status` or the window: user info (which can be a token as much as a
// password) and the query are replaced. The settings file keeps the real
// value.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a valid URL)"
	}
	return redactURL(u)
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	if c.RawQuery != "" {
		c.RawQuery = "redacted"
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}
