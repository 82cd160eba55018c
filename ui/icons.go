package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Icons are drawn in code so every state has a distinct shape as well as a
// colour (colour-blind operators and monochrome trays must tell them apart):
//
//	taking        green filled disk with a white check mark
//	running       amber filled disk with a white play triangle
//	disabled      grey filled disk with white pause bars
//	waiting       blue ring (hollow) with a dot in the middle
//	disconnected  red-grey ring (hollow) crossed by a slash
//	error         red filled disk with a white exclamation mark

var (
	colTaking       = color.NRGBA{0x3f, 0xa9, 0x4f, 0xff}
	colRunning      = color.NRGBA{0xe8, 0xa8, 0x38, 0xff}
	colDisabled     = color.NRGBA{0x8a, 0x8f, 0x98, 0xff}
	colWaiting      = color.NRGBA{0x4a, 0x8e, 0xe0, 0xff}
	colDisconnected = color.NRGBA{0xb0, 0x6a, 0x6a, 0xff}
	colError        = color.NRGBA{0xd0, 0x3c, 0x3c, 0xff}
	colWhite        = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// shape reports the colour at a point of the unit square [0,1)², or ok=false
// for transparent.
type shape func(x, y float64) (c color.NRGBA, ok bool)

func disk(cx, cy, r float64) func(x, y float64) bool {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
}

func ring(cx, cy, r, w float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		d := math.Hypot(x-cx, y-cy)
		return d <= r && d >= r-w
	}
}

// segment is a thick line from (x0,y0) to (x1,y1) with round caps.
func segment(x0, y0, x1, y1, w float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		dx, dy := x1-x0, y1-y0
		t := ((x-x0)*dx + (y-y0)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		px, py := x0+t*dx-x, y0+t*dy-y
		return px*px+py*py <= w*w/4
	}
}

func rect(x0, y0, x1, y1 float64) func(x, y float64) bool {
	return func(x, y float64) bool { return x >= x0 && x <= x1 && y >= y0 && y <= y1 }
}

// triangle pointing right.
func playTriangle(x, y float64) bool {
	if x < 0.38 || x > 0.72 {
		return false
	}
	h := (0.72 - x) / 0.34 * 0.2
	return math.Abs(y-0.5) <= h
}

func union(fs ...func(x, y float64) bool) func(x, y float64) bool {
	return func(x, y float64) bool {
		for _, f := range fs {
			if f(x, y) {
				return true
			}
		}
		return false
	}
}

// badged is a filled disk of col with a white glyph on it.
func badged(col color.NRGBA, glyph func(x, y float64) bool) shape {
	body := disk(0.5, 0.5, 0.47)
	return func(x, y float64) (color.NRGBA, bool) {
		if !body(x, y) {
			return color.NRGBA{}, false
		}
		if glyph(x, y) {
			return colWhite, true
		}
		return col, true
	}
}

func outline(col color.NRGBA, inner func(x, y float64) bool) shape {
	o := union(ring(0.5, 0.5, 0.47, 0.13), inner)
	return func(x, y float64) (color.NRGBA, bool) { return col, o(x, y) }
}

func shapeOf(t TrayState) shape {
	switch t {
	case TrayTaking:
		return badged(colTaking, union(segment(0.28, 0.52, 0.44, 0.68, 0.12), segment(0.44, 0.68, 0.73, 0.35, 0.12)))
	case TrayRunning:
		return badged(colRunning, playTriangle)
	case TrayDisabled:
		return badged(colDisabled, union(rect(0.33, 0.28, 0.44, 0.72), rect(0.56, 0.28, 0.67, 0.72)))
	case TrayWaiting:
		return outline(colWaiting, disk(0.5, 0.5, 0.14))
	case TrayDisconnected:
		return outline(colDisconnected, segment(0.2, 0.8, 0.8, 0.2, 0.13))
	}
	return badged(colError, union(segment(0.5, 0.24, 0.5, 0.56, 0.13), disk(0.5, 0.74, 0.075)))
}

// DrawIcon renders the icon of state t at size×size with 4×4 supersampling.
func DrawIcon(t TrayState, size int) *image.NRGBA {
	return render(shapeOf(t), size)
}

func render(sh shape, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, n float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					if c, ok := sh(x, y); ok {
						r += float64(c.R)
						g += float64(c.G)
						b += float64(c.B)
						n++
					}
				}
			}
			if n == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{uint8(r / n), uint8(g / n), uint8(b / n), uint8(255 * n / (ss * ss))})
		}
	}
	return img
}

// IconPNG encodes the icon of state t as PNG.
func IconPNG(t TrayState, size int) []byte {
	return encodePNG(DrawIcon(t, size))
}

// AppIconPNG is the application icon: the "taking jobs" disk.
func AppIconPNG(size int) []byte { return IconPNG(TrayTaking, size) }

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		// png.Encode fails only on writer errors; a bytes.Buffer has none.
		panic(err)
	}
	return b.Bytes()
}
