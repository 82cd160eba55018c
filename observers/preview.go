package observers

import (
	"strings"
	"unicode/utf8"
)

// PromptPreview clips s to PromptPreviewChars runes and appends "…" when it
// clipped. The result is always valid UTF-8: each invalid byte counts as one
// rune and becomes U+FFFD, because the preview is only ever displayed.
func PromptPreview(s string) string {
	if len(s) <= PromptPreviewChars && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), PromptPreviewChars*utf8.UTFMax) + len("…"))
	n := 0
	for _, r := range s {
		if n == PromptPreviewChars {
			b.WriteString("…")
			return b.String()
		}
		b.WriteRune(r) // utf8.RuneError for an invalid byte writes U+FFFD
		n++
	}
	return b.String()
}
