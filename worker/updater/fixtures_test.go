package updater

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minis-gg/studio-worker/worker/config"
)

// platformAsset is the archive name go-selfupdate picks on this machine.
func platformAsset() string {
	return fmt.Sprintf("%s_%s_%s.tar.gz", BinaryName, runtime.GOOS, runtime.GOARCH)
}

type asset struct {
	name string
	data []byte
}

type fakeRelease struct {
	tag        string
	draft      bool
	prerelease bool
	assets     []asset
}

// tarGz packs bin as the one file of a release archive.
func tarGz(t *testing.T, name string, bin []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checksums is checksums.txt over the given assets.
func checksums(as ...asset) asset {
	var b strings.Builder
	for _, a := range as {
		sum := sha256.Sum256(a.data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), a.name)
	}
	return asset{name: ChecksumsFile, data: []byte(b.String())}
}

// relOpt shapes a fixture release.
type relOpt func(r *fakeRelease, archive *asset)

func draft(r *fakeRelease, _ *asset)      { r.draft = true }
func prerelease(r *fakeRelease, _ *asset) { r.prerelease = true }

// noChecksums publishes the archive without checksums.txt.
func noChecksums(r *fakeRelease, _ *asset) {
	r.assets = slices.DeleteFunc(r.assets, func(a asset) bool { return a.name == ChecksumsFile })
}

// tampered changes the archive after its checksum was published.
func tampered(r *fakeRelease, archive *asset) {
	for i := range r.assets {
		if r.assets[i].name == archive.name {
			d := bytes.Clone(r.assets[i].data)
			d[len(d)/2] ^= 0xff
			r.assets[i].data = d
		}
	}
}

// otherChecksums publishes a checksums.txt that does not list the archive.
func otherChecksums(r *fakeRelease, _ *asset) {
	for i := range r.assets {
		if r.assets[i].name == ChecksumsFile {
			r.assets[i] = checksums(asset{name: "studio-worker_plan9_mips.tar.gz", data: []byte("x")})
		}
	}
}

// release builds a release carrying bin for this platform plus checksums.txt.
// bin nil → placeholder bytes (enough for everything but running it).
func release(t *testing.T, tag string, bin []byte, opts ...relOpt) fakeRelease {
	t.Helper()
	if bin == nil {
		bin = []byte("placeholder binary " + tag)
	}
	archive := asset{name: platformAsset(), data: tarGz(t, exeName(), bin)}
	r := fakeRelease{tag: tag, assets: []asset{archive, checksums(archive)}}
	for _, o := range opts {
		o(&r, &archive)
	}
	return r
}

// feedServer serves releases as either a self-hosted go-selfupdate feed
// (<base>/acme/worker/manifest.yaml) or a fake GitHub Enterprise releases
// API (<base>/api/v3/repos/acme/worker/releases), on loopback.
type feedServer struct {
	kind FeedKind
	srv  *httptest.Server
	Feed string // the auto_update_feed value

	mu       sync.Mutex
	releases []fakeRelease
	status   int      // non-zero: every request answers this status
	onList   func()   // runs while releases are being listed
	cut      []string // asset names whose download is cut half way

	lists     atomic.Int32
	downloads atomic.Int32
}

const (
	feedOwner = "acme"
	feedRepo  = "worker"
)

func newFeedServer(t *testing.T, kind FeedKind, rels ...fakeRelease) *feedServer {
	t.Helper()
	f := &feedServer{kind: kind, releases: rels}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	switch kind {
	case FeedHTTP:
		f.Feed = f.srv.URL + "/" + feedOwner + "/" + feedRepo
	case FeedGitHub:
		f.Feed = f.srv.URL + "/api/v3/repos/" + feedOwner + "/" + feedRepo + "/releases"
	}
	return f
}

func (f *feedServer) set(fn func(f *feedServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	rels, status, onList, cut := f.releases, f.status, f.onList, f.cut
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, "feed down", status)
		return
	}
	httpPrefix := "/" + feedOwner + "/" + feedRepo + "/"
	ghPrefix := "/api/v3/repos/" + feedOwner + "/" + feedRepo + "/releases"
	switch {
	case f.kind == FeedHTTP && r.URL.Path == httpPrefix+"manifest.yaml":
		f.lists.Add(1)
		if onList != nil {
			onList()
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(manifestYAML(rels))
	case f.kind == FeedHTTP && strings.HasPrefix(r.URL.Path, httpPrefix):
		// <tag>/<asset name>
		tag, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, httpPrefix), "/")
		f.serveAsset(w, rels, cut, func(i, _ int, rel fakeRelease, a asset) bool { return rel.tag == tag && a.name == name })
	case f.kind == FeedGitHub && r.URL.Path == ghPrefix:
		f.lists.Add(1)
		if onList != nil {
			onList()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(githubReleases(f.srv.URL, rels))
	case f.kind == FeedGitHub && strings.HasPrefix(r.URL.Path, ghPrefix+"/assets/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, ghPrefix+"/assets/"))
		f.serveAsset(w, rels, cut, func(i, j int, _ fakeRelease, _ asset) bool { return assetID(i, j) == id })
	default:
		http.NotFound(w, r)
	}
}

func (f *feedServer) serveAsset(w http.ResponseWriter, rels []fakeRelease, cut []string, match func(i, j int, r fakeRelease, a asset) bool) {
	for i, rel := range rels {
		for j, a := range rel.assets {
			if !match(i, j, rel, a) {
				continue
			}
			f.downloads.Add(1)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(a.data)))
			if !slices.Contains(cut, a.name) {
				_, _ = w.Write(a.data)
				return
			}
			// Half the body, then the connection dies under the client.
			_, _ = w.Write(a.data[:len(a.data)/2])
			w.(http.Flusher).Flush()
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = buf.Flush()
				_ = conn.Close()
			}
			return
		}
	}
	http.Error(w, "no such asset", http.StatusNotFound)
}

func releaseID(i int) int  { return i + 1 }
func assetID(i, j int) int { return (i+1)*100 + j }
func manifestYAML(rels []fakeRelease) []byte {
	var b strings.Builder
	b.WriteString("releases:\n")
	for i, r := range rels {
		fmt.Fprintf(&b, "  - id: %d\n    tag_name: %q\n    name: %q\n    draft: %t\n    prerelease: %t\n    assets:\n",
			releaseID(i), r.tag, r.tag, r.draft, r.prerelease)
		for j, a := range r.assets {
			fmt.Fprintf(&b, "      - id: %d\n        name: %q\n        size: %d\n        url: %q\n",
				assetID(i, j), a.name, len(a.data), r.tag+"/"+a.name)
		}
	}
	return []byte(b.String())
}

type ghAsset struct {
	ID                 int    `json:"id"`
	Name               string `json:"name"`
	Size               int    `json:"size"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

type ghRelease struct {
	ID         int       `json:"id"`
	TagName    string    `json:"tag_name"`
	Name       string    `json:"name"`
	Draft      bool      `json:"draft"`
	Prerelease bool      `json:"prerelease"`
	HTMLURL    string    `json:"html_url"`
	Assets     []ghAsset `json:"assets"`
}

func githubReleases(base string, rels []fakeRelease) []ghRelease {
	out := make([]ghRelease, 0, len(rels))
	for i, r := range rels {
		gr := ghRelease{ID: releaseID(i), TagName: r.tag, Name: r.tag, Draft: r.draft, Prerelease: r.prerelease,
			HTMLURL: base + "/" + feedOwner + "/" + feedRepo + "/releases/tag/" + r.tag, Assets: []ghAsset{}}
		for j, a := range r.assets {
			gr.Assets = append(gr.Assets, ghAsset{ID: assetID(i, j), Name: a.name, Size: len(a.data),
				BrowserDownloadURL: base + "/" + feedOwner + "/" + feedRepo + "/releases/download/" + r.tag + "/" + a.name})
		}
		out = append(out, gr)
	}
	return out
}

// liveSettings is a settings source a test can change between ticks.
type liveSettings struct {
	mu sync.Mutex
	s  config.Settings
}

func newLiveSettings(feed string, edit ...func(*config.Settings)) *liveSettings {
	s := config.Default()
	s.AutoUpdateFeed = feed
	for _, e := range edit {
		e(&s)
	}
	return &liveSettings{s: s}
}

func (l *liveSettings) Settings() config.Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

func (l *liveSettings) edit(fn func(*config.Settings)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(&l.s)
}

// installed writes content as the "current binary" in a fresh directory.
func installed(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// dirNames lists a directory, to prove nothing was left beside the binary.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// quiet drops the updater's log lines in tests that do not look at them.
var quiet = slog.New(slog.DiscardHandler)

var feedKinds = []struct {
	name string
	kind FeedKind
}{
	{"self-hosted", FeedHTTP},
	{"github", FeedGitHub},
}
