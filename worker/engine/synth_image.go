package engine

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// maxImageSide caps synthetic image sides: a 4096² RGBA canvas is already
// 64 MiB, and the synthetic engine must never be a way to exhaust the host.
const maxImageSide = 4096

// ctxCheckRows is how many rows are drawn between cancellation checks.
const ctxCheckRows = 256

// synthImage draws the prompt's pattern at the requested size as a PNG.
//
// The studio's default ext is "webp", but Go has no WEBP encoder in the
// standard library or our dependencies (x/image/webp only decodes). Rather
// than fail, a webp request gets PNG bytes with Result.Ext "png": the upload
// names the real format, so the studio stores a correct file.
func synthImage(ctx context.Context, d *digest, t *protocol.ImageTask) (Result, error) {
	if err := checkSide(protocol.KindImage, "width", t.Width, maxImageSide); err != nil {
		return Result{}, err
	}
	if err := checkSide(protocol.KindImage, "height", t.Height, maxImageSide); err != nil {
		return Result{}, err
	}
	switch t.Ext {
	case "", "webp", "png":
	default:
		return Result{}, &InvalidTaskError{Kind: protocol.KindImage, Field: "ext",
			Msg: fmt.Sprintf("%q not supported (png or webp)", t.Ext)}
	}

	w, h := t.Width, t.Height
	p := newPattern(d)
	us, vs := p.axis(w, p.fx), p.axis(h, p.fy)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		if y%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, fmt.Errorf("synthetic image: %w", err)
			}
		}
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		v := vs[y]
		for x := range w {
			c := &p.palette[p.level(us[x], v, x, y, 0)]
			px := row[4*x : 4*x+4 : 4*x+4]
			px[0], px[1], px[2], px[3] = c[0], c[1], c[2], 0xff
		}
	}
	var buf bytes.Buffer
	buf.Grow(w * h / 2)
	// BestSpeed: the pattern compresses well anyway, and the output is as
	// deterministic as with any other level.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return Result{}, fmt.Errorf("synthetic image: encode png: %w", err)
	}
	return Result{Data: buf.Bytes(), Ext: "png"}, nil
}

func checkSide(kind protocol.TaskKind, field string, v, maxV int) error {
	if v < 1 || v > maxV {
		return &InvalidTaskError{Kind: kind, Field: field, Msg: fmt.Sprintf("%d out of range 1..%d", v, maxV)}
	}
	return nil
}
