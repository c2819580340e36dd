package contactfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

// CSVOptions control reading a CSV file. The zero value detects
// everything. It JSON-encodes, so an importer can save it next to its
// Checkpoint and resume with exactly the same settings.
type CSVOptions struct {
	// Delimiter is ',', ';' or '\t'; 0 detects it from the header line.
	Delimiter rune `json:"delimiter,omitempty"`
	// DefaultRegion is the ISO 3166 region for phone numbers written
	// without a country code, e.g. "IR" reads 0912 345 6789 as
	// +989123456789. Empty means every number must carry its country code.
	DefaultRegion string `json:"default_region,omitempty"`
	// Calendar of birthdays. The year decides (before 1700 is Jalali, so
	// 1364/01/26 is read as Jalali and 1985-04-15 as Gregorian); "jalali"
	// or "gregorian" declares the file's calendar, so that a date in the
	// other one is reported instead of guessed.
	Calendar string `json:"calendar,omitempty"`
	// Mapping, when set, is used instead of the detected one. It must
	// match the file's header: one column per header cell, same text.
	Mapping *Mapping `json:"mapping,omitempty"`
	// MaxRecordBytes bounds one record (a row with all its multi-line
	// fields); 0 means 1 MiB. A longer record is a *FormatError: usually an
	// unclosed quote that swallows the rest of the file.
	MaxRecordBytes int `json:"max_record_bytes,omitempty"`
}

const defaultMaxRecordBytes = 1 << 20

// Checkpoint is where a CSVReader is in its file: the next record starts
// at byte Offset, on physical line Line, and Rows rows have been returned
// so far. Save it in the same transaction as the rows read before it, and
// resume with NewCSVReaderAt.
type Checkpoint struct {
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
	Rows   int   `json:"rows"`
}

// Row is one CSV record read as a contact.
type Row struct {
	// Line is the physical line (1-based) where the record starts; the
	// header is line 1 in a plain file. Multi-line quoted fields count
	// every line, so the number is what a text editor shows.
	Line    int
	Contact crm.Contact
	// CompanyName is the first of CompanyNames, the companies the person
	// works at (by name; the importer finds or creates them).
	CompanyName  string
	CompanyNames []string
	// CompanyRole is the job title at CompanyName.
	CompanyRole string
	// OwnerEmail is the owning user's email; OwnerName is set instead when
	// the owner column holds a name rather than an email (HubSpot exports
	// owners by name).
	OwnerEmail string
	OwnerName  string
	// Errors lists the problems in this row. A row with errors still
	// carries every value that was valid, but should not be imported as is.
	Errors []FieldError
}

// Err returns the row's problems as one error ("line 7: …"), or nil.
func (r *Row) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	return errors.New(errorList("line "+strconv.Itoa(r.Line), r.Errors))
}

// CSVReader reads contacts from a CSV file one record at a time. Only the
// current record is held in memory.
type CSVReader struct {
	opts      CSVOptions
	header    []string
	mapping   Mapping
	plan      plan
	delim     rune
	crOnly    bool
	headerEnd Checkpoint // where the first data record starts

	src      *countingReader
	cr       *csv.Reader
	base     int64 // absolute offset where cr started
	inStart  int64 // absolute offset of the first byte read from the source
	lineBase int   // physical line number of cr's first line
	next     Checkpoint
	err      error // sticky
}

// NewCSVReader reads the header of a CSV file and returns a reader for its
// records. It detects the encoding (UTF-8 with or without a byte order
// mark; UTF-16, UTF-32, spreadsheets and other binary files are refused
// with a *FormatError saying how to save the file as CSV UTF-8), the
// delimiter (comma, semicolon or tab, or Excel's "sep=;" first line), old
// Mac line endings (CR only), and proposes a mapping unless
// opts.Mapping is given.
func NewCSVReader(r io.Reader, opts CSVOptions) (*CSVReader, error) {
	cr := &CSVReader{opts: opts}
	if err := cr.start(r); err != nil {
		return nil, err
	}
	return cr, nil
}

// NewCSVReaderAt resumes reading a file at a checkpoint taken from an
// earlier reader of the same file with the same options. It reads the
// header again from the start (and fails if it is not the same file
// format), then seeks to cp.Offset: the first Next returns the first
// record after the checkpoint. A zero Checkpoint starts after the header.
//
// opts must be the options of the first reader with Mapping set to the
// mapping it used (CSVReader.Mapping): the header is checked against it,
// so resuming on a different file fails instead of importing nonsense.
// The checkpoint must come from a reader of the same file; an offset in
// the middle of a record cannot be detected.
func NewCSVReaderAt(rs io.ReadSeeker, cp Checkpoint, opts CSVOptions) (*CSVReader, error) {
	if opts.Mapping == nil && cp.Offset != 0 {
		return nil, errors.New("contactfile: resuming needs the mapping the first reader used (CSVOptions.Mapping), so that a different file is noticed")
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cr := &CSVReader{opts: opts}
	if err := cr.start(rs); err != nil {
		return nil, err
	}
	if cp.Offset == 0 || cp.Offset == cr.headerEnd.Offset {
		cr.next.Rows = cp.Rows
		return cr, nil
	}
	if cp.Offset < cr.headerEnd.Offset || cp.Line < cr.headerEnd.Line || cp.Rows < 0 {
		return nil, fmt.Errorf("contactfile: checkpoint %+v is before the first record of the file (%+v)", cp, cr.headerEnd)
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if cp.Offset > end {
		return nil, fmt.Errorf("contactfile: checkpoint offset %d is past the end of the file (%d bytes)", cp.Offset, end)
	}
	if _, err := rs.Seek(cp.Offset, io.SeekStart); err != nil {
		return nil, err
	}
	src := cr.newSource(rs, cp.Offset)
	cr.begin(src, bufio.NewReaderSize(src, 64<<10), cp)
	return cr, nil
}

// Header returns the header cells, trimmed.
func (r *CSVReader) Header() []string { return r.header }

// Mapping returns (a copy of) the mapping in use: the detected one, or
// opts.Mapping.
func (r *CSVReader) Mapping() Mapping {
	m := r.mapping
	m.Columns = append([]Column(nil), m.Columns...)
	return m
}

// Delimiter returns the field delimiter in use.
func (r *CSVReader) Delimiter() rune { return r.delim }

// Offset returns the byte offset in the file where the next record starts.
// It never decreases.
func (r *CSVReader) Offset() int64 { return r.next.Offset }

// Checkpoint returns the position of the next record. Taken after a Next
// call, resuming from it continues with the record after that row.
func (r *CSVReader) Checkpoint() Checkpoint { return r.next }

// start detects the encoding and delimiter, reads the header and sets up
// the mapping; the csv reader is left after the header.
func (r *CSVReader) start(in io.Reader) error {
	src := r.newSource(in, 0)
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(4)
	if err := checkEncoding(head, br); err != nil {
		return err
	}
	var skipped int64
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		br.Discard(3) //nolint:errcheck // peeked
		skipped = 3
	}

	peek, _ := br.Peek(64 << 10)
	lineBase := 1
	// Excel's "sep=;" line names the delimiter.
	first, firstLen := firstLine(peek)
	if d, ok := sepLine(first); ok {
		if r.opts.Delimiter == 0 {
			r.opts.Delimiter = d
		}
		br.Discard(firstLen) //nolint:errcheck // peeked
		skipped += int64(firstLen)
		lineBase = 2
		peek = peek[firstLen:]
	}
	r.crOnly = isCROnly(peek)
	r.delim = r.opts.Delimiter
	if r.delim == 0 {
		r.delim = sniffDelimiter(peek, r.crOnly)
	}
	if r.delim != ',' && r.delim != ';' && r.delim != '\t' && r.delim != '|' {
		return fmt.Errorf("contactfile: delimiter %q is not one of , ; tab |", r.delim)
	}

	r.begin(src, br, Checkpoint{Offset: skipped, Line: lineBase})
	rec, err := r.cr.Read()
	if err == io.EOF {
		return &FormatError{Message: "The file is empty: the first line must be a header naming the columns."}
	}
	if err != nil {
		return r.wrapReadErr(err, lineBase)
	}
	line, _ := r.cr.FieldPos(0)
	line += r.lineBase - 1
	if fe := checkUTF8(rec, line, r.cr, r.delim, nil); fe != nil {
		return fe
	}
	r.header = make([]string, len(rec))
	for i, h := range rec {
		r.header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
	}
	r.advance(rec, line)
	r.headerEnd = r.next

	if r.opts.Mapping != nil {
		if err := r.opts.Mapping.validate(r.header, false); err != nil {
			return err
		}
		r.mapping = *r.opts.Mapping
		r.mapping.Columns = append([]Column(nil), r.mapping.Columns...)
	} else {
		r.mapping = DetectMapping(r.header)
	}
	p, err := newPlan(r.mapping, r.opts)
	if err != nil {
		return err
	}
	r.plan = p
	return nil
}

// newSource wraps the file, read from byte offset at, in the counting
// reader that bounds record size.
func (r *CSVReader) newSource(in io.Reader, at int64) *countingReader {
	max := int64(r.opts.MaxRecordBytes)
	if max <= 0 {
		max = defaultMaxRecordBytes
	}
	r.inStart = at
	return &countingReader{r: in, max: max}
}

// begin sets up csv reading from br (buffering src), whose next byte is at
// cp.Offset in the file and on physical line cp.Line.
func (r *CSVReader) begin(src *countingReader, br *bufio.Reader, cp Checkpoint) {
	r.src = src
	var in io.Reader = br
	if r.crOnly {
		in = crToLF{br}
	}
	r.cr = csv.NewReader(in)
	r.cr.Comma = r.delim
	r.cr.FieldsPerRecord = -1
	r.cr.ReuseRecord = true
	r.base = cp.Offset
	r.lineBase = cp.Line
	r.next = cp
	r.src.recordStart = cp.Offset - r.inStart
}

// advance moves the checkpoint past a record that started on line.
func (r *CSVReader) advance(rec []string, line int) {
	nl := 0
	for _, f := range rec {
		nl += strings.Count(f, "\n")
	}
	r.next.Offset = r.base + r.cr.InputOffset()
	r.next.Line = line + nl + 1
	r.src.recordStart = r.next.Offset - r.inStart
}

// Next returns the next non-empty record as a Row, or io.EOF after the
// last one. Records whose cells are all empty are skipped. A problem with
// the file itself (invalid UTF-8, a record over MaxRecordBytes) is a
// *FormatError and ends reading; a record that is not valid CSV (a stray
// quote) is returned as a Row with an error, and reading goes on.
func (r *CSVReader) Next() (Row, error) {
	rec, line, bad, err := r.nextRecord()
	if err != nil {
		return Row{}, err
	}
	if bad != nil {
		return *bad, nil
	}
	return r.plan.row(rec, line, len(r.header)), nil
}

// NextBatch returns up to max rows (at least one), converting them on up
// to workers goroutines, which all finish before it returns. Phone number
// validation dominates the cost of a row, so an importer on several cores
// reads faster this way. After the batch, Checkpoint is the position
// after its last row: commit the rows and the checkpoint together. At the
// end it returns io.EOF and no rows; a *FormatError after some rows of a
// batch is returned by the next call.
func (r *CSVReader) NextBatch(max, workers int) ([]Row, error) {
	if max < 1 {
		max = 1
	}
	type item struct {
		rec  []string
		line int
	}
	items := make([]item, 0, max)
	rows := make([]Row, 0, max)
	for len(rows) < max {
		rec, line, bad, err := r.nextRecord()
		if err != nil {
			if len(rows) > 0 {
				break // the error sticks for the next call
			}
			return nil, err
		}
		if bad != nil {
			items = append(items, item{})
			rows = append(rows, *bad)
			continue
		}
		items = append(items, item{append([]string(nil), rec...), line})
		rows = append(rows, Row{})
	}
	convert := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if items[i].rec != nil {
				rows[i] = r.plan.row(items[i].rec, items[i].line, len(r.header))
			}
		}
	}
	if workers <= 1 || len(rows) < 2*workers {
		convert(0, len(rows))
		return rows, nil
	}
	var wg sync.WaitGroup
	chunk := (len(rows) + workers - 1) / workers
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		wg.Go(func() { convert(lo, hi) })
	}
	wg.Wait()
	return rows, nil
}

// nextRecord reads the next non-blank record and moves the checkpoint
// past it. A record that is not valid CSV comes back as a finished Row.
// The fields are only valid until the next call.
func (r *CSVReader) nextRecord() (rec []string, line int, bad *Row, err error) {
	if r.err != nil {
		return nil, 0, nil, r.err
	}
	for {
		rec, err := r.cr.Read()
		if err == io.EOF {
			r.next.Offset = r.base + r.cr.InputOffset()
			r.err = io.EOF
			return nil, 0, nil, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, errRecordTooLong) {
				line := r.lineBase + pe.StartLine - 1
				r.next.Offset = r.base + r.cr.InputOffset()
				r.next.Line = max(r.lineBase+pe.Line, line+1)
				r.next.Rows++
				r.src.recordStart = r.next.Offset - r.inStart
				return nil, line, &Row{Line: line, Errors: []FieldError{{Message: parseErrorMessage(pe, r.lineBase)}}}, nil
			}
			r.err = r.wrapReadErr(err, r.next.Line)
			return nil, 0, nil, r.err
		}
		line, _ := r.cr.FieldPos(0)
		line += r.lineBase - 1
		if fe := checkUTF8(rec, line, r.cr, r.delim, r.header); fe != nil {
			r.err = fe
			return nil, 0, nil, fe
		}
		r.advance(rec, line)
		if blank(rec) {
			continue
		}
		r.next.Rows++
		return rec, line, nil, nil
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (r *CSVReader) wrapReadErr(err error, line int) error {
	if errors.Is(err, errRecordTooLong) {
		return tooLong(line, r.src.max)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FormatError{Line: r.lineBase + pe.StartLine - 1, Message: parseErrorMessage(pe, r.lineBase)}
	}
	return err
}

func tooLong(line int, max int64) error {
	return &FormatError{
		Line:    line,
		Message: fmt.Sprintf("The record starting here is longer than %d bytes.", max),
		Hint:    `It probably has an opening quote (") without a closing one, so the rest of the file is read as one field.`,
	}
}

func parseErrorMessage(pe *csv.ParseError, lineBase int) string {
	line := lineBase + pe.Line - 1
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`Line %d, byte column %d: a quote (") inside a value that does not start with a quote. Put the whole value in quotes and double the quotes inside it ("5"" screen").`, line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		if pe.StartLine != pe.Line {
			return fmt.Sprintf(`A quoted value that starts on line %d is not closed properly (line %d, byte column %d): a quote (") inside a quoted value must be doubled ("").`, lineBase+pe.StartLine-1, line, pe.Column)
		}
		return fmt.Sprintf(`Line %d, byte column %d: a quoted value is not closed properly: a quote (") inside a quoted value must be doubled ("").`, line, pe.Column)
	}
	return fmt.Sprintf("Line %d: %v.", line, pe.Err)
}

// checkEncoding refuses what is not UTF-8 text, with advice.
func checkEncoding(head []byte, br *bufio.Reader) error {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return &FormatError{Message: "The file is UTF-32 encoded; save it as UTF-8.", Hint: hintUTF8}
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return &FormatError{Message: `The file is UTF-16 encoded (Excel's "Unicode Text" format); save it as UTF-8.`, Hint: hintUTF8}
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return &FormatError{Message: "This is an Excel workbook (.xlsx) or another zip file, not a CSV file.", Hint: `In Excel use "Save As" and choose "CSV UTF-8 (Comma delimited) (*.csv)".`}
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return &FormatError{Message: "This is an old Excel workbook (.xls), not a CSV file.", Hint: `In Excel use "Save As" and choose "CSV UTF-8 (Comma delimited) (*.csv)".`}
	}
	peek, _ := br.Peek(4096)
	if i := bytes.IndexByte(peek, 0); i >= 0 {
		return &FormatError{Line: 1 + bytes.Count(peek[:i], []byte("\n")), Message: "The file contains NUL bytes: it is probably UTF-16 without a byte order mark, or not a text file.", Hint: hintUTF8}
	}
	return nil
}

// checkUTF8 reports the first invalid UTF-8 byte of a record as a
// *FormatError naming the line, byte column and column header.
func checkUTF8(rec []string, line int, cr *csv.Reader, delim rune, header []string) *FormatError {
	for i, f := range rec {
		if utf8.ValidString(f) {
			continue
		}
		bad := 0
		for bad < len(f) {
			r, size := utf8.DecodeRuneInString(f[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		fl, fc := cr.FieldPos(i)
		quoted := strings.ContainsAny(f, "\"\n") || strings.ContainsRune(f, delim)
		if !quoted && i+1 < len(rec) {
			if nl, nc := cr.FieldPos(i + 1); nl == fl && nc-fc-utf8.RuneLen(delim) > len(f) {
				quoted = true
			}
		}
		before := f[:bad]
		col := fc
		if quoted {
			col++
		}
		lines := strings.Count(before, "\n")
		if lines > 0 {
			before = before[strings.LastIndexByte(before, '\n')+1:]
			col = 1
		}
		col += len(before)
		if quoted {
			col += strings.Count(before, `"`) // each was written as ""
		}
		msg := "The file is not valid UTF-8 text"
		if header != nil && i < len(header) {
			msg += fmt.Sprintf(" (column %q)", header[i])
		}
		msg += `: it is probably in a legacy encoding such as Windows-1256 (Persian/Arabic) or Windows-1252.`
		return &FormatError{Line: line + lines, Column: col, Message: msg, Hint: hintUTF8}
	}
	return nil
}

// firstLine returns the first line of b without its line ending, and the
// length including the line ending.
func firstLine(b []byte) ([]byte, int) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimRight(b, "\r"), len(b)
	}
	return bytes.TrimRight(b[:i], "\r"), i + 1
}

// sepLine recognises Excel's "sep=;" hint line.
func sepLine(line []byte) (rune, bool) {
	if len(line) != 5 || !bytes.EqualFold(line[:4], []byte("sep=")) {
		return 0, false
	}
	switch line[4] {
	case ',', ';', '\t', '|':
		return rune(line[4]), true
	}
	return 0, false
}

// isCROnly reports whether the text uses old Mac line endings: the first
// line break is a CR not followed by LF.
func isCROnly(b []byte) bool {
	i := bytes.IndexAny(b, "\r\n")
	return i >= 0 && b[i] == '\r' && (i+1 >= len(b) || b[i+1] != '\n') && i+1 < len(b)
}

// sniffDelimiter counts commas, semicolons and tabs outside quotes in the
// first non-blank line; the most frequent wins, ties going to comma, then
// semicolon, then tab. No delimiter at all (one column) means comma.
func sniffDelimiter(b []byte, crOnly bool) rune {
	nl := byte('\n')
	if crOnly {
		nl = '\r'
	}
	var counts [3]int
	cands := [3]byte{',', ';', '\t'}
	inQuote, started := false, false
	for _, c := range b {
		if c == '"' {
			inQuote = !inQuote
		}
		if inQuote {
			started = true
			continue
		}
		if c == nl || c == '\r' {
			if started {
				break
			}
			continue
		}
		started = true
		for i, d := range cands {
			if c == d {
				counts[i]++
			}
		}
	}
	best := 0
	for i := 1; i < len(counts); i++ {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return rune(cands[best])
}

var errRecordTooLong = errors.New("contactfile: record too long")

// readAhead is how far the buffers above countingReader read ahead: the
// 64 KiB bufio.Reader and encoding/csv's own 4 KiB one (CR-only files).
const readAhead = 64<<10 + 4<<10

// countingReader counts the bytes read from the file and refuses to read
// far past the start of the current record.
type countingReader struct {
	r           io.Reader
	n           int64 // bytes read from r
	recordStart int64 // where the current record starts, counted like n
	max         int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	// Up to readAhead bytes past the record start may be buffered but
	// not yet parsed, so only beyond that is the record itself too long.
	if c.n-c.recordStart > c.max+readAhead {
		return 0, errRecordTooLong
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// crToLF turns CR line endings into LF, byte for byte, so offsets stay
// those of the file.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := range p[:n] {
		if p[i] == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}
