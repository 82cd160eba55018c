package hostinfo

import (
	"os"
	"os/user"
	"strings"
)

// MachineName is the host name, or "unknown-host".
func MachineName() string { return machineName(os.Hostname) }

func machineName(hostname func() (string, error)) string {
	if h, err := hostname(); err == nil {
		if h = strings.TrimSpace(h); h != "" {
			return h
		}
	}
	return "unknown-host"
}

// Username is the login name of the current user (without a Windows DOMAIN\ prefix), else
// $USER or $USERNAME, else "unknown-user".
func Username() string { return username(user.Current, os.Getenv) }

func username(current func() (*user.User, error), getenv func(string) string) string {
	if u, err := current(); err == nil && u != nil {
		name := u.Username
		if i := strings.LastIndex(name, `\`); i >= 0 {
			name = name[i+1:]
		}
		if name = strings.TrimSpace(name); name != "" {
			return name
		}
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return "unknown-user"
}
