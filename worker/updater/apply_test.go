package updater

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestUpdateNowAppliesRealRelease installs a release built from this
// project (stamped 9.9.9) over a copy of a real 1.0.0 binary, from both feed
// kinds, and runs the result.
//
// Not parallel, nor its subtests: a fork by another test while a binary is
// being written would hand the child a write descriptor, and exec of that
// binary fails with "text file busy" (golang.org/issue/22315). Parallel
// tests only start once the sequential ones are done.
func TestUpdateNowAppliesRealRelease(t *testing.T) {
	oldBin, newBin := realBinaries(t)
	oldBytes, err := os.ReadFile(oldBin)
	if err != nil {
		t.Fatal(err)
	}
	newBytes, err := os.ReadFile(newBin)
	if err != nil {
		t.Fatal(err)
	}
	// Packing 18 MB is the slow part under -race: once, shared read-only.
	newRel := release(t, "studio-worker-v9.9.9", newBytes)
	tests := []struct {
		kind    FeedKind
		name    string
		binName string
	}{
		{FeedHTTP, "self-hosted", exeName()},
		{FeedGitHub, "github", exeName()},
		{FeedHTTP, "installed under another name", "studio-worker-headless"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := installed(t, tt.binName, oldBytes)
			if got := runVersion(t, target); got != "studio-worker 1.0.0" {
				t.Fatalf("the copy says %q before the update", got)
			}
			srv := newFeedServer(t, tt.kind, release(t, "v1.0.0", nil), newRel)
			u := New(Options{Settings: newLiveSettings(srv.Feed).Settings, Version: "1.0.0", ExePath: target, Logger: quiet})
			c, err := u.UpdateNow(context.Background())
			if err != nil {
				t.Fatalf("UpdateNow: %v", err)
			}
			if !c.Available || c.Latest != "9.9.9" {
				t.Errorf("UpdateNow = %+v, want 9.9.9 available", c)
			}
			if got := runVersion(t, target); got != "studio-worker 9.9.9" {
				t.Errorf("after the update the binary says %q, want %q", got, "studio-worker 9.9.9")
			}
			if names := dirNames(t, filepath.Dir(target)); !slices.Equal(names, []string{tt.binName}) {
				t.Errorf("left beside the binary: %v, want only %s", names, tt.binName)
			}
		})
	}
}

// TestUpdateNowRefusesAndLeavesBinaryUntouched: whatever goes wrong, the
// binary on disk is byte-identical and nothing is left beside it.
func TestUpdateNowRefusesAndLeavesBinaryUntouched(t *testing.T) {
	t.Parallel()
	current := []byte("#!/bin/sh\necho studio-worker 1.0.0\n")
	newBin := bytes.Repeat([]byte("new binary 9.9.9 "), 4096) // big enough to cut half way
	tests := []struct {
		name       string
		opts       []relOpt
		cut        bool
		unverified bool
	}{
		{"tampered archive", []relOpt{tampered}, false, true},
		{"missing checksums.txt", []relOpt{noChecksums}, false, true},
		{"checksums.txt without the archive", []relOpt{otherChecksums}, false, true},
		{"connection cut mid-download", nil, true, false},
	}
	for _, fk := range feedKinds {
		for _, tt := range tests {
			t.Run(fk.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				target := installed(t, exeName(), current)
				srv := newFeedServer(t, fk.kind, release(t, "v9.9.9", newBin, tt.opts...))
				if tt.cut {
					srv.set(func(f *feedServer) { f.cut = []string{platformAsset()} })
				}
				u := New(Options{Settings: newLiveSettings(srv.Feed).Settings, Version: "1.0.0", ExePath: target, Logger: quiet})
				_, err := u.UpdateNow(context.Background())
				if err == nil {
					t.Fatal("UpdateNow succeeded, want it refused")
				}
				var ue *UnverifiedError
				if got := errors.As(err, &ue); got != tt.unverified {
					t.Errorf("UnverifiedError = %t, want %t (err %v)", got, tt.unverified, err)
				}
				got, rerr := os.ReadFile(target)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if !bytes.Equal(got, current) {
					t.Error("the binary on disk changed")
				}
				if names := dirNames(t, filepath.Dir(target)); !slices.Equal(names, []string{exeName()}) {
					t.Errorf("left beside the binary: %v, want only %s", names, exeName())
				}
				if tt.cut && srv.downloads.Load() == 0 {
					t.Error("the cut download was never attempted")
				}
			})
		}
	}
}
