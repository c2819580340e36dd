package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"sync"
)

// MaxPNGSide is the largest width (and height) in pixels PNG will render.
// A version-40 symbol with the standard quiet zone at 22 pixels per module
// is 4070 pixels.
const MaxPNGSide = 4096

// SVG renders the symbol as a standalone SVG document: a white background
// and one <path> holding every dark module, in module units through the
// viewBox, so it scales without blurring. scale is the pixel width of one
// module for the width and height attributes (values below 1 mean 1);
// quietZone is the light margin in modules (negative means 0; the standard
// asks for DefaultQuietZone). The markup has no style attribute or element,
// so it renders under a Content-Security-Policy without 'unsafe-inline'.
func (c *Code) SVG(scale, quietZone int) []byte {
	scale, quietZone = max(scale, 1), max(quietZone, 0)
	side := c.size + 2*quietZone
	b := make([]byte, 0, 256+c.size*c.size)
	b = fmt.Appendf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`,
		side, side, side*scale, side*scale)
	b = fmt.Appendf(b, `<rect width="%d" height="%d" fill="#fff"/>`, side, side)
	b = append(b, `<path fill="#000" d="`...)
	// One subpath per horizontal run of dark modules.
	for y := 0; y < c.size; y++ {
		row := c.dark[y*c.size : (y+1)*c.size]
		for x := 0; x < c.size; {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < c.size && row[x] {
				x++
			}
			w := int64(x - start)
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(start+quietZone), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y+quietZone), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, w, 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, w, 10)
			b = append(b, 'z')
		}
	}
	b = append(b, `"/></svg>`...)
	return b
}

// PNG renders the symbol as a 1-bit paletted PNG, black on white, scale
// pixels per module (values below 1 mean 1) with a light margin of quietZone
// modules (negative means 0). It fails if the image would be wider than
// MaxPNGSide pixels.
func (c *Code) PNG(scale, quietZone int) ([]byte, error) {
	scale, quietZone = max(scale, 1), max(quietZone, 0)
	modules := c.size + 2*quietZone
	if modules > MaxPNGSide/scale {
		return nil, fmt.Errorf("qr: PNG of %d modules at scale %d is wider than %d pixels", modules, scale, MaxPNGSide)
	}
	side := modules * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	// Pix starts at 0 (white); paint one pixel row of each module row, then
	// copy it down scale-1 times.
	off := quietZone * scale
	for y := 0; y < c.size; y++ {
		top := (off + y*scale) * img.Stride
		row := img.Pix[top : top+side]
		for x := 0; x < c.size; x++ {
			if c.dark[y*c.size+x] {
				px := row[off+x*scale : off+(x+1)*scale]
				for i := range px {
					px[i] = 1
				}
			}
		}
		for k := 1; k < scale; k++ {
			copy(img.Pix[top+k*img.Stride:top+k*img.Stride+side], row)
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{BufferPool: &pngBuffers} // default compression: smaller than BestCompression here, and faster
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// pngBuffers lets successive PNG calls reuse the encoder's zlib state, which
// is most of the cost of a small image.
var pngBuffers pngBufferPool

type pngBufferPool struct{ p sync.Pool }

func (b *pngBufferPool) Get() *png.EncoderBuffer {
	if e, ok := b.p.Get().(*png.EncoderBuffer); ok {
		return e
	}
	return nil
}

func (b *pngBufferPool) Put(e *png.EncoderBuffer) { b.p.Put(e) }
