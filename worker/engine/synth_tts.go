package engine

import (
	"encoding/binary"
	"math"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

const (
	wavSampleRate    = 22050
	wavBitsPerSample = 16
	wavChannels      = 1
	ttsMinSeconds    = 0.25
	ttsMaxSeconds    = 4.0
	ttsMinHz         = 220
	ttsMaxHz         = 880
	wavHeaderBytes   = 44
)

// synthTTS speaks a sine tone: 16-bit mono PCM WAV at 22050 Hz, 1 s long
// (1/speed s for a positive speed, clamped to [0.25, 4] s; other speeds are
// ignored), at a frequency in [220, 880] Hz chosen by the text's hash. The
// output is always WAV whatever ext the task asks: it is the only audio
// format we can write without a codec.
func synthTTS(d *digest, t *protocol.TTSTask) Result {
	dur := 1.0
	if t.Speed != nil && *t.Speed > 0 {
		dur = min(max(1 / *t.Speed, ttsMinSeconds), ttsMaxSeconds)
	}
	n := int(math.Round(dur * wavSampleRate))
	hz := ttsMinHz + float64(binary.BigEndian.Uint16(d[:2])%(ttsMaxHz-ttsMinHz+1))

	dataLen := n * wavChannels * wavBitsPerSample / 8
	b := make([]byte, 0, wavHeaderBytes+dataLen)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+dataLen))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16) // fmt chunk size for PCM
	b = binary.LittleEndian.AppendUint16(b, 1)  // PCM
	b = binary.LittleEndian.AppendUint16(b, wavChannels)
	b = binary.LittleEndian.AppendUint32(b, wavSampleRate)
	b = binary.LittleEndian.AppendUint32(b, wavSampleRate*wavChannels*wavBitsPerSample/8)
	b = binary.LittleEndian.AppendUint16(b, wavChannels*wavBitsPerSample/8)
	b = binary.LittleEndian.AppendUint16(b, wavBitsPerSample)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(dataLen))

	// Half amplitude with a 10 ms linear fade at both ends so the tone does
	// not click when played.
	const amp = 0.5 * math.MaxInt16
	fade := min(wavSampleRate/100, n/2)
	step := 2 * math.Pi * hz / wavSampleRate
	for i := range n {
		gain := 1.0
		if i < fade {
			gain = float64(i) / float64(fade)
		} else if i >= n-fade {
			gain = float64(n-1-i) / float64(fade)
		}
		s := int16(math.Round(amp * gain * math.Sin(step*float64(i))))
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return Result{Data: b, Ext: "wav"}
}
