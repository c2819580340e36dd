package contactfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Uploads: the web UI and the API spool an uploaded CSV to disk with
// SpoolFile, checking on the way that it is UTF-8, so a file in a legacy
// encoding is refused before its import starts rather than stopped halfway.

// ErrTooLarge is returned by SpoolFile when the upload is over its limit.
var ErrTooLarge = errors.New("the file is over the upload limit")

// SpoolFile copies src into a new file at path (which must not exist), at
// most limit bytes, feeding check on the way.
func SpoolFile(path string, src io.Reader, limit int64, check *UTF8Check) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("contactfile: save upload: %w", err)
	}
	n, err := io.CopyBuffer(io.MultiWriter(f, check), io.LimitReader(src, limit+1), make([]byte, 256<<10))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("contactfile: save upload: %w", cerr)
	}
	if err == nil && n > limit {
		err = ErrTooLarge
	}
	return err
}

// CleanFileName keeps the base name of an uploaded file, for showing.
func CleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = strings.TrimSpace(filepath.Base(name))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" {
		name = "upload.csv"
	}
	return name
}

// UTF8Check finds the first byte of a stream that is not UTF-8, by line
// and byte column (both 1-based), as the import would report it. Write the
// stream to it, call End, then read Invalid.
type UTF8Check struct {
	line, col       int
	carry, buf      []byte // an unfinished character from the end of the last write
	badLine, badCol int    // 0 while everything was valid
}

// Write checks the next part of the stream; it never fails.
func (c *UTF8Check) Write(p []byte) (int, error) {
	n := len(p)
	if c.line == 0 {
		c.line, c.col = 1, 1
	}
	if c.badLine != 0 {
		return n, nil
	}
	if len(c.carry) > 0 {
		c.buf = append(append(c.buf[:0], c.carry...), p...)
		p, c.carry = c.buf, c.carry[:0]
	}
	for i := 0; i < len(p); {
		b := p[i]
		if b < utf8.RuneSelf {
			if b == '\n' {
				c.line, c.col = c.line+1, 1
			} else {
				c.col++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			if !utf8.FullRune(p[i:]) {
				c.carry = append(c.carry, p[i:]...)
				return n, nil
			}
			c.badLine, c.badCol = c.line, c.col
			return n, nil
		}
		c.col += size
		i += size
	}
	return n, nil
}

// End marks an unfinished character at the end of the stream as invalid.
func (c *UTF8Check) End() {
	if c.badLine == 0 && len(c.carry) > 0 {
		c.badLine, c.badCol = c.line, c.col
	}
}

// Invalid returns where the first invalid byte is; ok is false when the
// stream so far is valid UTF-8.
func (c *UTF8Check) Invalid() (line, col int, ok bool) {
	return c.badLine, c.badCol, c.badLine > 0
}
