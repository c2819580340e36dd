package contactfile

import "testing"

func TestUTF8Check(t *testing.T) {
	for _, tt := range []struct {
		chunks    []string
		line, col int
	}{
		{[]string{"abc\nدرست\n"}, 0, 0},
		{[]string{"ab", "c\n\xd8", "\xafرست\n"}, 0, 0}, // a character split between writes
		{[]string{"a\nb\xffc"}, 2, 2},
		{[]string{"a\nعلی\xd1"}, 2, 7}, // unfinished at the end
		{[]string{"\xef\xbb\xbfname\n", "x,\xc0\xaf"}, 2, 3},
	} {
		var c UTF8Check
		for _, ch := range tt.chunks {
			c.Write([]byte(ch))
		}
		c.End()
		line, col, _ := c.Invalid()
		if line != tt.line || col != tt.col {
			t.Errorf("%q: bad at %d:%d, want %d:%d", tt.chunks, line, col, tt.line, tt.col)
		}
	}
}

// importPages renders the import pages for the every-page-every-language
// test: the upload form and its error, a mapping page, a finished dry run
// with problems, a pending import, and the list.
