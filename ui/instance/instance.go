package instance

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names in the config dir.
const (
	LockFile = "ui.lock"
	AddrFile = "ui.addr" // "<host:port> <token>", 0600
)

// ErrRunning means another UI holds the config dir.
var ErrRunning = errors.New("another studio-worker ui is running for this config")

// Instance is the lock holder. Close releases everything.
type Instance struct {
	dir    string
	lock   *os.File
	ln     net.Listener
	token  string
	raised chan struct{}
	wg     sync.WaitGroup
}

// Acquire takes the UI lock of dir. It returns an error wrapping ErrRunning
// when another process holds it.
func Acquire(dir string) (*Instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ui lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ui lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("ui lock %s: %w", f.Name(), ErrRunning)
		}
		return nil, fmt.Errorf("ui lock %s: %w", f.Name(), err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ui raise listener: %w", err)
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		ln.Close()
		f.Close()
		return nil, fmt.Errorf("ui raise token: %w", err)
	}
	in := &Instance{dir: dir, lock: f, ln: ln, token: hex.EncodeToString(tok), raised: make(chan struct{}, 1)}
	if err := writeAddr(filepath.Join(dir, AddrFile), ln.Addr().String()+" "+in.token); err != nil {
		in.Close()
		return nil, err
	}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		in.serve()
	}()
	return in, nil
}

func writeAddr(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		return fmt.Errorf("ui addr: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ui addr: %w", err)
	}
	return nil
}

// Raised receives a value when another launch asked for the window (several
// requests before a read collapse into one).
func (in *Instance) Raised() <-chan struct{} { return in.raised }

func (in *Instance) serve() {
	for {
		c, err := in.ln.Accept()
		if err != nil {
			return // closed
		}
		in.handle(c)
	}
}

// handle answers one client inline: requests are one short line, and the
// deadline bounds a client that never sends it.
func (in *Instance) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "raise "+in.token {
		return
	}
	select {
	case in.raised <- struct{}{}:
	default:
	}
	_, _ = c.Write([]byte("ok\n"))
}

// Close stops listening, removes the address file and releases the lock.
func (in *Instance) Close() error {
	err := in.ln.Close()
	in.wg.Wait()
	os.Remove(filepath.Join(in.dir, AddrFile))
	return errors.Join(err, unlockFile(in.lock), in.lock.Close())
}

// Raise asks the UI holding dir to bring its window to the front. It waits
// up to ctx for the holder to publish its address (it may be starting).
func Raise(ctx context.Context, dir string) error {
	retry := time.NewTicker(50 * time.Millisecond)
	defer retry.Stop()
	var last error
	for {
		if last = raiseOnce(ctx, dir); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raise running ui: %w", last)
		case <-retry.C:
		}
	}
}

func raiseOnce(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, AddrFile))
	if err != nil {
		return err
	}
	addr, tok, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok {
		return errors.New("malformed " + AddrFile)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("raise " + tok + "\n")); err != nil {
		return err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(reply) != "ok" {
		return errors.New("unexpected reply from running ui")
	}
	return nil
}
