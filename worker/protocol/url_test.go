package protocol

import "testing"

func TestEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base  string
		elems []string
		want  string
	}{
		{"https://studio.minis.gg/", []string{"workers", "register-request"}, "https://studio.minis.gg/graphics/api/workers/register-request"},
		{"https://studio.minis.gg", []string{"workers", "register-request"}, "https://studio.minis.gg/graphics/api/workers/register-request"},
		{"https://studio.minis.gg/graphics/api", []string{"workers"}, "https://studio.minis.gg/graphics/api/workers"},
		{"https://studio.minis.gg/graphics/api/", []string{"workers"}, "https://studio.minis.gg/graphics/api/workers"},
		{"https://x/custom", []string{"workers"}, "https://x/custom/graphics/api/workers"},
		{"https://x/custom/?q=1#frag", []string{"workers"}, "https://x/custom/graphics/api/workers"},
		{"http://127.0.0.1:8080/", []string{"workers", "w 1", "jobs", "j/2", "complete"}, "http://127.0.0.1:8080/graphics/api/workers/w%201/jobs/j%2F2/complete"},
	}
	for _, tt := range tests {
		got, err := Endpoint(tt.base, tt.elems...)
		if err != nil {
			t.Errorf("Endpoint(%q): %v", tt.base, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Endpoint(%q, %q) = %q, want %q", tt.base, tt.elems, got, tt.want)
		}
	}
}

func TestEndpointRejects(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "ftp://x/", "studio.minis.gg", "http://", "://bad"} {
		if u, err := Endpoint(base, "workers"); err == nil {
			t.Errorf("Endpoint(%q) = %v, want error", base, u)
		}
	}
}

func TestWebSocketURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, want string }{
		{"https://studio.minis.gg/", "wss://studio.minis.gg/graphics/api/workers/w-123/connect"},
		{"http://127.0.0.1:9/", "ws://127.0.0.1:9/graphics/api/workers/w-123/connect"},
		{"http://127.0.0.1:9/graphics/api/", "ws://127.0.0.1:9/graphics/api/workers/w-123/connect"},
		{"wss://s.example/", "wss://s.example/graphics/api/workers/w-123/connect"},
	}
	for _, tt := range tests {
		got, err := WebSocketURL(tt.base, "w-123")
		if err != nil || got.String() != tt.want {
			t.Errorf("WebSocketURL(%q) = %v, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
