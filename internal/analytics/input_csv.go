package analytics

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errBareQuote and errQuote are the two CSV syntax errors, worded as
// encoding/csv words them.
var (
	errBareQuote = errors.New(`bare " in non-quoted field`)
	errQuote     = errors.New(`extraneous or missing " in quoted field`)
)

// csvScanner reads CSV records with the rules of encoding/csv (RFC 4180,
// \r\n normalised to \n, empty lines skipped, no lazy quotes, any number of
// fields per record) but without allocating per record: the fields it
// returns are valid only until the next call. A line without a quote is
// split in place; only records with quotes are copied. The differential
// fuzz test FuzzCSVScannerMatchesEncodingCSV holds it to encoding/csv.
//
// With blanks set it reads whitespace-separated files instead (CDNOW's
// format): fields are separated by runs of spaces and tabs, there is no
// quoting, and lines without fields are skipped.
type csvScanner struct {
	br     *bufio.Reader
	sep    byte
	blanks bool

	line  int // physical lines read so far
	start int // line on which the current record starts

	long   []byte   // a line longer than the bufio buffer
	rec    []byte   // unquoted field data of a record with quotes
	ends   []int    // end offsets of the fields in rec
	fields [][]byte // the current record
	err    error    // a read error other than io.EOF, reported once
}

func newCSVScanner(r io.Reader, sep byte) *csvScanner {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	s := &csvScanner{br: br, sep: sep}
	if sep == ' ' {
		s.blanks = true
	}
	return s
}

// skipBOM drops a UTF-8 byte order mark at the start of the input.
func (s *csvScanner) skipBOM() {
	if b, err := s.br.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		s.br.Discard(3)
	}
}

// readLine returns the next physical line with \r\n normalised to \n and a
// trailing \r before EOF dropped (as encoding/csv does). It returns io.EOF
// when nothing is left.
func (s *csvScanner) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = s.br.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if err != nil {
		if err != io.EOF {
			s.err = err
		}
		return nil, err
	}
	s.line++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, nil
}

// lengthNL is 1 if b ends with \n, else 0.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// next returns the next record, io.EOF at the end, or a syntax error
// (errBareQuote, errQuote; s.start is the record's first line) or a read
// error.
func (s *csvScanner) next() ([][]byte, error) {
	var line []byte
	for {
		l, err := s.readLine()
		if err != nil {
			return nil, err
		}
		if len(l) == lengthNL(l) {
			continue // empty line
		}
		s.start = s.line
		s.fields = s.fields[:0]
		if s.blanks {
			if s.splitBlanks(l); len(s.fields) == 0 {
				continue // blank line
			}
			return s.fields, nil
		}
		line = l
		break
	}
	if bytes.IndexByte(line, '"') < 0 {
		line = line[:len(line)-lengthNL(line)]
		for {
			i := bytes.IndexByte(line, s.sep)
			if i < 0 {
				s.fields = append(s.fields, line)
				return s.fields, nil
			}
			s.fields = append(s.fields, line[:i])
			line = line[i+1:]
		}
	}
	return s.quoted(line)
}

// splitBlanks splits a line at runs of spaces and tabs into s.fields.
func (s *csvScanner) splitBlanks(line []byte) {
	for {
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r') {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			return
		}
		j := 0
		for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\n' && line[j] != '\r' {
			j++
		}
		s.fields = append(s.fields, line[:j])
		line = line[j:]
	}
}

// quoted parses a record holding at least one quote, copying its fields
// into s.rec; a quoted field may run over several lines.
func (s *csvScanner) quoted(line []byte) ([][]byte, error) {
	s.rec = s.rec[:0]
	s.ends = s.ends[:0]
	var errRead error
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, s.sep)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if bytes.IndexByte(field, '"') >= 0 {
				return nil, errBareQuote
			}
			s.rec = append(s.rec, field...)
			s.ends = append(s.ends, len(s.rec))
			if i >= 0 {
				line = line[i+1:]
				continue parseField
			}
			break parseField
		}
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				s.rec = append(s.rec, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					s.rec = append(s.rec, '"')
					line = line[1:]
				case len(line) > 0 && line[0] == s.sep:
					line = line[1:]
					s.ends = append(s.ends, len(s.rec))
					continue parseField
				case lengthNL(line) == len(line):
					s.ends = append(s.ends, len(s.rec))
					break parseField
				default:
					return nil, errQuote
				}
			case len(line) > 0:
				s.rec = append(s.rec, line...)
				if errRead != nil {
					break parseField
				}
				line, errRead = s.readLine()
				if errRead == io.EOF {
					errRead = nil
				}
				if s.err != nil {
					return nil, s.err
				}
			default:
				return nil, errQuote
			}
		}
	}
	prev := 0
	for _, e := range s.ends {
		s.fields = append(s.fields, s.rec[prev:e])
		prev = e
	}
	return s.fields, nil
}
