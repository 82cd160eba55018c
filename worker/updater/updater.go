package updater

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/creativeprojects/go-selfupdate"
	"github.com/creativeprojects/go-selfupdate/update"

	"github.com/minis-gg/studio-worker/observers"
	"github.com/minis-gg/studio-worker/worker/config"
)

// Release layout shared with scripts/release.sh.
const (
	// BinaryName is the executable inside every release archive (plus ".exe"
	// on Windows).
	BinaryName = "studio-worker"
	// ChecksumsFile lists "sha256  name" for every archive of a release.
	ChecksumsFile = "checksums.txt"
)

// Timeouts keep a hung feed from stalling the loop forever.
const (
	CheckTimeout   = 2 * time.Minute
	InstallTimeout = 10 * time.Minute
)

const logCategory = "auto-update"

// JobSlot is the one-job slot shared with studio offers (observers.Set).
type JobSlot interface {
	Busy() bool
	TryReserveJob() (release func(), ok bool)
}

// Recorder keeps the outcomes for the About tab (observers.Set).
type Recorder interface {
	RecordUpdateCheck(c observers.UpdateCheck)
}

// Options configure an Updater. Zero values take production defaults.
type Options struct {
	// Settings returns the live settings (required; *config.Store's
	// Settings method), read at every tick and check.
	Settings func() config.Settings
	// Version is the running binary's version (main.version).
	Version string
	// ExePath is the binary to replace; "" → os.Executable, symlinks resolved.
	ExePath string
	// Slot is the job slot; nil for one-shot commands that run no jobs.
	Slot JobSlot
	// Recorder receives every loop outcome; nil → not recorded.
	Recorder Recorder
	// Restart is called after a successful install, with the job slot still
	// held; the slot is released when it returns. The runtime's Restart
	// stops the worker (which then execs the new binary) and returns at
	// once; ExecRestart, for a caller without a runtime, does not return.
	Restart func() error
	Logger  *slog.Logger
	// Tick is how much time each loop tick stands for (default 60 s).
	Tick time.Duration
	// Ticks replaces the real ticker (tests). Each receive counts as Tick.
	Ticks <-chan time.Time
	// Now stamps the recorded outcomes (default time.Now).
	Now func() time.Time
	// AssetPrefix selects the archive variant: <prefix>_<os>_<arch>.tar.gz
	// (.zip). Default DefaultAssetPrefix, which depends on the build.
	AssetPrefix string
}

// DefaultTick is the reference's AUTO_UPDATE_TICK.
const DefaultTick = 60 * time.Second

// Updater checks the feed named in the settings and installs newer
// releases. Create it with New.
type Updater struct {
	opts    Options
	exe     string
	exeErr  error
	logger  *slog.Logger
	version string
}

// New returns an Updater. It does not touch the network.
func New(opts Options) *Updater {
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AssetPrefix == "" {
		opts.AssetPrefix = DefaultAssetPrefix
	}
	u := &Updater{opts: opts, logger: opts.Logger.With("category", logCategory), version: opts.Version, exe: opts.ExePath}
	if u.exe == "" {
		// Resolved now: after an install the running binary's own path may
		// no longer name a file, and an error only matters at install time.
		u.exe, u.exeErr = ResolveExecutable()
	}
	return u
}

// ResolveExecutable is the running binary's path with symlinks resolved, so
// an install replaces the real file rather than the link.
func ResolveExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate executable: %w", err)
	}
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("locate executable: %w", err)
	}
	return real, nil
}

// Check is the answer of a manual or scheduled check.
type Check struct {
	Feed      string // without credentials
	Current   string
	Latest    string // "" when the feed has no release for this platform
	Available bool   // Latest is newer than Current
	// Dropped counts releases ignored because their tag is not a version.
	Dropped int
}

// String is the check-update line: "up to date: <v>" or
// "update available: <cur> -> <new>".
func (c Check) String() string {
	if c.Available {
		return fmt.Sprintf("update available: %s -> %s", c.Current, c.Latest)
	}
	return "up to date: " + c.Current
}

// CheckNow reads the feed and says whether a newer release exists. It never
// installs. The CLI's check-update, the tray and the About tab use it.
func (u *Updater) CheckNow(ctx context.Context) (Check, error) {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	_, _, c, err := u.detect(ctx, u.opts.Settings())
	if err != nil {
		return c, err
	}
	u.logger.Info("manual check: "+c.String(), "feed", c.Feed, "dropped", c.Dropped)
	return c, nil
}

// UpdateNow installs the newest release over the binary on disk, if it is
// newer, without touching the job slot or restarting: a running worker
// notices the new file itself (WatchExecutable). The update command uses it.
func (u *Updater) UpdateNow(ctx context.Context) (Check, error) {
	ctx, cancel := context.WithTimeout(ctx, InstallTimeout)
	defer cancel()
	up, rel, c, err := u.detect(ctx, u.opts.Settings())
	if err != nil || !c.Available {
		return c, err
	}
	if err := u.install(ctx, up, rel); err != nil {
		return c, err
	}
	u.logger.Info(fmt.Sprintf("installed %s over %s", c.Latest, u.exe))
	return c, nil
}

// ExePath is the binary an install replaces.
func (u *Updater) ExePath() (string, error) { return u.exe, u.exeErr }

// detect lists the feed and finds the newest release for this platform.
// The returned go-selfupdate Updater must be the one that installs: it holds
// the validator, and a release detected without one has no checksums asset.
func (u *Updater) detect(ctx context.Context, s config.Settings) (*selfupdate.Updater, *selfupdate.Release, Check, error) {
	c := Check{Current: u.version}
	cur, err := semver.NewVersion(u.version)
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates: current version %q is not a semantic version: %w", u.version, err)
	}
	feed, err := ParseFeed(s.AutoUpdateFeed)
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates: %w", err)
	}
	c.Feed = feed.String()
	src, err := feed.source()
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates: %w", &config.FieldError{Field: config.KeyAutoUpdateFeed, Msg: "unusable: " + err.Error()})
	}
	counting := &tagCheckingSource{Source: src, logger: u.logger}
	up, err := selfupdate.NewUpdater(selfupdate.Config{
		Source:     counting,
		Validator:  &selfupdate.ChecksumValidator{UniqueFilename: ChecksumsFile},
		Prerelease: s.AutoUpdatePrerelease,
		Filters:    []string{assetPattern(u.opts.AssetPrefix)},
	})
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates: %w", err)
	}
	rel, found, err := up.DetectLatest(ctx, feed.slug())
	c.Dropped = counting.dropped
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates from %s: %w", c.Feed, classify(err))
	}
	if !found {
		return up, nil, c, nil
	}
	latest, err := semver.NewVersion(rel.Version())
	if err != nil {
		return nil, nil, c, fmt.Errorf("check for updates from %s: release version %q: %w", c.Feed, rel.Version(), err)
	}
	c.Latest = latest.String()
	c.Available = latest.GreaterThan(cur)
	return up, rel, c, nil
}

// install downloads, verifies and swaps in rel. go-selfupdate keeps the
// whole archive in memory until it validated, so a failed download or a bad
// checksum never writes a byte beside the binary.
//
// The archive carries "studio-worker"; go-selfupdate looks inside for a file
// named like the target. So the new binary is first extracted into a staging
// file of that name beside the executable, then swapped in with
// update.Apply, which handles Windows (a running exe can be renamed, not
// overwritten) and rolls back a failed swap. That way a binary installed
// under another name (studio-worker-headless) updates too.
func (u *Updater) install(ctx context.Context, up *selfupdate.Updater, rel *selfupdate.Release) error {
	if u.exeErr != nil {
		return fmt.Errorf("install update: %w", u.exeErr)
	}
	info, err := os.Stat(u.exe)
	if err != nil {
		return fmt.Errorf("install update: %w", err)
	}
	stageDir, err := os.MkdirTemp(filepath.Dir(u.exe), ".studio-worker-update-")
	if err != nil {
		return fmt.Errorf("install update: staging dir: %w", err)
	}
	defer os.RemoveAll(stageDir)
	name := BinaryName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	stage := filepath.Join(stageDir, name)
	// update.Apply renames the target aside before moving the new file in,
	// so the staging target has to exist.
	if err := os.WriteFile(stage, nil, 0o700); err != nil {
		return fmt.Errorf("install update: staging file: %w", err)
	}
	if err := up.UpdateTo(ctx, rel, stage); err != nil {
		return fmt.Errorf("install update %s: %w", rel.Version(), classify(err))
	}
	f, err := os.Open(stage)
	if err != nil {
		return fmt.Errorf("install update: %w", err)
	}
	defer f.Close()
	err = update.Apply(f, update.Options{TargetPath: u.exe, TargetMode: info.Mode().Perm() | 0o100})
	if rb := update.RollbackError(err); rb != nil {
		return fmt.Errorf("install update %s over %s: %w (and restoring the old binary failed: %v)", rel.Version(), u.exe, err, rb)
	}
	if err != nil {
		return fmt.Errorf("install update %s over %s: %w", rel.Version(), u.exe, err)
	}
	return nil
}

// versionInTag mirrors go-selfupdate's tag reading: the first x.y.z in the
// tag, so v1.2.3 and studio-worker-v1.2.3 both work.
var versionInTag = regexp.MustCompile(`\d+\.\d+\.\d+`)

// tagCheckingSource counts and logs the releases go-selfupdate will skip
// because their tag holds no version (it skips them silently).
type tagCheckingSource struct {
	selfupdate.Source
	logger  *slog.Logger
	dropped int
}

func (s *tagCheckingSource) ListReleases(ctx context.Context, repo selfupdate.Repository) ([]selfupdate.SourceRelease, error) {
	rels, err := s.Source.ListReleases(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	for _, r := range rels {
		if r == nil || r.GetDraft() {
			continue
		}
		tag := r.GetTagName()
		loc := versionInTag.FindStringIndex(tag)
		if loc == nil {
			s.dropped++
			s.logger.Warn(fmt.Sprintf("ignoring release tag %q: not a version", tag))
			continue
		}
		if _, err := semver.NewVersion(tag[loc[0]:]); err != nil {
			s.dropped++
			s.logger.Warn(fmt.Sprintf("ignoring release tag %q: %v", tag, err))
		}
	}
	return rels, nil
}

// UnverifiedError is an update refused because its archive could not be
// verified against checksums.txt (missing file, missing entry, or mismatch).
// The binary on disk is untouched.
type UnverifiedError struct{ Err error }

func (e *UnverifiedError) Error() string { return "unverified release refused: " + e.Err.Error() }
func (e *UnverifiedError) Unwrap() error { return e.Err }

// classify marks verification failures with UnverifiedError.
func classify(err error) error {
	for _, v := range []error{
		selfupdate.ErrValidationAssetNotFound, selfupdate.ErrChecksumValidationFailed,
		selfupdate.ErrHashNotFound, selfupdate.ErrIncorrectChecksumFile,
	} {
		if errors.Is(err, v) {
			return &UnverifiedError{Err: err}
		}
	}
	return err
}

// assetPattern matches exactly this platform's archive of one variant.
// go-selfupdate lower-cases names before matching, and with a filter set it
// no longer checks the os/arch suffix itself, so the pattern carries both.
func assetPattern(prefix string) string {
	return "^" + regexp.QuoteMeta(strings.ToLower(prefix)) + "_" + runtime.GOOS + "_" + runtime.GOARCH + `\.(tar\.gz|zip)$`
}
