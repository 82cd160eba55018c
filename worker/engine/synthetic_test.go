package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image/gif"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

func TestSyntheticModels(t *testing.T) {
	t.Parallel()
	s := NewSynthetic()
	if s.Name() != "synthetic" {
		t.Errorf("Name = %q", s.Name())
	}
	models := s.Models()
	if len(models) != len(protocol.AllKinds) {
		t.Errorf("Models has %d kinds, want %d", len(models), len(protocol.AllKinds))
	}
	for _, k := range protocol.AllKinds {
		if want := []string{"synthetic", "synthetic-" + string(k)}; !reflect.DeepEqual(models[k], want) {
			t.Errorf("Models[%s] = %v, want %v", k, models[k], want)
		}
		if !s.Serves(k) {
			t.Errorf("Serves(%s) = false", k)
		}
	}
	if s.Serves("hologram") || s.Serves("") {
		t.Errorf("Serves accepts an unknown kind")
	}
	models[protocol.KindLLM][0] = "mutated"
	if s.Models()[protocol.KindLLM][0] != "synthetic" {
		t.Errorf("Models returns shared state")
	}
}

func TestSyntheticImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		task         string
		wantW, wantH int
	}{
		{"defaults: 512x512 webp asked", `{"kind":"image","prompt":"a red fox"}`, 512, 512},
		{"png asked", `{"kind":"image","prompt":"a red fox","ext":"png","width":320,"height":200}`, 320, 200},
		{"webp asked", `{"kind":"image","prompt":"a red fox","ext":"webp","width":64,"height":96}`, 64, 96},
		{"empty ext", `{"kind":"image","prompt":"x","ext":"","width":3,"height":5}`, 3, 5},
		{"one pixel", `{"kind":"image","prompt":"dot","width":1,"height":1}`, 1, 1},
		{"widest allowed", `{"kind":"image","prompt":"strip","width":4096,"height":2}`, 4096, 2},
		{"tallest allowed", `{"kind":"image","prompt":"strip","width":2,"height":4096}`, 2, 4096},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runSynthetic(t, decodeTask(t, tc.task))
			if !res.IsBinary() || res.Ext != "png" {
				t.Fatalf("result binary=%v ext=%q, want png bytes", res.IsBinary(), res.Ext)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(res.Data))
			if err != nil {
				t.Fatalf("png.DecodeConfig: %v", err)
			}
			if cfg.Width != tc.wantW || cfg.Height != tc.wantH {
				t.Errorf("png config %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.wantW, tc.wantH)
			}
			img, err := png.Decode(bytes.NewReader(res.Data))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Errorf("decoded bounds %v", b)
			}
		})
	}
}

func TestSyntheticImageIsAPicture(t *testing.T) {
	t.Parallel()
	res := runSynthetic(t, decodeTask(t, `{"kind":"image","prompt":"gradient","width":128,"height":128}`))
	img, err := png.Decode(bytes.NewReader(res.Data))
	if err != nil {
		t.Fatal(err)
	}
	colours := map[[3]uint32]bool{}
	for y := 0; y < 128; y += 4 {
		for x := 0; x < 128; x += 4 {
			r, g, b, a := img.At(x, y).RGBA()
			if a != 0xffff {
				t.Fatalf("pixel (%d,%d) not opaque", x, y)
			}
			colours[[3]uint32{r, g, b}] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("only %d distinct colours: not a procedural pattern", len(colours))
	}
}

func TestSyntheticInvalidTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		task      string
		wantField string
	}{
		{"width zero", `{"kind":"image","prompt":"p","width":0,"height":10}`, "width"},
		{"width negative", `{"kind":"image","prompt":"p","width":-5,"height":10}`, "width"},
		{"width over cap", `{"kind":"image","prompt":"p","width":4097,"height":10}`, "width"},
		{"height over cap", `{"kind":"image","prompt":"p","width":10,"height":100000}`, "height"},
		{"image ext", `{"kind":"image","prompt":"p","ext":"bmp"}`, "ext"},
		{"video width", `{"kind":"video","prompt":"p","width":0}`, "width"},
		{"video height", `{"kind":"video","prompt":"p","height":-1}`, "height"},
		{"stt without input", `{"kind":"audio_stt","inputUrl":""}`, "inputUrl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			task := decodeTask(t, tc.task)
			for _, run := range []struct {
				via string
				fn  func(context.Context, protocol.JobOfferClaim) (Result, error)
			}{
				{"synthetic", NewSynthetic().Run},
				{"multi", NewMulti(NewSynthetic()).Run},
			} {
				_, err := run.fn(context.Background(), claimFor("synthetic", task))
				var invalid *InvalidTaskError
				if !errors.As(err, &invalid) {
					t.Fatalf("%s: err = %v, want *InvalidTaskError", run.via, err)
				}
				if invalid.Field != tc.wantField || invalid.Kind != task.Kind {
					t.Errorf("%s: InvalidTaskError = %+v, want field %q kind %s", run.via, *invalid, tc.wantField, task.Kind)
				}
				if !strings.Contains(err.Error(), tc.wantField) {
					t.Errorf("%s: message %q does not name %q", run.via, err, tc.wantField)
				}
				if !IsTerminal(err) {
					t.Errorf("%s: invalid task not terminal", run.via)
				}
			}
		})
	}
}

func TestSyntheticRejectsMalformedTaskDirectly(t *testing.T) {
	t.Parallel()
	s := NewSynthetic()
	tests := []struct {
		task   protocol.Task
		wantAs any
	}{
		{protocol.Task{Kind: "hologram"}, new(*UnsupportedTaskError)},
		{protocol.Task{Kind: protocol.KindVideo}, new(*InvalidTaskError)},
		{protocol.Task{Kind: protocol.KindAudioTTS, Image: &protocol.ImageTask{}}, new(*InvalidTaskError)},
	}
	for _, tc := range tests {
		_, err := s.Run(context.Background(), claimFor("synthetic", tc.task))
		if !errors.As(err, tc.wantAs) || !IsTerminal(err) {
			t.Errorf("Run(%+v) err = %v, want terminal %T", tc.task, err, tc.wantAs)
		}
	}
}

type chatCompletion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestSyntheticLLM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		messages   []protocol.ChatMessage
		wantPrompt string
		wantTokens int
	}{
		{"single", []protocol.ChatMessage{{Role: "user", Content: "write a haiku about rust"}}, "write a haiku about rust", 5},
		{"keyed by last message", []protocol.ChatMessage{
			{Role: "system", Content: "you are terse"},
			{Role: "user", Content: "first question"},
			{Role: "assistant", Content: "answer"},
			{Role: "user", Content: "  second\tquestion\n\n please  "},
		}, "  second\tquestion\n\n please  ", 3},
		{"quotes and unicode never echoed", []protocol.ChatMessage{{Role: "user", Content: "say \"hi\" \\ ünïcødé\u00a0spaced </script>"}},
			"say \"hi\" \\ ünïcødé\u00a0spaced </script>", 6},
		{"no messages", nil, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			task := protocol.Task{Kind: protocol.KindLLM, LLM: &protocol.LLMTask{Messages: tc.messages, MaxTokens: 16}}
			res := runSynthetic(t, task)
			if res.IsBinary() || res.Data != nil {
				t.Fatalf("LLM result is binary")
			}
			var cc chatCompletion
			dec := json.NewDecoder(bytes.NewReader(res.JSON))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cc); err != nil {
				t.Fatalf("unmarshal %s: %v", res.JSON, err)
			}
			h := wantHash16(tc.wantPrompt)
			if cc.ID != "chatcmpl-"+h || cc.Object != "chat.completion" || cc.Model != "synthetic-llm" {
				t.Errorf("header id=%q object=%q model=%q", cc.ID, cc.Object, cc.Model)
			}
			if len(cc.Choices) != 1 {
				t.Fatalf("%d choices", len(cc.Choices))
			}
			c := cc.Choices[0]
			if c.Index != 0 || c.Message.Role != "assistant" || c.FinishReason != "stop" {
				t.Errorf("choice = %+v", c)
			}
			if want := "[synthetic] reply to prompt #" + h; c.Message.Content != want {
				t.Errorf("content = %q, want %q", c.Message.Content, want)
			}
			u := cc.Usage
			if u.PromptTokens != tc.wantTokens || u.CompletionTokens != len(strings.Fields(c.Message.Content)) ||
				u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage = %+v, want prompt %d", u, tc.wantTokens)
			}
		})
	}
}

func TestWordCount(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", " ", "one", "  two words ", "a\tb\nc\vd\fe\rf", "x\u00a0y\u3000z\u0085w", "日本語 テキスト",
		"\xff\xfe broken utf8 \xc3", "trailing\n",
	} {
		if got, want := wordCount(s), len(strings.Fields(s)); got != want {
			t.Errorf("wordCount(%q) = %d, want %d", s, got, want)
		}
	}
}

type sttJSON struct {
	Text     string  `json:"text"`
	Language string  `json:"language"`
	Duration float64 `json:"duration"`
	Segments []struct {
		ID    int     `json:"id"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Text  string  `json:"text"`
	} `json:"segments"`
}

func TestSyntheticSTT(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "the synthetic engine must not fetch", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		language string
		wantLang string
	}{
		{"default language", "", "en"},
		{"given language", "de", "de"},
		{"language needing escapes", "x\"y\\z", "x\"y\\z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := srv.URL + "/audio/" + tc.name + ".wav"
			task := protocol.Task{Kind: protocol.KindAudioSTT, STT: &protocol.STTTask{InputURL: url, Language: tc.language}}
			res := runSynthetic(t, task)
			var got sttJSON
			if err := json.Unmarshal(res.JSON, &got); err != nil {
				t.Fatalf("unmarshal %s: %v", res.JSON, err)
			}
			wantText := "[synthetic] transcript of " + wantHash16(url)
			if got.Text != wantText || got.Language != tc.wantLang || got.Duration != 1 {
				t.Errorf("got %+v, want text %q language %q duration 1", got, wantText, tc.wantLang)
			}
			if len(got.Segments) != 1 || got.Segments[0].ID != 0 || got.Segments[0].Start != 0 ||
				got.Segments[0].End != 1 || got.Segments[0].Text != wantText {
				t.Errorf("segments = %+v", got.Segments)
			}
			if !bytes.Contains(res.JSON, []byte(`"duration":1.0`)) || !bytes.Contains(res.JSON, []byte(`"start":0.0,"end":1.0`)) {
				t.Errorf("times not written with one decimal: %s", res.JSON)
			}
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("synthetic STT fetched its input %d times", n)
		}
	})
}

// wavInfo is a RIFF/WAVE PCM file parsed by hand, so the test does not trust
// the writer's own idea of the layout.
type wavInfo struct {
	riffSize, fmtSize    uint32
	format, channels     uint16
	sampleRate, byteRate uint32
	blockAlign, bits     uint16
	dataLen              uint32
	samples              []int16
}

func parseWAV(t *testing.T, b []byte) wavInfo {
	t.Helper()
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " || string(b[36:40]) != "data" {
		t.Fatalf("not a canonical PCM WAV: % x", b[:min(len(b), 44)])
	}
	le := binary.LittleEndian
	w := wavInfo{
		riffSize: le.Uint32(b[4:]), fmtSize: le.Uint32(b[16:]),
		format: le.Uint16(b[20:]), channels: le.Uint16(b[22:]),
		sampleRate: le.Uint32(b[24:]), byteRate: le.Uint32(b[28:]),
		blockAlign: le.Uint16(b[32:]), bits: le.Uint16(b[34:]),
		dataLen: le.Uint32(b[40:]),
	}
	data := b[44:]
	if int(w.dataLen) != len(data) {
		t.Fatalf("data chunk says %d bytes, file has %d", w.dataLen, len(data))
	}
	for i := 0; i+1 < len(data); i += 2 {
		w.samples = append(w.samples, int16(le.Uint16(data[i:])))
	}
	return w
}

func TestSyntheticTTS(t *testing.T) {
	t.Parallel()
	speed := func(v float64) *float64 { return &v }
	tests := []struct {
		name        string
		speed       *float64
		ext         string
		wantSamples int
	}{
		{"default 1 s", nil, "wav", 22050},
		{"speed 2 halves", speed(2), "wav", 11025},
		{"speed 0.5 doubles", speed(0.5), "wav", 44100},
		{"fast speed clamps to 0.25 s", speed(100), "wav", 5513},
		{"slow speed clamps to 4 s", speed(0.01), "wav", 88200},
		{"zero speed ignored", speed(0), "wav", 22050},
		{"negative speed ignored", speed(-3), "wav", 22050},
		{"mp3 asked, wav given", nil, "mp3", 22050},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := "hello from " + tc.name
			res := runSynthetic(t, protocol.Task{Kind: protocol.KindAudioTTS,
				TTS: &protocol.TTSTask{Text: text, Voice: "default", Speed: tc.speed, Ext: tc.ext}})
			if !res.IsBinary() || res.Ext != "wav" {
				t.Fatalf("binary=%v ext=%q, want wav", res.IsBinary(), res.Ext)
			}
			w := parseWAV(t, res.Data)
			if w.riffSize != uint32(len(res.Data)-8) {
				t.Errorf("RIFF size %d, file %d bytes", w.riffSize, len(res.Data))
			}
			if w.fmtSize != 16 || w.format != 1 || w.channels != 1 || w.sampleRate != 22050 ||
				w.byteRate != 44100 || w.blockAlign != 2 || w.bits != 16 {
				t.Errorf("fmt chunk = %+v", w)
			}
			if len(w.samples) != tc.wantSamples || int(w.dataLen) != tc.wantSamples*2 {
				t.Errorf("%d samples (%d data bytes), want %d", len(w.samples), w.dataLen, tc.wantSamples)
			}

			// A sine of f Hz crosses zero 2f times a second.
			crossings := 0
			for i := 1; i < len(w.samples); i++ {
				if (w.samples[i-1] < 0) != (w.samples[i] < 0) {
					crossings++
				}
			}
			dur := float64(len(w.samples)) / 22050
			gotHz := float64(crossings) / (2 * dur)
			sum := digestOf(text)
			wantHz := 220 + float64(binary.BigEndian.Uint16(sum[:2])%661)
			if gotHz < 215 || gotHz > 885 || math.Abs(gotHz-wantHz) > 6 {
				t.Errorf("tone ≈ %.1f Hz, want %.0f Hz in 220..880", gotHz, wantHz)
			}
		})
	}
}

func TestSyntheticVideo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		task         string
		wantFrames   int
		wantW, wantH int
		wantDelay    int
	}{
		{"defaults: 2 s at 8 fps, mp4 asked", `{"kind":"video","prompt":"waves"}`, 16, 512, 512, 13},
		{"1 s at 4 fps", `{"kind":"video","prompt":"w","seconds":1,"fps":4,"width":64,"height":32}`, 4, 64, 32, 25},
		{"frames capped at 64", `{"kind":"video","prompt":"w","seconds":100,"fps":30,"width":16,"height":16}`, 64, 16, 16, 3},
		{"zero seconds gives one frame", `{"kind":"video","prompt":"w","seconds":0,"width":16,"height":16}`, 1, 16, 16, 13},
		{"negative fps uses default", `{"kind":"video","prompt":"w","seconds":0.5,"fps":-2,"width":16,"height":16}`, 4, 16, 16, 13},
		{"1080p scaled keeping aspect", `{"kind":"video","prompt":"w","seconds":0.25,"width":1920,"height":1080}`, 2, 512, 288, 13},
		{"tall scaled keeping aspect", `{"kind":"video","prompt":"w","seconds":0.125,"width":100,"height":2000}`, 1, 26, 512, 13},
		{"extreme aspect keeps a pixel", `{"kind":"video","prompt":"w","seconds":0.125,"width":100000,"height":1}`, 1, 512, 1, 13},
		{"high fps keeps delay at 2", `{"kind":"video","prompt":"w","seconds":0.05,"fps":100,"width":8,"height":8}`, 5, 8, 8, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runSynthetic(t, decodeTask(t, tc.task))
			if !res.IsBinary() || res.Ext != "gif" {
				t.Fatalf("binary=%v ext=%q, want gif", res.IsBinary(), res.Ext)
			}
			g, err := gif.DecodeAll(bytes.NewReader(res.Data))
			if err != nil {
				t.Fatalf("gif.DecodeAll: %v", err)
			}
			if len(g.Image) != tc.wantFrames {
				t.Errorf("%d frames, want %d", len(g.Image), tc.wantFrames)
			}
			if g.Config.Width != tc.wantW || g.Config.Height != tc.wantH {
				t.Errorf("gif %dx%d, want %dx%d", g.Config.Width, g.Config.Height, tc.wantW, tc.wantH)
			}
			for i, img := range g.Image {
				if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
					t.Errorf("frame %d bounds %v", i, b)
				}
				if g.Delay[i] != tc.wantDelay {
					t.Errorf("frame %d delay %d, want %d", i, g.Delay[i], tc.wantDelay)
				}
			}
			if len(g.Image) > 1 && bytes.Equal(g.Image[0].Pix, g.Image[1].Pix) {
				t.Errorf("frames 0 and 1 identical: not animated")
			}
		})
	}
}

func TestSyntheticDeterminism(t *testing.T) {
	t.Parallel()
	tasks := map[protocol.TaskKind]func(prompt string) string{
		protocol.KindImage: func(p string) string {
			return fmt.Sprintf(`{"kind":"image","prompt":%q,"width":96,"height":64}`, p)
		},
		protocol.KindLLM: func(p string) string {
			return fmt.Sprintf(`{"kind":"llm","messages":[{"role":"user","content":%q}]}`, p)
		},
		protocol.KindAudioSTT: func(p string) string {
			return fmt.Sprintf(`{"kind":"audio_stt","inputUrl":%q}`, "https://studio.test/a/"+p)
		},
		protocol.KindAudioTTS: func(p string) string { return fmt.Sprintf(`{"kind":"audio_tts","text":%q}`, p) },
		protocol.KindVideo: func(p string) string {
			return fmt.Sprintf(`{"kind":"video","prompt":%q,"seconds":0.5,"width":40,"height":30}`, p)
		},
	}
	for _, kind := range protocol.AllKinds {
		mk := tasks[kind]
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			out := func(prompt string) []byte {
				res := runSynthetic(t, decodeTask(t, mk(prompt)))
				if res.IsBinary() {
					return res.Data
				}
				return res.JSON
			}
			a1, a2 := out("a lighthouse at dusk"), out("a lighthouse at dusk")
			b := out("a lighthouse at dawn")
			if !bytes.Equal(a1, a2) {
				t.Errorf("same input gave different bytes")
			}
			if bytes.Equal(a1, b) {
				t.Errorf("different prompts gave identical bytes")
			}
		})
	}
}

func TestSyntheticDelay(t *testing.T) {
	t.Parallel()
	task := decodeTask(t, `{"kind":"llm","messages":[{"role":"user","content":"hi"}]}`)

	t.Run("completes after delay", func(t *testing.T) {
		t.Parallel()
		res, err := NewSynthetic(WithDelay(time.Millisecond)).Run(context.Background(), claimFor("synthetic", task))
		if err != nil || !json.Valid(res.JSON) {
			t.Fatalf("Run = %s, %v", res.JSON, err)
		}
	})

	for _, via := range []string{"synthetic", "multi"} {
		t.Run("cancel during delay via "+via, func(t *testing.T) {
			t.Parallel()
			s := NewSynthetic(WithDelay(time.Hour))
			run := s.Run
			if via == "multi" {
				run = NewMulti(s).Run
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := run(ctx, claimFor("synthetic", task))
				errc <- err
			}()
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled in chain", err)
				}
				if IsTerminal(err) {
					t.Errorf("cancellation classified terminal")
				}
			case <-time.After(10 * time.Second): // hang guard only
				t.Fatal("Run ignored cancellation during its delay")
			}
		})
	}
}

func TestSyntheticChecksCtxDuringWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		task string
	}{
		// The entry check is allowed to pass; the work's own checks must fire.
		{"video between frames", `{"kind":"video","prompt":"p","seconds":8,"fps":8,"width":16,"height":16}`},
		{"image between row blocks", `{"kind":"image","prompt":"p","width":4,"height":1024}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := newCountdownCtx(2)
			_, err := NewSynthetic().Run(ctx, claimFor("synthetic", decodeTask(t, tc.task)))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled after work started", err)
			}
		})
	}
}

func TestSyntheticKeysByKindFields(t *testing.T) {
	t.Parallel()
	tts := &protocol.TTSTask{Text: "spoken words", Voice: "default", Ext: "wav"}
	clean := runSynthetic(t, protocol.Task{Kind: protocol.KindAudioTTS, TTS: tts})
	stray := runSynthetic(t, protocol.Task{Kind: protocol.KindAudioTTS, TTS: tts,
		Image: &protocol.ImageTask{Prompt: "stray image prompt"}})
	if !bytes.Equal(clean.Data, stray.Data) {
		t.Errorf("fields of another kind changed the output")
	}
}
