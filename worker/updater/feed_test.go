package updater

import (
	"errors"
	"strings"
	"testing"

	"github.com/minis-gg/studio-worker/worker/config"
)

func TestParseFeed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    Feed
		wantErr string
	}{
		{"public github", "https://api.github.com/repos/webbertakken/studio-worker/releases",
			Feed{Kind: FeedGitHub, Owner: "webbertakken", Repo: "studio-worker"}, ""},
		{"public github trailing slash", "https://api.github.com/repos/o/r/releases/",
			Feed{Kind: FeedGitHub, Owner: "o", Repo: "r"}, ""},
		{"enterprise", "https://ghe.example.com/api/v3/repos/o/r/releases",
			Feed{Kind: FeedGitHub, BaseURL: "https://ghe.example.com/api/v3/", Owner: "o", Repo: "r"}, ""},
		{"loopback fake github", "http://127.0.0.1:8080/api/v3/repos/o/r/releases",
			Feed{Kind: FeedGitHub, BaseURL: "http://127.0.0.1:8080/api/v3/", Owner: "o", Repo: "r"}, ""},
		{"self-hosted", "https://updates.example.com/feeds/acme/worker",
			Feed{Kind: FeedHTTP, BaseURL: "https://updates.example.com/feeds/", Owner: "acme", Repo: "worker"}, ""},
		{"self-hosted at root", "http://127.0.0.1:9000/acme/worker/",
			Feed{Kind: FeedHTTP, BaseURL: "http://127.0.0.1:9000/", Owner: "acme", Repo: "worker"}, ""},
		{"self-hosted manifest named", "https://h.example/acme/worker/manifest.yaml",
			Feed{Kind: FeedHTTP, BaseURL: "https://h.example/", Owner: "acme", Repo: "worker"}, ""},
		{"empty", "", Feed{}, "must be an http(s) URL"},
		{"not a url", "not a url", Feed{}, "must be an http(s) URL"},
		{"ftp", "ftp://h.example/acme/worker", Feed{}, "must be an http(s) URL"},
		{"too short", "https://h.example/worker", Feed{}, "<base>/<owner>/<repo>"},
		{"query", "https://h.example/acme/worker?token=abc", Feed{}, "query or fragment"},
		{"api.github.com not releases", "https://api.github.com/users/o", Feed{}, "api.github.com/repos/OWNER/REPO/releases"},
		{"api.github.com with prefix", "https://api.github.com/x/repos/o/r/releases", Feed{}, "api.github.com/repos/OWNER/REPO/releases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFeed(tt.raw)
			if tt.wantErr != "" {
				var fe *config.FieldError
				if !errors.As(err, &fe) || fe.Field != config.KeyAutoUpdateFeed {
					t.Fatalf("ParseFeed(%q) err = %v, want *config.FieldError naming auto_update_feed", tt.raw, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFeed(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("ParseFeed(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestFeedStringHidesCredentials(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://deploy:s3cret@updates.example.com/acme/worker",
		"https://tok3n@ghe.example.com/api/v3/repos/o/r/releases",
	} {
		f, err := ParseFeed(raw)
		if err != nil {
			t.Fatalf("ParseFeed: %v", err)
		}
		if s := f.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "tok3n") || strings.Contains(s, "deploy") {
			t.Errorf("Feed.String() = %q leaks credentials", s)
		}
	}
}
