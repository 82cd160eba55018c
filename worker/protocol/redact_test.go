package protocol

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://studio.minis.gg/", "https://studio.minis.gg/"},
		{"https://deploy:TOKEN@updates.example/acme/studio-worker", "https://redacted@updates.example/acme/studio-worker"},
		{"https://TOKEN@updates.example/x", "https://redacted@updates.example/x"},
		{"https://updates.example/x?token=TOKEN#frag", "https://updates.example/x?redacted"},
		{"http://bad host/", "(not a valid URL)"},
	} {
		got := RedactURL(tc.in)
		if got != tc.want || strings.Contains(got, "TOKEN") {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
