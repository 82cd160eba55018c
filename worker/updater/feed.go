package updater

import (
	"net/url"
	"strings"

	"github.com/creativeprojects/go-selfupdate"

	"github.com/minis-gg/studio-worker/worker/config"
)

// FeedKind says which go-selfupdate source reads a feed.
type FeedKind int

const (
	// FeedGitHub is a GitHub (or GitHub Enterprise) releases API.
	FeedGitHub FeedKind = iota + 1
	// FeedHTTP is a self-hosted feed: <base>/<owner>/<repo>/manifest.yaml
	// with the assets beside it.
	FeedHTTP
)

const publicGitHubAPIHost = "api.github.com"

// Feed is a parsed auto_update_feed.
type Feed struct {
	Kind FeedKind
	// BaseURL is the Enterprise API base for FeedGitHub ("" for
	// api.github.com) and the manifest base for FeedHTTP.
	BaseURL string
	Owner   string
	Repo    string
}

// ParseFeed reads auto_update_feed. A URL ending in
// /repos/OWNER/REPO/releases is a GitHub releases API (any host other than
// api.github.com is an Enterprise base URL, which is how a loopback fake is
// reached); any other http(s) URL <base>/<owner>/<repo> is a self-hosted
// feed. Errors are *config.FieldError naming auto_update_feed and never echo
// the URL, which may carry credentials.
func ParseFeed(raw string) (Feed, error) {
	bad := func(msg string) (Feed, error) {
		return Feed{}, &config.FieldError{Field: config.KeyAutoUpdateFeed, Msg: msg}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("must be an http(s) URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("must not carry a query or fragment")
	}
	segs := splitPath(u.Path)
	n := len(segs)
	if n >= 4 && segs[n-4] == "repos" && segs[n-1] == "releases" {
		f := Feed{Kind: FeedGitHub, Owner: segs[n-3], Repo: segs[n-2]}
		prefix := segs[:n-4]
		if u.Host == publicGitHubAPIHost && u.User == nil {
			if len(prefix) > 0 {
				return bad("a GitHub feed must be https://api.github.com/repos/OWNER/REPO/releases")
			}
			return f, nil
		}
		f.BaseURL = baseURL(u, prefix)
		return f, nil
	}
	if u.Host == publicGitHubAPIHost {
		return bad("a GitHub feed must be https://api.github.com/repos/OWNER/REPO/releases")
	}
	if n > 0 && segs[n-1] == "manifest.yaml" {
		segs, n = segs[:n-1], n-1
	}
	if n < 2 {
		return bad("a self-hosted feed must be <base>/<owner>/<repo> (the directory holding manifest.yaml)")
	}
	return Feed{Kind: FeedHTTP, BaseURL: baseURL(u, segs[:n-2]), Owner: segs[n-2], Repo: segs[n-1]}, nil
}

// String is the feed without credentials, for logs and errors.
func (f Feed) String() string {
	switch f.Kind {
	case FeedGitHub:
		base := "https://" + publicGitHubAPIHost + "/"
		if f.BaseURL != "" {
			base = redact(f.BaseURL)
		}
		return strings.TrimSuffix(base, "/") + "/repos/" + f.Owner + "/" + f.Repo + "/releases"
	case FeedHTTP:
		return strings.TrimSuffix(redact(f.BaseURL), "/") + "/" + f.Owner + "/" + f.Repo
	}
	return "(no feed)"
}

func (f Feed) slug() selfupdate.RepositorySlug {
	return selfupdate.NewRepositorySlug(f.Owner, f.Repo)
}

// source builds the go-selfupdate source for the feed.
func (f Feed) source() (selfupdate.Source, error) {
	if f.Kind == FeedHTTP {
		return selfupdate.NewHttpSource(selfupdate.HttpConfig{BaseURL: f.BaseURL})
	}
	// go-selfupdate reads GITHUB_TOKEN from the environment itself; it is
	// sent as a header and never appears here.
	return selfupdate.NewGitHubSource(selfupdate.GitHubConfig{EnterpriseBaseURL: f.BaseURL, EnterpriseUploadURL: f.BaseURL})
}

func splitPath(p string) []string {
	var out []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func baseURL(u *url.URL, prefix []string) string {
	b := url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/" + strings.Join(prefix, "/")}
	if len(prefix) > 0 {
		b.Path += "/"
	}
	return b.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil // a user name can be a token as much as a password can
	return u.String()
}
