package protocol

import (
	"encoding/json"
	"fmt"
)

// TaskKind names a kind of job.
type TaskKind string

const (
	KindImage    TaskKind = "image"
	KindLLM      TaskKind = "llm"
	KindAudioSTT TaskKind = "audio_stt"
	KindAudioTTS TaskKind = "audio_tts"
	KindVideo    TaskKind = "video"
)

// AllKinds lists every task kind in wire order.
var AllKinds = []TaskKind{KindImage, KindLLM, KindAudioSTT, KindAudioTTS, KindVideo}

// Task is the tagged union carried in an offer: Kind says which one field is set.
type Task struct {
	Kind  TaskKind
	Image *ImageTask
	LLM   *LLMTask
	STT   *STTTask
	TTS   *TTSTask
	Video *VideoTask
}

// ImageTask generates one image.
type ImageTask struct {
	Prompt         string   `json:"prompt"`
	NegativePrompt string   `json:"negativePrompt,omitempty"`
	InitImageURL   string   `json:"initImageUrl,omitempty"`
	MaskURL        string   `json:"maskUrl,omitempty"`
	RefImageURL    string   `json:"refImageUrl,omitempty"`
	Denoise        *float64 `json:"denoise,omitempty"`
	CfgScale       *float64 `json:"cfgScale,omitempty"`
	SamplingMethod string   `json:"samplingMethod,omitempty"`
	Width          int      `json:"width"`
	Height         int      `json:"height"`
	Steps          int      `json:"steps"`
	Seed           *int64   `json:"seed,omitempty"`
	Ext            string   `json:"ext"`
}

// ChatMessage is one message of an LLM conversation.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// LLMTask is a chat completion.
type LLMTask struct {
	Messages           []ChatMessage   `json:"messages"`
	System             string          `json:"system,omitempty"`
	MaxTokens          int             `json:"maxTokens"`
	Temperature        float64         `json:"temperature"`
	TopP               *float64        `json:"topP,omitempty"`
	Stop               []string        `json:"stop,omitempty"`
	JSONSchema         json.RawMessage `json:"jsonSchema,omitempty"`
	Reasoning          json.RawMessage `json:"reasoning,omitempty"`
	ChatTemplateKwargs json.RawMessage `json:"chatTemplateKwargs,omitempty"`
}

// STTTask transcribes audio fetched from InputURL.
type STTTask struct {
	InputURL   string `json:"inputUrl"`
	Language   string `json:"language,omitempty"`
	Translate  *bool  `json:"translate,omitempty"`
	Prompt     string `json:"prompt,omitempty"`
	VAD        *bool  `json:"vad,omitempty"`
	Timestamps string `json:"timestamps,omitempty"`
}

// TTSTask speaks Text.
type TTSTask struct {
	Text     string   `json:"text"`
	Voice    string   `json:"voice"`
	Speed    *float64 `json:"speed,omitempty"`
	Language string   `json:"language,omitempty"`
	Ext      string   `json:"ext"`
}

// VideoTask generates a short clip.
type VideoTask struct {
	Prompt         string  `json:"prompt"`
	NegativePrompt string  `json:"negativePrompt,omitempty"`
	InitImageURL   string  `json:"initImageUrl,omitempty"`
	Seconds        float64 `json:"seconds"`
	FPS            *int    `json:"fps,omitempty"`
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	Ext            string  `json:"ext"`
}

// Prompt returns the full prompt of the task as the studio stores it: the
// image/video prompt, the content of the last LLM message, the STT input URL,
// or the TTS text.
func (t Task) Prompt() string {
	switch {
	case t.Image != nil:
		return t.Image.Prompt
	case t.LLM != nil:
		if n := len(t.LLM.Messages); n > 0 {
			return t.LLM.Messages[n-1].Content
		}
	case t.STT != nil:
		return t.STT.InputURL
	case t.TTS != nil:
		return t.TTS.Text
	case t.Video != nil:
		return t.Video.Prompt
	}
	return ""
}

func (t Task) MarshalJSON() ([]byte, error) {
	var body any
	switch t.Kind {
	case KindImage:
		body = t.Image
	case KindLLM:
		body = t.LLM
	case KindAudioSTT:
		body = t.STT
	case KindAudioTTS:
		body = t.TTS
	case KindVideo:
		body = t.Video
	default:
		return nil, fmt.Errorf("task: unknown kind %q", t.Kind)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.Kind, err)
	}
	if string(b) == "null" {
		return nil, fmt.Errorf("task %s: no %s fields set", t.Kind, t.Kind)
	}
	return spliceType("kind", string(t.Kind), b), nil
}

func (t *Task) UnmarshalJSON(b []byte) error {
	var head struct {
		Kind *TaskKind `json:"kind"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("task: %w", err)
	}
	if head.Kind == nil {
		return fmt.Errorf("task: missing \"kind\"")
	}
	*t = Task{Kind: *head.Kind}
	var err error
	switch t.Kind {
	case KindImage:
		t.Image = &ImageTask{Width: 512, Height: 512, Steps: 20, Ext: "webp"}
		err = json.Unmarshal(b, t.Image)
	case KindLLM:
		t.LLM = &LLMTask{MaxTokens: 512, Temperature: 0.7}
		err = json.Unmarshal(b, t.LLM)
	case KindAudioSTT:
		t.STT = &STTTask{}
		err = json.Unmarshal(b, t.STT)
	case KindAudioTTS:
		t.TTS = &TTSTask{Voice: "default", Ext: "wav"}
		err = json.Unmarshal(b, t.TTS)
	case KindVideo:
		t.Video = &VideoTask{Seconds: 2, Width: 512, Height: 512, Ext: "mp4"}
		err = json.Unmarshal(b, t.Video)
	default:
		return fmt.Errorf("task: unknown kind %q", t.Kind)
	}
	if err != nil {
		return fmt.Errorf("task %s: %w", t.Kind, err)
	}
	return nil
}

// ModelSource tells the worker which engine and files serve the offer's model.
// Engine is kept as a string: an engine this worker does not know is answered
// with a terminal fail, not a parse error.
type ModelSource struct {
	Engine      string      `json:"engine"`
	Files       []ModelFile `json:"files"`
	CliDefaults CliDefaults `json:"cliDefaults"`
}

// Engine names the studio uses in modelSource.engine.
const (
	EngineSDCpp     = "sd-cpp"
	EngineLlamaCpp  = "llama-cpp"
	EngineONNX      = "onnx"
	EngineParakeet  = "parakeet"
	EngineSynthetic = "synthetic"
)

// ModelFile is one file a model needs.
type ModelFile struct {
	Role        string `json:"role"`
	URL         string `json:"url"`
	Filename    string `json:"filename"`
	ApproxBytes *int64 `json:"approxBytes,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
}

// CliDefaults are the studio's per-model generation defaults.
type CliDefaults struct {
	CfgScale           float64         `json:"cfgScale"`
	Steps              int             `json:"steps"`
	Width              int             `json:"width"`
	Height             int             `json:"height"`
	SamplingMethod     string          `json:"samplingMethod,omitempty"`
	FlowShift          *float64        `json:"flowShift,omitempty"`
	ZeroCondT          *bool           `json:"zeroCondT,omitempty"`
	OffloadToCPU       *bool           `json:"offloadToCpu,omitempty"`
	ContextSize        *int            `json:"contextSize,omitempty"`
	ChatTemplateKwargs json.RawMessage `json:"chatTemplateKwargs,omitempty"`
}
