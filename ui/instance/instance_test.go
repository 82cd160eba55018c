package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSecondLaunchRaisesFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Acquire = %v, want ErrRunning", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Raise(ctx, dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Raised():
	case <-ctx.Done():
		t.Fatal("the running UI was not asked to raise")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, AddrFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("address file left behind: %v", err)
	}
	// The lock is free again.
	again, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

func TestRaiseNeedsToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b, err := os.ReadFile(filepath.Join(dir, AddrFile))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, AddrFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("address file mode %v", fi.Mode().Perm())
	}
	addr := string(b[:len(b)-1])
	for i := range addr {
		if addr[i] == ' ' {
			addr = addr[:i]
			break
		}
	}
	// A wrong token is not a raise.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, AddrFile), []byte(addr+" wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := Raise(ctx, other); err == nil {
		t.Fatal("raise with a wrong token succeeded")
	}
	select {
	case <-in.Raised():
		t.Fatal("raised by a wrong token")
	default:
	}
}

func TestRaiseWithoutRunningUI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := Raise(ctx, t.TempDir()); err == nil {
		t.Fatal("raise with nobody running succeeded")
	}
}
