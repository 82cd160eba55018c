package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options tunes Open. The zero value is fine.
type Options struct {
	// DetectedVRAMGb, when > 0 and below the 12 GB default, lowers vram_threshold_gb in a
	// newly created file. An existing file is never changed.
	DetectedVRAMGb float64
	// LookupEnv reads STUDIO_WORKER_* overrides; nil means os.LookupEnv.
	LookupEnv func(key string) (string, bool)
	// Logger receives breadcrumbs (category "config"); nil means slog.Default().
	Logger *slog.Logger
}

// DefaultWatchInterval is used by Watch when it is given a non-positive interval.
const DefaultWatchInterval = time.Second

// DefaultPath is os.UserConfigDir()/minis-studio-worker/config.toml.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: default path: %w", err)
	}
	return filepath.Join(dir, "minis-studio-worker", "config.toml"), nil
}

// Store owns one config file. It is safe for concurrent use; several Stores (or processes) may
// share a file: Update re-reads before writing and Reload picks up foreign writes.
type Store struct {
	path      string
	opts      Options
	lookupEnv func(string) (string, bool)
	log       *slog.Logger
	rename    func(oldpath, newpath string) error // replaced by tests to simulate failure
	afterTick func()                              // test hook: called after each Watch tick

	mu   sync.Mutex
	eff  Settings // file + env overrides
	info os.FileInfo
}

// Open loads path ("" means DefaultPath). A missing file is created with defaults (dirs 0700,
// file 0600). A file that does not parse yields *ParseError; a value of the wrong type or an
// invalid value yields an error wrapping *FieldError naming the key and file; in both cases the
// file is left as it is. An invalid STUDIO_WORKER_* variable yields an error naming it.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	s := &Store{path: path, opts: opts, lookupEnv: opts.LookupEnv, log: opts.Logger, rename: os.Rename}
	if s.lookupEnv == nil {
		s.lookupEnv = os.LookupEnv
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("category", "config")

	st, created, err := s.readOrCreate()
	if err != nil {
		return nil, err
	}
	eff, envVars, err := s.applyEnv(st.settings)
	if err != nil {
		return nil, err
	}
	s.eff, s.info = eff, st.info
	s.log.Info("config loaded", "path", path, "created", created, "registered", eff.Registered(),
		"env_overrides", envVars)
	return s, nil
}

// readOrCreate reads the file, writing first-run defaults when it is missing.
func (s *Store) readOrCreate() (fileState, bool, error) {
	st, err := readFile(s.path)
	if err == nil {
		return st, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fileState{}, false, err
	}
	st = s.firstRun()
	info, err := s.write(st.raw, st.settings, st.rawModelsRoot)
	if err != nil {
		return fileState{}, false, err
	}
	st.info = info
	s.log.Info("config created with defaults", "path", s.path, "vram_threshold_gb", st.settings.VRAMThresholdGb)
	return st, true, nil
}

func (s *Store) firstRun() fileState {
	d := Default()
	if v := s.opts.DetectedVRAMGb; v > 0 && v < d.VRAMThresholdGb {
		d.VRAMThresholdGb = v
	}
	raw := d.ModelsRoot
	d.ModelsRoot = expandHome(raw)
	return fileState{settings: d, rawModelsRoot: raw, raw: map[string]any{}}
}

// Path is the config file path.
func (s *Store) Path() string { return s.path }

// Settings returns the effective settings: the file plus STUDIO_WORKER_* overrides.
func (s *Store) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eff
}

// Update re-reads the file (so another process's change is kept), applies fn to the file-level
// values (no env overrides; ModelsRoot expanded), validates, and saves atomically keeping keys
// this version does not know. Env overrides are never written. It returns the new effective
// settings; on any error (including from fn) nothing is written and the current effective
// settings are returned. A missing file is recreated from defaults. fn runs under the Store's
// lock, so it must not call the Store's methods.
func (s *Store) Update(fn func(*Settings) error) (Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	st, err := readFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		st, err = s.firstRun(), nil
	}
	if err != nil {
		return s.eff, fmt.Errorf("config: update: %w", err)
	}
	if st.info != nil && st.info.Size() == 0 {
		// As in Reload: most likely an editor truncated the file and is
		// writing it now. Saving over it would store defaults in place of
		// the registration and lose the editor's write as well.
		return s.eff, fmt.Errorf("config: update: %s is empty (is another program writing it?); not overwriting it", s.path)
	}
	next := st.settings
	if err := fn(&next); err != nil {
		return s.eff, fmt.Errorf("config: update: %w", err)
	}
	if err := next.Validate(); err != nil {
		return s.eff, fmt.Errorf("config: update: %w", err)
	}
	eff, _, err := s.applyEnv(next)
	if err != nil {
		return s.eff, fmt.Errorf("config: update: %w", err)
	}
	info, err := s.write(st.raw, next, st.rawModelsRoot)
	if err != nil {
		return s.eff, fmt.Errorf("config: update: %w", err)
	}
	s.eff, s.info = eff, info
	s.log.Info("config saved", "path", s.path, "registered", next.Registered())
	return eff, nil
}

func (s *Store) write(raw map[string]any, set Settings, rawModelsRoot string) (os.FileInfo, error) {
	data, err := encode(raw, set, rawModelsRoot)
	if err != nil {
		return nil, err
	}
	info, err := writeAtomic(s.path, data, s.rename)
	if err != nil {
		return nil, err
	}
	// The new file is in place; a failed directory sync only weakens durability, so it is
	// reported but the save counts.
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		s.log.Warn("config dir sync failed", "path", s.path, "err", err)
	}
	return info, nil
}

// Reload re-reads the file if its identity, size or mtime changed since the last load or save,
// and reports whether the effective settings changed. On error (missing, unparseable or
// invalid file) the last good settings stay in effect.
func (s *Store) Reload() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	info, err := os.Stat(s.path)
	if err != nil {
		return false, fmt.Errorf("config: reload: %w", err)
	}
	if sameStat(s.info, info) {
		return false, nil
	}
	if info.Size() == 0 {
		// Most likely another program truncated the file and has not written it yet; reading
		// it now would silently fall back to defaults (dropping the registration). Check again
		// on the next call.
		return false, nil
	}
	st, err := readFile(s.path)
	if err != nil {
		return false, fmt.Errorf("config: reload: %w", err)
	}
	eff, _, err := s.applyEnv(st.settings)
	if err != nil {
		return false, fmt.Errorf("config: reload: %w", err)
	}
	changed = eff != s.eff
	s.eff, s.info = eff, st.info
	if changed {
		s.log.Info("config reloaded", "path", s.path, "registered", eff.Registered())
	}
	return changed, nil
}

func sameStat(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return false
	}
	// SameFile catches an atomic replace (new inode) even when size and mtime match.
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Watch calls Reload every interval (DefaultWatchInterval when every <= 0) until ctx is done,
// and calls onChange with the new effective settings whenever they differ from the last ones
// this Watch saw, whether another process or this Store's Update changed them. A file that
// becomes unreadable is logged once per distinct error; the last good settings stay.
func (s *Store) Watch(ctx context.Context, every time.Duration, onChange func(Settings)) {
	if every <= 0 {
		every = DefaultWatchInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	last := s.Settings()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last, lastErr = s.watchTick(last, lastErr, onChange)
		if s.afterTick != nil {
			s.afterTick()
		}
	}
}

func (s *Store) watchTick(last Settings, lastErr string, onChange func(Settings)) (Settings, string) {
	if _, err := s.Reload(); err != nil {
		if msg := err.Error(); msg != lastErr {
			s.log.Warn("config file unusable; keeping last good settings", "path", s.path, "err", msg)
			return last, msg
		}
		return last, lastErr
	}
	if lastErr != "" {
		s.log.Info("config file usable again", "path", s.path)
	}
	if cur := s.Settings(); cur != last {
		if onChange != nil {
			onChange(cur)
		}
		return cur, ""
	}
	return last, ""
}

// applyEnv overlays STUDIO_WORKER_<KEY> variables (empty ones are ignored, like Viper's
// AutomaticEnv). It returns the names of the variables used (never their values).
func (s *Store) applyEnv(file Settings) (Settings, []string, error) {
	eff := file
	var used []string
	for _, f := range fields {
		name := EnvVar(f.key)
		v, ok := s.lookupEnv(name)
		if !ok || v == "" {
			continue
		}
		if err := f.setFromEnv(&eff, v); err != nil {
			return file, nil, fmt.Errorf("config: environment variable %s: %w", name, err)
		}
		if f.key == KeyModelsRoot {
			eff.ModelsRoot = expandHome(eff.ModelsRoot)
		}
		used = append(used, name)
	}
	if err := eff.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			if _, ok := s.lookupEnv(EnvVar(fe.Field)); ok {
				return file, nil, fmt.Errorf("config: environment variable %s: %w", EnvVar(fe.Field), err)
			}
		}
		return file, nil, fmt.Errorf("config: %w", err)
	}
	return eff, used, nil
}
