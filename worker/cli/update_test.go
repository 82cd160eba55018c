package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/minis-gg/studio-worker/worker/config"
)

// feed serves a go-selfupdate manifest listing the given tags, each with an
// archive for this platform and a checksums.txt (check-update never
// downloads them, so their bytes do not matter).
func feed(t *testing.T, tags ...string) string {
	t.Helper()
	archive := fmt.Sprintf("studio-worker_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
	var b strings.Builder
	b.WriteString("releases:\n")
	for i, tag := range tags {
		fmt.Fprintf(&b, "  - id: %d\n    tag_name: %q\n    draft: false\n    prerelease: false\n    assets:\n", i+1, tag)
		fmt.Fprintf(&b, "      - id: %d\n        name: %q\n        size: 1\n        url: %q\n", (i+1)*10, archive, tag+"/"+archive)
		fmt.Fprintf(&b, "      - id: %d\n        name: \"checksums.txt\"\n        size: 1\n        url: %q\n", (i+1)*10+1, tag+"/checksums.txt")
	}
	manifest := b.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/acme/studio-worker/manifest.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(manifest))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/acme/studio-worker"
}

func TestCheckUpdate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tags []string
		want string
	}{
		{"newer release", []string{"v1.2.0", "studio-worker-v9.9.9"}, "update available: 1.2.3 -> 9.9.9"},
		{"nothing newer", []string{"v1.2.0", "v1.2.3"}, "up to date: 1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := feed(t, tc.tags...)
			path := newConfig(t, func(s *config.Settings) { s.AutoUpdateFeed = url })
			before := fileBytes(t, path)
			r := runCLI("--config", path, "check-update")
			if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
				t.Fatalf("check-update = %d %q (stderr %q), want %q", r.code, r.stdout, r.stderr, tc.want)
			}
			if string(fileBytes(t, path)) != string(before) {
				t.Error("check-update changed the settings file")
			}
		})
	}
}

func TestCheckUpdateFeedDown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	path := newConfig(t, func(s *config.Settings) { s.AutoUpdateFeed = srv.URL + "/acme/studio-worker" })
	r := runCLI("--config", path, "check-update")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "studio-worker:") {
		t.Fatalf("check-update with the feed down = %d %q %q, want exit 1 with an error", r.code, r.stdout, r.stderr)
	}
}
