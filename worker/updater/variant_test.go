package updater

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"testing"
)

// withHeadless adds the headless variant of the archive (other bytes) and
// republishes checksums.txt over both.
func withHeadless(t *testing.T, bin []byte) relOpt {
	return func(r *fakeRelease, archive *asset) {
		h := asset{
			name: fmt.Sprintf("%s-headless_%s_%s.tar.gz", BinaryName, runtime.GOOS, runtime.GOARCH),
			data: tarGz(t, exeName(), bin),
		}
		r.assets = []asset{*archive, h, checksums(*archive, h)}
	}
}

// TestVariantSelection: a headless worker must never update to the UI build
// (it links libGL/X11 a server may lack), and the UI build takes the main
// archive. Each picks exactly its own variant from one release.
func TestVariantSelection(t *testing.T) {
	uiBin, headlessBin := []byte("ui build 9.9.9"), []byte("headless build 9.9.9")
	rel := release(t, "v9.9.9", uiBin, withHeadless(t, headlessBin))
	for _, tc := range []struct {
		prefix string
		want   []byte
	}{
		{BinaryName, uiBin},
		{BinaryName + "-headless", headlessBin},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			target := installed(t, exeName(), []byte("old"))
			srv := newFeedServer(t, FeedHTTP, rel)
			u := New(Options{Settings: newLiveSettings(srv.Feed).Settings, Version: "1.0.0", ExePath: target, Logger: quiet, AssetPrefix: tc.prefix})
			if _, err := u.UpdateNow(context.Background()); err != nil {
				t.Fatalf("UpdateNow: %v", err)
			}
			got, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("installed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAssetPattern(t *testing.T) {
	t.Parallel()
	p := assetPattern("studio-worker-headless")
	suffix := runtime.GOOS + "_" + runtime.GOARCH
	for name, want := range map[string]bool{
		"studio-worker-headless_" + suffix + ".tar.gz":  true,
		"studio-worker-headless_" + suffix + ".zip":     true,
		"studio-worker_" + suffix + ".tar.gz":           false,
		"studio-worker-headless_plan9_mips.tar.gz":      false,
		"xstudio-worker-headless_" + suffix + ".tar.gz": false,
	} {
		if got := mustMatch(p, name); got != want {
			t.Errorf("%s matches %q = %t, want %t", p, name, got, want)
		}
	}
}

func mustMatch(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}
