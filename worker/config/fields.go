package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type fieldKind int

const (
	kindString fieldKind = iota
	kindSecret
	kindFloat
	kindBool
	kindUint64
	kindUint32
)

// field ties a TOML key to its Settings field so reading, env overrides and writing share one
// table (and one key order).
type field struct {
	key  string
	kind fieldKind
	// omitZero: the key is left out of the file when the value is empty/zero (optional keys).
	omitZero bool
	ptr      func(*Settings) any
}

var fields = []field{
	{KeyAPIBaseURL, kindString, false, func(s *Settings) any { return &s.APIBaseURL }},
	{KeyWorkerID, kindString, true, func(s *Settings) any { return &s.WorkerID }},
	{KeyAuthToken, kindSecret, true, func(s *Settings) any { return &s.AuthToken }},
	{KeyVRAMThresholdGb, kindFloat, false, func(s *Settings) any { return &s.VRAMThresholdGb }},
	{KeyEnabled, kindBool, false, func(s *Settings) any { return &s.Enabled }},
	{KeyAutoStart, kindBool, false, func(s *Settings) any { return &s.AutoStart }},
	{KeyStartMinimised, kindBool, false, func(s *Settings) any { return &s.StartMinimised }},
	{KeyOnlyWhenIdle, kindBool, false, func(s *Settings) any { return &s.OnlyWhenIdle }},
	{KeyAutoUpdateEnabled, kindBool, false, func(s *Settings) any { return &s.AutoUpdateEnabled }},
	{KeyAutoUpdateIntervalSecs, kindUint64, false, func(s *Settings) any { return &s.AutoUpdateIntervalSecs }},
	{KeyAutoUpdateFeed, kindString, false, func(s *Settings) any { return &s.AutoUpdateFeed }},
	{KeyAutoUpdatePrerelease, kindBool, false, func(s *Settings) any { return &s.AutoUpdatePrerelease }},
	{KeyModelsRoot, kindString, false, func(s *Settings) any { return &s.ModelsRoot }},
	{KeyWSReconnectAttempts, kindUint32, true, func(s *Settings) any { return &s.WSReconnectAttempts }},
	{KeyInstallID, kindString, true, func(s *Settings) any { return &s.InstallID }},
	{KeyRegistrationRequestID, kindString, true, func(s *Settings) any { return &s.RegistrationRequestID }},
	{KeyRegistrationSecret, kindSecret, true, func(s *Settings) any { return &s.RegistrationSecret }},
	{KeyRegistrationRejected, kindString, true, func(s *Settings) any { return &s.RegistrationRejected }},
	{KeyNotifyJobCompleted, kindBool, false, func(s *Settings) any { return &s.NotifyJobCompleted }},
	{KeyNotifyJobFailed, kindBool, false, func(s *Settings) any { return &s.NotifyJobFailed }},
}

func isKnownKey(k string) bool {
	for _, f := range fields {
		if strings.EqualFold(f.key, k) {
			return true
		}
	}
	return false
}

// typeMsg is the FieldError message for a value of the wrong type (never the value itself).
func (f field) typeMsg() string {
	switch f.kind {
	case kindFloat:
		return "must be a number"
	case kindBool:
		return "must be true or false"
	case kindUint64:
		return "must be a whole number, 0 or more"
	case kindUint32:
		return fmt.Sprintf("must be a whole number from 0 to %d", uint32(math.MaxUint32))
	default:
		return "must be a string"
	}
}

// setFromFile stores a decoded TOML value (string, int64, float64, bool, ...) into s.
func (f field) setFromFile(s *Settings, v any) error {
	bad := &FieldError{Field: f.key, Msg: f.typeMsg()}
	switch p := f.ptr(s).(type) {
	case *string:
		x, ok := v.(string)
		if !ok {
			return bad
		}
		*p = x
	case *Secret:
		x, ok := v.(string)
		if !ok {
			return bad
		}
		*p = Secret(x)
	case *float64:
		switch x := v.(type) {
		case float64:
			*p = x
		case int64:
			*p = float64(x)
		default:
			return bad
		}
	case *bool:
		x, ok := v.(bool)
		if !ok {
			return bad
		}
		*p = x
	case *uint64:
		x, ok := v.(int64)
		if !ok || x < 0 {
			return bad
		}
		*p = uint64(x)
	case *uint32:
		x, ok := v.(int64)
		if !ok || x < 0 || x > math.MaxUint32 {
			return bad
		}
		*p = uint32(x)
	}
	return nil
}

// setFromEnv parses an environment value into s.
func (f field) setFromEnv(s *Settings, raw string) error {
	bad := &FieldError{Field: f.key, Msg: f.typeMsg()}
	raw = strings.TrimSpace(raw)
	switch p := f.ptr(s).(type) {
	case *string:
		*p = raw
	case *Secret:
		*p = Secret(raw)
	case *float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return bad
		}
		*p = x
	case *bool:
		x, err := strconv.ParseBool(raw)
		if err != nil {
			return bad
		}
		*p = x
	case *uint64:
		x, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return bad
		}
		*p = x
	case *uint32:
		x, err := strconv.ParseUint(raw, 10, 32)
		if err != nil {
			return bad
		}
		*p = uint32(x)
	}
	return nil
}

// fileValue is the value to write for this key, or ok=false to leave the key out.
func (f field) fileValue(s *Settings) (v any, ok bool) {
	switch p := f.ptr(s).(type) {
	case *string:
		v, ok = *p, *p != ""
	case *Secret:
		v, ok = p.Reveal(), *p != ""
	case *float64:
		v, ok = *p, *p != 0
	case *bool:
		v, ok = *p, *p
	case *uint64:
		v, ok = *p, *p != 0
	case *uint32:
		v, ok = *p, *p != 0
	}
	if !f.omitZero {
		ok = true
	}
	return v, ok
}

// EnvVar is the environment variable that overrides a TOML key, e.g. STUDIO_WORKER_ENABLED.
func EnvVar(key string) string { return "STUDIO_WORKER_" + strings.ToUpper(key) }
