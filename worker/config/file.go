package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/viper"
)

// ParseError reports a config file that is not valid TOML. Msg is the parser's reason with
// anything quoted from the file removed, so a mistyped secret is never echoed.
type ParseError struct {
	Path   string
	Line   int
	Column int
	Msg    string
}

// Error is "<path>:<line>:<col>: <msg>", or "<path>: <msg>" when the parser gave no position
// (go-toml reports duplicate keys and table redefinitions without one).
func (e *ParseError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
}

// fileState is one read of the file.
type fileState struct {
	settings Settings // file-level values over defaults, models_root expanded
	// rawModelsRoot is models_root as written (e.g. "~/models"), so a save that did not change
	// the expanded path keeps the portable form.
	rawModelsRoot string
	raw           map[string]any // the whole document, for keeping unknown keys on save
	info          os.FileInfo
}

// readFile reads and decodes path. The error wraps fs.ErrNotExist when the file is missing.
func readFile(path string) (fileState, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileState{}, fmt.Errorf("config: read %s: %w", path, err)
	}
	defer f.Close()
	// Stat and read the same open file, so the recorded stat belongs to the bytes decoded even
	// if another process renames a new file into place meanwhile.
	info, err := f.Stat()
	if err != nil {
		return fileState{}, fmt.Errorf("config: stat %s: %w", path, err)
	}
	if info.IsDir() {
		return fileState{}, fmt.Errorf("config: read %s: is a directory", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fileState{}, fmt.Errorf("config: read %s: %w", path, err)
	}
	st, err := decode(path, data)
	if err != nil {
		return fileState{}, err
	}
	st.info = info
	return st, nil
}

func decode(path string, data []byte) (fileState, error) {
	// A fresh Viper per read: Viper is not safe for concurrent use and holds no state we need.
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return fileState{}, toParseError(path, err)
	}
	s := Default()
	for _, f := range fields {
		if !v.IsSet(f.key) {
			continue
		}
		if err := f.setFromFile(&s, v.Get(f.key)); err != nil {
			return fileState{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	raw := map[string]any{}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return fileState{}, toParseError(path, err)
	}
	st := fileState{rawModelsRoot: s.ModelsRoot, raw: raw}
	s.ModelsRoot = expandHome(s.ModelsRoot)
	if err := s.Validate(); err != nil {
		return fileState{}, fmt.Errorf("config %s: %w", path, err)
	}
	st.settings = s
	return st, nil
}

// unicodeEcho matches go-toml's "%#U" rendering of an offending character (U+0061 'a').
var unicodeEcho = regexp.MustCompile(`\s*U\+[0-9A-Fa-f]{4,6}(\s+'[^']*')?`)

func toParseError(path string, err error) *ParseError {
	pe := &ParseError{Path: path, Msg: "not valid TOML"}
	msg := ""
	var de *toml.DecodeError
	if errors.As(err, &de) {
		pe.Line, pe.Column = de.Position()
		msg = de.Error()
	} else {
		// Positionless go-toml errors ("key x is already defined") name keys, never values.
		var cpe viper.ConfigParseError
		if errors.As(err, &cpe) {
			msg = cpe.Unwrap().Error()
		}
	}
	msg = strings.TrimPrefix(msg, "toml: ")
	// Detail after ": " is where go-toml quotes tokens (strconv errors, the bad character).
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(unicodeEcho.ReplaceAllString(msg, ""))
	if strings.HasSuffix(msg, " got") {
		msg += " another character"
	}
	if msg != "" {
		pe.Msg = msg
	}
	return pe
}

// encode renders the file: known keys first in contract order, then every key this version
// does not know (tables last, as go-toml writes them), so nothing another version wrote is lost.
func encode(raw map[string]any, s Settings, rawModelsRoot string) ([]byte, error) {
	if rawModelsRoot != "" && s.ModelsRoot != rawModelsRoot && expandHome(rawModelsRoot) == s.ModelsRoot {
		s.ModelsRoot = rawModelsRoot
	}
	var buf bytes.Buffer
	for _, f := range fields {
		v, ok := f.fileValue(&s)
		if !ok {
			continue
		}
		b, err := toml.Marshal(map[string]any{f.key: v})
		if err != nil {
			return nil, fmt.Errorf("config: encode %s: %w", f.key, err)
		}
		buf.Write(b)
	}
	unknown := map[string]any{}
	for k, v := range raw {
		// Case-insensitive, because Viper reads keys case-insensitively: a stray
		// "Enabled" must not survive next to the "enabled" we write.
		if !isKnownKey(k) {
			unknown[k] = v
		}
	}
	if len(unknown) > 0 {
		b, err := toml.Marshal(unknown)
		if err != nil {
			return nil, fmt.Errorf("config: encode unknown keys: %w", err)
		}
		buf.WriteByte('\n')
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// writeAtomic replaces path with data: temp file (0600) in the same directory, fsync, rename,
// fsync the directory. On failure the old file is untouched and the temp removed. It returns
// the stat of the written file.
func writeAtomic(path string, data []byte, rename func(string, string) error) (info os.FileInfo, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("config: create dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("config: create temp file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return nil, fmt.Errorf("config: write %s: %w", tmpName, err)
	}
	if err = tmp.Sync(); err != nil {
		return nil, fmt.Errorf("config: sync %s: %w", tmpName, err)
	}
	// Stat before rename: rename keeps the inode and mtime, and this cannot pick up a file
	// another process renames into place right after us.
	if info, err = tmp.Stat(); err != nil {
		return nil, fmt.Errorf("config: stat %s: %w", tmpName, err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return nil, fmt.Errorf("config: close %s: %w", tmpName, err)
	}
	if err = rename(tmpName, path); err != nil {
		return nil, fmt.Errorf("config: replace %s: %w", path, err)
	}
	return info, nil
}

// syncDir makes the rename durable. Windows cannot fsync a directory; there the rename is
// already as durable as it gets.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// expandHome expands a leading ~ to the home directory. Without a home directory the default
// falls back to a temp folder (as the reference); other ~ paths are left as written.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		if p == DefaultModelsRoot {
			return filepath.Join(os.TempDir(), "studio-worker-models")
		}
		return p
	}
	return filepath.Join(home, p[1:])
}
