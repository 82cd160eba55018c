package engine

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"math"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

const (
	videoDefaultFPS = 8
	videoMaxFrames  = 64
	videoMaxSide    = 512
)

// synthVideo renders the prompt's pattern as an animated GIF whose wave
// travels one full period over the clip, so it loops seamlessly.
//
// The output is GIF whatever ext the task asks (default "mp4"): Go can encode
// neither MP4 nor animated WEBP without cgo, and GIF is the animated format
// the standard library writes. Result.Ext says "gif" so the studio stores the
// real format. To bound work, frames = round(seconds × fps) (fps default 8)
// is clamped to 1..64, and the size is scaled down, keeping the aspect ratio,
// to fit 512×512.
func synthVideo(ctx context.Context, d *digest, t *protocol.VideoTask) (Result, error) {
	if t.Width < 1 {
		return Result{}, &InvalidTaskError{Kind: protocol.KindVideo, Field: "width", Msg: fmt.Sprintf("%d must be positive", t.Width)}
	}
	if t.Height < 1 {
		return Result{}, &InvalidTaskError{Kind: protocol.KindVideo, Field: "height", Msg: fmt.Sprintf("%d must be positive", t.Height)}
	}
	fps := videoDefaultFPS
	if t.FPS != nil && *t.FPS > 0 {
		fps = *t.FPS
	}
	frames := videoFrames(t.Seconds, fps)
	w, h := fitWithin(t.Width, t.Height, videoMaxSide)
	// GIF delays are in 1/100 s; browsers treat delays under 2 as 10, so 2 is
	// the fastest honest rate.
	delay := max(2, int(math.Round(100/float64(fps))))

	p := newPattern(d)
	pal := make(color.Palette, len(p.palette))
	for i, c := range p.palette {
		pal[i] = color.RGBA{c[0], c[1], c[2], 0xff}
	}
	us, vs := p.axis(w, p.fx), p.axis(h, p.fy)
	anim := gif.GIF{
		Image: make([]*image.Paletted, 0, frames),
		Delay: make([]int, 0, frames),
	}
	for f := range frames {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("synthetic video: frame %d of %d: %w", f, frames, err)
		}
		shift := f * 512 / frames
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := range h {
			row := img.Pix[y*img.Stride : y*img.Stride+w]
			for x := range row {
				row[x] = p.level(us[x], vs[y], x, y, shift)
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, delay)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &anim); err != nil {
		return Result{}, fmt.Errorf("synthetic video: encode gif: %w", err)
	}
	return Result{Data: buf.Bytes(), Ext: "gif"}, nil
}

// videoFrames is round(seconds × fps) clamped to 1..videoMaxFrames; a
// non-positive or NaN duration gives one frame.
func videoFrames(seconds float64, fps int) int {
	n := math.Round(seconds * float64(fps))
	if !(n >= 1) {
		return 1
	}
	return int(min(n, videoMaxFrames))
}

// fitWithin scales w×h down, keeping the aspect ratio, so neither side
// exceeds limit; sides never drop below 1.
func fitWithin(w, h, limit int) (int, int) {
	if w <= limit && h <= limit {
		return w, h
	}
	f := math.Min(float64(limit)/float64(w), float64(limit)/float64(h))
	sw := min(limit, max(1, int(math.Round(float64(w)*f))))
	sh := min(limit, max(1, int(math.Round(float64(h)*f))))
	return sw, sh
}
