package contactfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func addTestdata(f *testing.F, ext string) {
	files, _ := filepath.Glob("testdata/*." + ext)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzCSVReader: the reader never panics; rows have line numbers of at
// least 2 that increase; the offset never decreases nor passes the end;
// and resuming at a checkpoint in the middle returns exactly the rows
// that followed it.
func FuzzCSVReader(f *testing.F) {
	addTestdata(f, "csv")
	for _, in := range resumeInputs {
		f.Add([]byte(in))
	}
	f.Add([]byte("a,b\n\"x\ny\",z\n"))
	f.Add([]byte("sep=\t\nName\tEmail\nAli\ta@b.example\n"))
	f.Add([]byte("Name\r\"unclosed\r"))
	f.Add([]byte("\xEF\xBB\xBF\n\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := CSVOptions{DefaultRegion: "IR", MaxRecordBytes: 4096}
		r, err := NewCSVReader(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		var rows []Row
		var cps []Checkpoint
		lastLine, lastOffset := 1, r.Offset()
		var readErr error
		for i := 0; i < 10000; i++ {
			row, err := r.Next()
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				break
			}
			if row.Line < 2 || row.Line <= lastLine {
				t.Fatalf("row %d on line %d after line %d", i+1, row.Line, lastLine)
			}
			lastLine = row.Line
			if r.Offset() < lastOffset || r.Offset() > int64(len(data)) {
				t.Fatalf("offset %d after %d (input %d bytes)", r.Offset(), lastOffset, len(data))
			}
			lastOffset = r.Offset()
			if r.Checkpoint().Line <= row.Line {
				t.Fatalf("checkpoint line %d not after row line %d", r.Checkpoint().Line, row.Line)
			}
			for _, v := range []string{row.Contact.FirstName, row.Contact.LastName, row.Contact.Notes} {
				if !utf8.ValidString(v) {
					t.Fatalf("invalid UTF-8 in row: %q", v)
				}
			}
			rows = append(rows, row)
			cps = append(cps, r.Checkpoint())
		}
		if r.Offset() < lastOffset || r.Offset() > int64(len(data)) {
			t.Fatalf("final offset %d", r.Offset())
		}
		if readErr != nil {
			var fe *FormatError
			if !errors.As(readErr, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", readErr, readErr)
			}
		}
		if len(rows) < 2 {
			return
		}
		k := len(rows) / 2
		m := r.Mapping()
		opts.Mapping = &m
		r2, err := NewCSVReaderAt(bytes.NewReader(data), cps[k-1], opts)
		if err != nil {
			t.Fatalf("resume at %+v: %v", cps[k-1], err)
		}
		for i := k; i < len(rows); i++ {
			row, err := r2.Next()
			if err != nil {
				t.Fatalf("resumed reader stopped at row %d: %v", i+1, err)
			}
			if !reflect.DeepEqual(row, rows[i]) {
				t.Fatalf("resumed row %d differs:\n got %s\nwant %s", i+1, jsonString(row), jsonString(rows[i]))
			}
		}
		if readErr == nil {
			if _, err := r2.Next(); err != io.EOF {
				t.Fatalf("resumed reader has more rows: %v", err)
			}
		}
	})
}

// FuzzDecodeVCards: decoding never panics, cards are numbered 1, 2, … on
// increasing lines, and a card written back by the encoder reads the same.
func FuzzDecodeVCards(f *testing.F) {
	addTestdata(f, "vcf")
	f.Add([]byte("BEGIN:VCARD\nVERSION:3.0\nN:a\\;b;c\nEND:VCARD\n"))
	f.Add([]byte("BEGIN:VCARD\nVERSION:2.1\nNOTE;QUOTED-PRINTABLE:a=\n=3D\nEND:VCARD"))
	f.Add([]byte("BEGIN:VCARD\nX;TYPE=\"a\\\":b\nAGENT:\nBEGIN:VCARD\nEND:VCARD\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		num, line := 0, 0
		for card, err := range DecodeVCards(bytes.NewReader(data), VCardOptions{DefaultRegion: "IR"}) {
			if err != nil {
				return
			}
			num++
			if card.Number != num || card.Line <= line {
				t.Fatalf("card %d (line %d) after card %d (line %d)", card.Number, card.Line, num-1, line)
			}
			line = card.Line
			if card.Errors != nil {
				continue
			}
			var b bytes.Buffer
			if err := EncodeVCard(&b, card.Contact, card.CompanyNames, "4.0"); err != nil {
				t.Fatal(err)
			}
			var again []Card
			for c, err := range DecodeVCards(&b, VCardOptions{DefaultRegion: "IR"}) {
				if err != nil {
					t.Fatal(err)
				}
				again = append(again, c)
			}
			if len(again) != 1 || !reflect.DeepEqual(again[0].Contact, card.Contact) || !reflect.DeepEqual(again[0].CompanyNames, card.CompanyNames) {
				t.Fatalf("re-encoded card differs:\n%s\n got %s\nwant %s", b.String(), jsonString(again), jsonString(card))
			}
		}
	})
}

// FuzzMappingDetect: detection never panics, maps every column to a valid
// field, and is deterministic.
func FuzzMappingDetect(f *testing.F) {
	f.Add("First Name\nLast Name\nE-mail 1 - Value\nE-mail 1 - Type")
	f.Add("نام\nنام خانوادگی\nموبایل")
	f.Add("الاسم\nالبريد الإلكتروني\nالهاتف")
	f.Add("custom:tier\nPhone 99999999999999999999\nemail#value\n#")
	f.Add(strings.Join(DefaultCSVColumns("a"), "\n"))
	f.Fuzz(func(t *testing.T, s string) {
		header := strings.Split(s, "\n")
		m := DetectMapping(header)
		if len(m.Columns) != len(header) {
			t.Fatalf("%d columns for %d headers", len(m.Columns), len(header))
		}
		for i, c := range m.Columns {
			if c.Header != strings.TrimSpace(header[i]) {
				t.Fatalf("column %d header %q", i, c.Header)
			}
			if _, _, err := parseField(c.Field); err != nil {
				t.Fatalf("column %q mapped to invalid field: %v", c.Header, err)
			}
			if c.Group < 0 || c.Group > 1000 {
				t.Fatalf("column %q group %d", c.Header, c.Group)
			}
		}
		_ = m.Validate(header)
		if again := DetectMapping(header); !reflect.DeepEqual(again, m) {
			t.Fatalf("not deterministic: %+v vs %+v", again, m)
		}
	})
}
