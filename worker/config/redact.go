package config

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// SecretKeys are the settings whose values are credentials: this version's
// and the reference's local API token, which this version keeps untouched.
var SecretKeys = []string{KeyAuthToken, KeyRegistrationSecret, "local_api_token"}

// RedactedMarker replaces a secret value in printed settings.
const RedactedMarker = "[redacted]"

// Redact returns the settings document with every secret value replaced,
// wherever it stands and however its key is cased (Viper matches keys
// case-insensitively, so Auth_Token is the token too). It decodes and
// re-encodes rather than filtering lines, so multi-line strings and quoted
// keys cannot slip through.
func Redact(data []byte) ([]byte, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: redact: the file does not parse")
	}
	redactIn(doc)
	out, err := toml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("config: redact: %w", err)
	}
	return out, nil
}

func redactIn(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if isSecretKey(k) {
				t[k] = RedactedMarker
				continue
			}
			redactIn(val)
		}
	case []any:
		for _, e := range t {
			redactIn(e)
		}
	case []map[string]any:
		for _, e := range t {
			redactIn(e)
		}
	}
}

func isSecretKey(k string) bool {
	for _, s := range SecretKeys {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}
