package engine

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

const (
	llmModel       = "synthetic-llm"
	llmReplyPrefix = "[synthetic] reply to prompt #"
	// llmCompletionTokens is wordCount(llmReplyPrefix + hash16): the reply's
	// words never vary, only the hash does.
	llmCompletionTokens = 5
)

// synthLLM answers with an OpenAI chat.completion keyed by the last message.
// It sits on the job benchmark path, so the JSON is appended by hand: every
// string in it is a constant or hex digits, so nothing needs escaping.
// Token counts are whitespace word counts (prompt = the last message only,
// the string the output is keyed by).
func synthLLM(d *digest, prompt string) Result {
	h := d.hash16()
	promptTokens := wordCount(prompt)
	b := make([]byte, 0, 320)
	b = append(b, `{"id":"chatcmpl-`...)
	b = append(b, h[:]...)
	b = append(b, `","object":"chat.completion","model":"`+llmModel+`","choices":[{"index":0,"message":{"role":"assistant","content":"`+llmReplyPrefix...)
	b = append(b, h[:]...)
	b = append(b, `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, llmCompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens+llmCompletionTokens), 10)
	b = append(b, "}}"...)
	return Result{JSON: b}
}

// asciiSpace marks the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// wordCount is len(strings.Fields(s)) without allocating.
func wordCount(s string) int {
	n := 0
	inWord := false
	for i := 0; i < len(s); {
		var space bool
		if c := s[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		switch {
		case space:
			inWord = false
		case !inWord:
			inWord = true
			n++
		}
	}
	return n
}
