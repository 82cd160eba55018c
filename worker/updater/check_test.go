package updater

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/minis-gg/studio-worker/worker/config"
)

func TestCheckNow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		rels          func(t *testing.T) []fakeRelease
		prerelease    bool
		wantLatest    string
		wantAvailable bool
		wantDropped   int
	}{
		{"newer release", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.0.0", nil), release(t, "v1.2.0", nil)}
		}, false, "1.2.0", true, 0},
		{"same version", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.0.0", nil)}
		}, false, "1.0.0", false, 0},
		{"only older", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v0.9.0", nil)}
		}, false, "0.9.0", false, 0},
		{"no releases", func(t *testing.T) []fakeRelease { return nil }, false, "", false, 0},
		{"drafts ignored", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.1.0", nil), release(t, "v2.0.0", nil, draft)}
		}, false, "1.1.0", true, 0},
		{"drafts ignored even with prereleases on", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.1.0", nil), release(t, "v2.0.0", nil, draft)}
		}, true, "1.1.0", true, 0},
		{"prerelease ignored", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.1.0", nil), release(t, "v2.0.0-rc.1", nil, prerelease)}
		}, false, "1.1.0", true, 0},
		{"prerelease opted in", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.1.0", nil), release(t, "v2.0.0-rc.1", nil, prerelease)}
		}, true, "2.0.0-rc.1", true, 0},
		{"v tag", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.2.3", nil)}
		}, false, "1.2.3", true, 0},
		{"component-prefixed tag", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "studio-worker-v1.2.3", nil)}
		}, false, "1.2.3", true, 0},
		{"bare tag", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "1.2.3", nil)}
		}, false, "1.2.3", true, 0},
		{"mixed tag forms compared as versions", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "studio-worker-v1.10.0", nil), release(t, "v1.9.0", nil)}
		}, false, "1.10.0", true, 0},
		{"unparseable tags dropped and counted", func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "nightly", nil), release(t, "v1.1.0", nil), release(t, "latest", nil)}
		}, false, "1.1.0", true, 2},
		{"no archive for this platform", func(t *testing.T) []fakeRelease {
			r := fakeRelease{tag: "v2.0.0", assets: []asset{{name: "studio-worker_plan9_mips.tar.gz", data: []byte("x")}}}
			r.assets = append(r.assets, checksums(r.assets[0]))
			return []fakeRelease{r}
		}, false, "", false, 0},
	}
	for _, fk := range feedKinds {
		for _, tt := range tests {
			t.Run(fk.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				srv := newFeedServer(t, fk.kind, tt.rels(t)...)
				ls := newLiveSettings(srv.Feed, func(s *config.Settings) { s.AutoUpdatePrerelease = tt.prerelease })
				u := New(Options{Settings: ls.Settings, Version: "1.0.0", ExePath: "/nonexistent/studio-worker", Logger: quiet})
				c, err := u.CheckNow(context.Background())
				if err != nil {
					t.Fatalf("CheckNow: %v", err)
				}
				if c.Latest != tt.wantLatest || c.Available != tt.wantAvailable || c.Dropped != tt.wantDropped {
					t.Errorf("CheckNow = %+v, want latest %q available %t dropped %d", c, tt.wantLatest, tt.wantAvailable, tt.wantDropped)
				}
				if c.Current != "1.0.0" {
					t.Errorf("Current = %q", c.Current)
				}
				if n := srv.downloads.Load(); n != 0 {
					t.Errorf("a check downloaded %d assets; it must never install", n)
				}
			})
		}
	}
}

func TestCheckString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Check
		want string
	}{
		{Check{Current: "1.0.0", Latest: "1.0.0"}, "up to date: 1.0.0"},
		{Check{Current: "1.0.0"}, "up to date: 1.0.0"},
		{Check{Current: "1.0.0", Latest: "1.2.0", Available: true}, "update available: 1.0.0 -> 1.2.0"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestCheckNowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		kind       FeedKind
		version    string
		feed       string // overrides the server's feed when set
		status     int
		rels       func(t *testing.T) []fakeRelease
		unverified bool
		fieldErr   bool
	}{
		{"missing checksums.txt (self-hosted)", FeedHTTP, "1.0.0", "", 0, func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.2.0", nil, noChecksums)}
		}, true, false},
		{"missing checksums.txt (github)", FeedGitHub, "1.0.0", "", 0, func(t *testing.T) []fakeRelease {
			return []fakeRelease{release(t, "v1.2.0", nil, noChecksums)}
		}, true, false},
		{"feed answers 500", FeedHTTP, "1.0.0", "", http.StatusInternalServerError, nil, false, false},
		{"github answers 500", FeedGitHub, "1.0.0", "", http.StatusInternalServerError, nil, false, false},
		{"invalid feed", FeedHTTP, "1.0.0", "https://h.example/only", 0, nil, false, true},
		{"current version not semver", FeedHTTP, "dev", "", 0, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rels []fakeRelease
			if tt.rels != nil {
				rels = tt.rels(t)
			}
			srv := newFeedServer(t, tt.kind, rels...)
			srv.set(func(f *feedServer) { f.status = tt.status })
			feed := srv.Feed
			if tt.feed != "" {
				feed = tt.feed
			}
			u := New(Options{Settings: newLiveSettings(feed).Settings, Version: tt.version, ExePath: "/nonexistent/studio-worker", Logger: quiet})
			_, err := u.CheckNow(context.Background())
			if err == nil {
				t.Fatal("CheckNow succeeded, want an error")
			}
			var ue *UnverifiedError
			if got := errors.As(err, &ue); got != tt.unverified {
				t.Errorf("UnverifiedError = %t, want %t (err %v)", got, tt.unverified, err)
			}
			var fe *config.FieldError
			if got := errors.As(err, &fe) && fe.Field == config.KeyAutoUpdateFeed; got != tt.fieldErr {
				t.Errorf("FieldError(auto_update_feed) = %t, want %t (err %v)", got, tt.fieldErr, err)
			}
		})
	}
}
