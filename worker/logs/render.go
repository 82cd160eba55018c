package logs

import (
	"encoding"
	"fmt"
	"log/slog"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// appendAttr renders a as ` key=value` the way slog.TextHandler does, so a
// shipped message reads like the stderr line: keys qualified by prefix,
// groups flattened with ".", empty attributes and empty groups elided.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return buf
		}
		if a.Key != "" {
			prefix = prefix + a.Key + "."
		}
		for _, ga := range attrs {
			buf = appendAttr(buf, prefix, ga)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = appendKey(buf, prefix, a.Key)
	buf = append(buf, '=')
	return appendValue(buf, a.Value)
}

func appendKey(buf []byte, prefix, key string) []byte {
	switch {
	case prefix == "":
		return appendString(buf, key)
	case !needsQuoting(prefix) && (key == "" || !needsQuoting(key)):
		return append(append(buf, prefix...), key...)
	default:
		return strconv.AppendQuote(buf, prefix+key)
	}
}

// appendValue mirrors slog's text value rules.
func appendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		return append(buf, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
	case slog.KindAny:
		switch x := v.Any().(type) {
		case encoding.TextMarshaler:
			data, err := x.MarshalText()
			if err != nil {
				return appendString(buf, "!ERROR:"+err.Error())
			}
			return appendString(buf, string(data))
		case []byte:
			return strconv.AppendQuote(buf, string(x))
		}
		return appendString(buf, fmt.Sprintf("%+v", v.Any()))
	default:
		return appendString(buf, v.String())
	}
}

func appendString(buf []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

// needsQuoting is slog.TextHandler's rule: quote empty strings and anything
// with spaces, '=', '"', control characters, non-printing runes or invalid
// UTF-8, so a value can never be mistaken for another key=value pair.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 || b == ' ' || b == '=' || b == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
