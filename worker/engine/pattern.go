package engine

// pattern is the procedural picture shared by image and video outputs: a
// diagonal triangle wave across a three-colour gradient with a checker
// texture, all parameters taken from the prompt's digest so different prompts
// give visibly different pictures.
type pattern struct {
	palette [256][3]byte
	fx, fy  int  // wave periods across the width / height
	phase   int  // wave offset, 0..511
	sx, sy  uint // checker cell size as a shift (8..64 px)
}

func newPattern(d *digest) pattern {
	p := pattern{
		fx:    1 + int(d[9]%4),
		fy:    1 + int(d[10]%4),
		phase: int(d[11]) << 1,
		sx:    3 + uint(d[12]%4),
		sy:    3 + uint(d[13]%4),
	}
	c0 := [3]byte{d[0], d[1], d[2]}
	c1 := [3]byte{d[3], d[4], d[5]}
	c2 := [3]byte{d[6], d[7], d[8]}
	for i := range 128 {
		for c := range 3 {
			p.palette[i][c] = lerp(c0[c], c1[c], i, 127)
			p.palette[128+i][c] = lerp(c1[c], c2[c], i, 127)
		}
	}
	return p
}

func lerp(a, b byte, num, den int) byte {
	return byte((int(a)*(den-num) + int(b)*num) / den)
}

// axis precomputes a wave coordinate per column (or row) so the per-pixel
// work is additions only.
func (p *pattern) axis(n, freq int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i * freq * 512 / n
	}
	return out
}

// level is the palette index of pixel (x, y); u and v come from axis, shift
// moves the wave (video frames).
func (p *pattern) level(u, v, x, y, shift int) uint8 {
	t := (u + v + p.phase + shift) & 511
	if t > 255 {
		t = 511 - t
	}
	if ((x>>p.sx)^(y>>p.sy))&1 == 1 {
		t ^= 0x30
	}
	return uint8(t)
}
