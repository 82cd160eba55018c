package hostinfo

import (
	"errors"
	"os/user"
	"testing"
)

func TestMachineName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		host string
		err  error
		want string
	}{
		{"ok", "render-box", nil, "render-box"},
		{"trimmed", " render-box\n", nil, "render-box"},
		{"empty", "", nil, "unknown-host"},
		{"error", "ignored", errors.New("no"), "unknown-host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := machineName(func() (string, error) { return tc.host, tc.err })
			if got != tc.want {
				t.Errorf("machineName = %q, want %q", got, tc.want)
			}
		})
	}
	if MachineName() == "" {
		t.Error("MachineName() is empty")
	}
}

func TestUsername(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		user *user.User
		err  error
		env  map[string]string
		want string
	}{
		{"os user", &user.User{Username: "ada"}, nil, map[string]string{"USER": "env"}, "ada"},
		{"windows domain stripped", &user.User{Username: `CORP\ada`}, nil, nil, "ada"},
		{"lookup fails, USER", nil, errors.New("no"), map[string]string{"USER": "bob", "USERNAME": "win"}, "bob"},
		{"lookup fails, USERNAME", nil, errors.New("no"), map[string]string{"USERNAME": "win"}, "win"},
		{"empty user falls back", &user.User{}, nil, map[string]string{"USER": "bob"}, "bob"},
		{"nothing", nil, errors.New("no"), nil, "unknown-user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := username(
				func() (*user.User, error) { return tc.user, tc.err },
				func(k string) string { return tc.env[k] },
			)
			if got != tc.want {
				t.Errorf("username = %q, want %q", got, tc.want)
			}
		})
	}
	if Username() == "" {
		t.Error("Username() is empty")
	}
}
