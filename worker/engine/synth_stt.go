package engine

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

const sttTextPrefix = "[synthetic] transcript of "

// seconds marshals with one decimal ("1.0"), as Whisper-style outputs print
// times; encoding/json would write a float 1 as "1".
type seconds float64

func (s seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(s), 'f', 1, 64), nil
}

type sttSegment struct {
	ID    int     `json:"id"`
	Start seconds `json:"start"`
	End   seconds `json:"end"`
	Text  string  `json:"text"`
}

type sttResult struct {
	Text     string       `json:"text"`
	Language string       `json:"language"`
	Duration seconds      `json:"duration"`
	Segments []sttSegment `json:"segments"`
}

// synthSTT returns a Whisper-shaped transcript keyed by the input URL. The URL
// is never fetched: the synthetic engine must not touch the network.
func synthSTT(d *digest, t *protocol.STTTask) (Result, error) {
	if t.InputURL == "" {
		return Result{}, &InvalidTaskError{Kind: protocol.KindAudioSTT, Field: "inputUrl", Msg: "empty"}
	}
	h := d.hash16()
	text := sttTextPrefix + string(h[:])
	lang := t.Language
	if lang == "" {
		lang = "en"
	}
	b, err := json.Marshal(sttResult{
		Text:     text,
		Language: lang,
		Duration: 1,
		Segments: []sttSegment{{ID: 0, Start: 0, End: 1, Text: text}},
	})
	if err != nil {
		return Result{}, fmt.Errorf("synthetic audio_stt: encode: %w", err)
	}
	return Result{JSON: b}, nil
}
