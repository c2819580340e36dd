package analytics

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Columns says where ReadTransactions finds a transaction in a CSV file.
// The zero value reads the header customer_id,date,amount.
type Columns struct {
	// Column names, matched case-insensitively after trimming spaces (and a
	// UTF-8 byte order mark). With NoHeader they are 1-based column numbers
	// ("1", "3"). Empty names take the defaults customer_id, date, amount.
	Customer, Date, Amount string

	// Quantity and Price, when both are set, replace Amount: the amount of
	// a line is quantity × price (Online Retail: Quantity, UnitPrice).
	Quantity, Price string

	// NoAmount reads files without amounts (e.g. lifetimes'
	// example_transactions.csv, date,id): every Amount is 0.
	NoAmount bool

	// Order names an order (invoice) id column. Consecutive rows with the
	// same customer and order are one transaction: its time is the first
	// row's, its amount the sum of the rows'. Without Order every row is
	// one transaction. Rows of one order that are not consecutive count as
	// two transactions, so files should keep an order's lines together (all
	// order exports do; Online Retail does once cleaned).
	Order string

	// Comma is the field separator: ',' (the default), ';' or '\t'. ' '
	// reads whitespace-separated files without quoting (CDNOW_master.txt).
	Comma rune

	// NoHeader: the first line is data and the column names are numbers.
	NoHeader bool

	// Calendar of the dates in the file: "gregorian" (the default) or
	// "jalali" (1404-01-01 is 2025-03-21).
	Calendar string

	// Clean skips rows instead of failing on them when the customer is
	// empty or the amount, quantity or price is zero or negative: the
	// cleaning rule the Online Retail references use (it also drops that
	// file's cancellations, whose quantities are all negative). Without
	// Clean an empty customer or a negative amount, quantity or price is an
	// error (a zero amount is a free purchase and is kept), because returns
	// and refunds are not purchases: the models count every transaction as
	// a purchase. Within an order (Order set) a negative line such as a
	// discount is allowed as long as the order's total is not negative.
	Clean bool
}

// OnlineRetailColumns reads the UCI Online Retail file
// (online_retail_2010_2011.csv) with the cleaning rule of its reference
// outputs: one transaction per invoice, amount Σ Quantity·UnitPrice, rows
// without a customer or with a non-positive quantity or price skipped.
var OnlineRetailColumns = Columns{Customer: "CustomerID", Date: "InvoiceDate", Quantity: "Quantity",
	Price: "UnitPrice", Order: "InvoiceNo", Clean: true}

// ReadStats counts what ReadTransactions read.
type ReadStats struct {
	Lines        int // physical lines, the header included
	Rows         int // data rows
	Skipped      int // rows dropped by Clean
	Transactions int // transactions passed to fn
}

const (
	defaultCustomerColumn = "customer_id"
	defaultDateColumn     = "date"
	defaultAmountColumn   = "amount"
)

// ReadTransactions streams the transactions of a CSV file to fn, one at a
// time and in file order, holding only the current row (and, with
// Columns.Order, the current order) in memory, plus one entry per customer:
// ids are interned, so every transaction of a customer carries the same
// string. See
// ReadTransactionsStats for what is accepted.
func ReadTransactions(r io.Reader, cols Columns, fn func(Transaction) error) error {
	_, err := ReadTransactionsStats(r, cols, fn)
	return err
}

// ReadTransactionsStats is ReadTransactions that also reports counts.
//
// Input: UTF-8 (a byte order mark is dropped), RFC 4180 quoting, LF or CRLF
// line ends, empty lines skipped. Dates are YYYY-MM-DD, YYYY/MM/DD or
// YYYYMMDD, optionally followed by a time (T or a space, then HH:MM,
// HH:MM:SS or HH:MM:SS.fff, then optionally Z or ±HH:MM), from the year 1900
// on (earlier years are mistakes, such as Jalali dates read as Gregorian,
// which the error points out). Persian and Arabic-Indic digits are accepted
// in dates and numbers. A time without an offset is kept as written, as
// UTC; with an offset it keeps that offset, so the calendar date is always
// the date as written. Amounts are decimal numbers (12.5, 1e3); NaN and
// infinities are rejected. A customer id written as an integer-valued
// decimal ("17850.0", as spreadsheets and pandas write integer ids) is read
// as the integer ("17850").
//
// Errors are *crm.Error (EINVALID) naming the line and column, e.g.
// `line 17, column "date": "2024-13-01" is not a date`. An error returned
// by fn stops the reading and is returned as it is.
func ReadTransactionsStats(r io.Reader, cols Columns, fn func(Transaction) error) (ReadStats, error) {
	return ReadCustomerTransactions(r, cols, func(t Transaction, _ int) error { return fn(t) })
}

// ReadCustomerTransactions is ReadTransactionsStats that also passes each
// transaction's customer number: 0, 1, 2 … in order of first appearance in
// this file. Accumulators use it to keep per-customer state in slices
// (RFM.AddIndexed, Cohorts.AddIndexed) instead of hashing the id again.
func ReadCustomerTransactions(r io.Reader, cols Columns, fn func(t Transaction, customer int) error) (ReadStats, error) {
	var st ReadStats
	tr, err := newTxReader(r, cols)
	if err != nil {
		return st, err
	}
	err = tr.run(fn)
	st = tr.stats
	st.Lines = tr.sc.line
	return st, err
}

// txReader is one ReadTransactions call.
type txReader struct {
	sc    *csvScanner
	cols  Columns
	jal   bool
	stats ReadStats

	iCust, iDate, iAmount, iQty, iPrice, iOrder int
	nCust, nDate, nAmount, nQty, nPrice, nOrder string // names for errors
	need                                        int    // fields a row must have

	// the previous row's date and customer, as written and as read
	hasLast  bool
	lastDate []byte
	lastTime time.Time
	lastCust []byte
	lastIdx  int

	intern map[string]int32 // customer id as written → customer number
	ids    []string         // customer number → id
	zones  map[int]*time.Location

	// the pending order (Columns.Order)
	pending   bool
	pendTx    Transaction
	pendCust  int
	pendOrder []byte
	pendLine  int
}

func inputError(line int, column, format string, args ...any) error {
	if column == "" {
		return crm.Errorf(crm.EINVALID, "line %d: %s", line, fmt.Sprintf(format, args...))
	}
	return crm.Errorf(crm.EINVALID, "line %d, column %q: %s", line, column, fmt.Sprintf(format, args...))
}

func newTxReader(r io.Reader, cols Columns) (*txReader, error) {
	if cols.Customer == "" {
		cols.Customer = defaultCustomerColumn
	}
	if cols.Date == "" {
		cols.Date = defaultDateColumn
	}
	if cols.Amount == "" {
		cols.Amount = defaultAmountColumn
	}
	if (cols.Quantity == "") != (cols.Price == "") {
		return nil, crm.Errorf(crm.EINVALID, "give both a quantity and a price column, or neither")
	}
	var sep byte
	switch cols.Comma {
	case 0, ',':
		sep = ','
	case ';', '\t', ' ':
		sep = byte(cols.Comma)
	default:
		return nil, crm.Errorf(crm.EINVALID, "separator %q is not one of , ; tab or space", cols.Comma)
	}
	jal := false
	switch strings.ToLower(strings.TrimSpace(cols.Calendar)) {
	case "", text.CalendarGregorian:
	case text.CalendarJalali:
		jal = true
	default:
		return nil, crm.Errorf(crm.EINVALID, "calendar %q is not gregorian or jalali", cols.Calendar)
	}
	t := &txReader{sc: newCSVScanner(r, sep), cols: cols, jal: jal,
		intern: make(map[string]int32), zones: map[int]*time.Location{},
		iAmount: -1, iQty: -1, iPrice: -1, iOrder: -1}
	t.sc.skipBOM()
	if err := t.locate(); err != nil {
		return nil, err
	}
	return t, nil
}

// txColumn is a column ReadTransactions needs: its name as given, where
// it is found, and its name as the file spells it (for errors).
type txColumn struct {
	name string
	at   *int
	as   *string
}

// locate finds the columns, from the header or from the column numbers.
func (t *txReader) locate() error {
	c := t.cols
	wants := []txColumn{{c.Customer, &t.iCust, &t.nCust}, {c.Date, &t.iDate, &t.nDate}}
	switch {
	case c.Quantity != "":
		wants = append(wants, txColumn{c.Quantity, &t.iQty, &t.nQty}, txColumn{c.Price, &t.iPrice, &t.nPrice})
	case !c.NoAmount:
		wants = append(wants, txColumn{c.Amount, &t.iAmount, &t.nAmount})
	}
	if c.Order != "" {
		wants = append(wants, txColumn{c.Order, &t.iOrder, &t.nOrder})
	}
	if c.NoHeader {
		for _, w := range wants {
			n, err := strconv.Atoi(strings.TrimSpace(w.name))
			if err != nil || n < 1 || n > 10000 {
				return crm.Errorf(crm.EINVALID, "without a header, columns are numbers from 1; %q is not", w.name)
			}
			*w.at, *w.as = n-1, strconv.Itoa(n)
		}
	} else {
		header, err := t.sc.next()
		if err == io.EOF {
			var names []string
			for _, w := range wants {
				names = append(names, w.name)
			}
			return inputError(1, "", "the file is empty; expected a header with %s", strings.Join(names, ","))
		}
		if err != nil {
			return t.syntaxError(err)
		}
		names := make([]string, len(header))
		for i, h := range header {
			names[i] = strings.TrimSpace(string(h))
		}
		for _, w := range wants {
			*w.at = -1
			for i, h := range names {
				if strings.EqualFold(h, strings.TrimSpace(w.name)) {
					*w.at, *w.as = i, h
					break
				}
			}
			if *w.at < 0 {
				shown := strings.Join(names, ",")
				if len(shown) > 200 {
					shown = shown[:200] + "…"
				}
				return inputError(t.sc.start, w.name, "no such column in the header (%s)", shown)
			}
		}
	}
	for _, w := range wants {
		if *w.at+1 > t.need {
			t.need = *w.at + 1
		}
	}
	return nil
}

func (t *txReader) syntaxError(err error) error {
	if err == errQuote || err == errBareQuote {
		return inputError(t.sc.start, "", "%v", err)
	}
	return err
}

func (t *txReader) run(fn func(Transaction, int) error) error {
	for {
		rec, err := t.sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return t.syntaxError(err)
		}
		t.stats.Rows++
		if err := t.row(rec, fn); err != nil {
			return err
		}
	}
	return t.flush(fn)
}

// row handles one data row.
func (t *txReader) row(rec [][]byte, fn func(Transaction, int) error) error {
	line := t.sc.start
	if len(rec) < t.need {
		return inputError(line, "", "%d fields, but the columns used need %d", len(rec), t.need)
	}
	cust := bytes.TrimSpace(rec[t.iCust])
	if len(cust) == 0 {
		if t.cols.Clean {
			t.stats.Skipped++
			return nil
		}
		return inputError(line, t.nCust, "the customer is empty")
	}
	var amount float64
	switch {
	case t.iQty >= 0:
		q, err := parseNumber(rec[t.iQty])
		if err != nil {
			return inputError(line, t.nQty, "%q is not a number", clip(rec[t.iQty]))
		}
		p, err := parseNumber(rec[t.iPrice])
		if err != nil {
			return inputError(line, t.nPrice, "%q is not a number", clip(rec[t.iPrice]))
		}
		if t.cols.Clean && (q <= 0 || p <= 0) {
			t.stats.Skipped++
			return nil
		}
		if t.iOrder < 0 {
			if q < 0 {
				return inputError(line, t.nQty, "%s is negative (returns are not purchases; drop them, or skip them with the clean option)", clip(rec[t.iQty]))
			}
			if p < 0 {
				return inputError(line, t.nPrice, "%s is negative", clip(rec[t.iPrice]))
			}
		}
		amount = q * p
	case t.iAmount >= 0:
		a, err := parseNumber(rec[t.iAmount])
		if err != nil {
			return inputError(line, t.nAmount, "%q is not a number", clip(rec[t.iAmount]))
		}
		if t.cols.Clean && a <= 0 {
			t.stats.Skipped++
			return nil
		}
		if a < 0 && t.iOrder < 0 {
			return inputError(line, t.nAmount, "%s is negative (returns are not purchases; drop them, or skip them with the clean option)", clip(rec[t.iAmount]))
		}
		amount = a
	}
	// Lines of one order repeat the date and the customer: reuse the
	// previous line's parse when the bytes are the same.
	var when time.Time
	if t.hasLast && bytes.Equal(rec[t.iDate], t.lastDate) {
		when = t.lastTime
	} else {
		var ok bool
		if when, ok = t.parseTime(rec[t.iDate]); !ok {
			if y, _, _, _, ok := parseYMD(asciiDigits(bytes.TrimSpace(rec[t.iDate]))); ok && !t.jal && y >= 1300 && y < 1500 {
				return inputError(line, t.nDate, "%q is not a date (Jalali dates need the jalali calendar)", clip(rec[t.iDate]))
			}
			return inputError(line, t.nDate, "%q is not a date", clip(rec[t.iDate]))
		}
		t.lastDate, t.lastTime = append(t.lastDate[:0], rec[t.iDate]...), when
	}
	var ci int
	if t.hasLast && bytes.Equal(cust, t.lastCust) {
		ci = t.lastIdx
	} else {
		var err error
		if ci, err = t.customer(cust); err != nil {
			return inputError(line, t.nCust, "%v", err)
		}
		t.lastCust, t.lastIdx = append(t.lastCust[:0], cust...), ci
	}
	t.hasLast = true
	tx := Transaction{Customer: t.ids[ci], Time: when, Amount: amount}
	if t.iOrder < 0 {
		t.stats.Transactions++
		return fn(tx, ci)
	}
	order := rec[t.iOrder]
	if t.pending && t.pendCust == ci && bytes.Equal(order, t.pendOrder) {
		t.pendTx.Amount += amount
		return nil
	}
	if err := t.flush(fn); err != nil {
		return err
	}
	t.pending, t.pendTx, t.pendCust, t.pendLine = true, tx, ci, line
	t.pendOrder = append(t.pendOrder[:0], order...)
	return nil
}

// flush passes the pending order to fn.
func (t *txReader) flush(fn func(Transaction, int) error) error {
	if !t.pending {
		return nil
	}
	t.pending = false
	if t.pendTx.Amount < 0 {
		col := t.nAmount
		if t.iQty >= 0 {
			col = t.nQty
		}
		return inputError(t.pendLine, col, "order %q totals %s, a negative amount (returns are not purchases)",
			clip(t.pendOrder), strconv.FormatFloat(t.pendTx.Amount, 'f', -1, 64))
	}
	t.stats.Transactions++
	return fn(t.pendTx, t.pendCust)
}

// customer is the number of a customer id, reading an integer-valued
// decimal ("17850.0") as the integer ("17850").
func (t *txReader) customer(b []byte) (int, error) {
	if i, ok := t.intern[string(b)]; ok {
		return int(i), nil
	}
	if !utf8.Valid(b) {
		return 0, fmt.Errorf("%q is not valid UTF-8", clip(b))
	}
	key := string(b)
	id := key
	if i := bytes.IndexByte(b, '.'); i > 0 && allDigits(b[:i]) && len(b) > i+1 {
		zeros := true
		for _, c := range b[i+1:] {
			if c != '0' {
				zeros = false
				break
			}
		}
		if zeros {
			id = string(b[:i])
			if n, ok := t.intern[id]; ok {
				t.intern[key] = n
				return int(n), nil
			}
		}
	}
	n := int32(len(t.ids))
	t.ids = append(t.ids, id)
	t.intern[id] = n
	t.intern[key] = n
	return int(n), nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// clip is a field for an error message: at most 40 bytes.
func clip(b []byte) string {
	if len(b) <= 40 {
		return string(b)
	}
	s := string(b[:40])
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// asciiDigits converts Persian and Arabic-Indic digits (and the Arabic
// decimal separator) to ASCII, leaving ASCII input untouched.
func asciiDigits(b []byte) []byte {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			s := strings.ReplaceAll(text.ToASCIIDigits(string(b)), "\u066b", ".")
			return []byte(s)
		}
	}
	return b
}

// minYear is the first Gregorian year of a transaction: earlier dates are
// mistakes (a Jalali date read as Gregorian, a zero date).
const minYear = 1900

// pow10 are the powers of ten that float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber parses a finite decimal number.
func parseNumber(b []byte) (float64, error) {
	// Fast path for plain decimals ("-12.50"): an integer mantissa below
	// 2^53 divided by an exact power of ten is correctly rounded, as
	// strconv.ParseFloat would give it.
	if len(b) > 0 && len(b) < 18 {
		i, neg := 0, false
		if b[0] == '-' {
			i, neg = 1, true
		}
		var m uint64
		digits, frac, dot := 0, 0, false
		for ; i < len(b); i++ {
			c := b[i]
			if c >= '0' && c <= '9' {
				m = m*10 + uint64(c-'0')
				digits++
				if dot {
					frac++
				}
			} else if c == '.' && !dot {
				dot = true
			} else {
				break
			}
		}
		if i == len(b) && digits > 0 && m < 1<<53 {
			f := float64(m) / pow10[frac]
			if neg {
				f = -f
			}
			return f, nil
		}
	}
	b = asciiDigits(bytes.TrimSpace(b))
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, strconv.ErrSyntax // no hex, inf, nan or underscores
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, strconv.ErrSyntax
	}
	return f, nil
}

// parseTime parses a date with an optional time (see ReadTransactionsStats).
func (t *txReader) parseTime(b []byte) (time.Time, bool) {
	b = asciiDigits(bytes.TrimSpace(b))
	y, mo, d, rest, ok := parseYMD(b)
	if !ok {
		return time.Time{}, false
	}
	if t.jal {
		tm, err := text.FromJalali(y, mo, d, nil)
		if err != nil {
			return time.Time{}, false
		}
		y, mo, d = tm.Year(), int(tm.Month()), tm.Day()
	} else if y < minYear || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return time.Time{}, false
	}
	if len(rest) == 0 {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
	}
	if rest[0] != ' ' && rest[0] != 'T' {
		return time.Time{}, false
	}
	h, mi, sec, ns, off, hasOff, ok := parseClock(rest[1:])
	if !ok {
		return time.Time{}, false
	}
	loc := time.UTC
	if hasOff && off != 0 {
		loc = t.zones[off]
		if loc == nil {
			loc = time.FixedZone("", off)
			if len(t.zones) < 64 {
				t.zones[off] = loc
			}
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// num reads n ASCII digits.
func num(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, len(b) > 0
}

// parseYMD reads YYYY-MM-DD, YYYY/MM/DD (month and day may have one
// digit) or YYYYMMDD, and returns what follows.
func parseYMD(b []byte) (y, m, d int, rest []byte, ok bool) {
	if len(b) >= 8 && allDigits(b[:8]) && (len(b) == 8 || b[8] == ' ' || b[8] == 'T') {
		y, _ = num(b[:4])
		m, _ = num(b[4:6])
		d, _ = num(b[6:8])
		return y, m, d, b[8:], true
	}
	if len(b) < 8 || (b[4] != '-' && b[4] != '/') {
		return
	}
	sep := b[4]
	if y, ok = num(b[:4]); !ok {
		return
	}
	b = b[5:]
	i := 0
	for i < len(b) && i < 3 && b[i] != sep {
		i++
	}
	if i == 0 || i > 2 || i >= len(b) || b[i] != sep {
		return 0, 0, 0, nil, false
	}
	if m, ok = num(b[:i]); !ok {
		return
	}
	b = b[i+1:]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == 0 || j > 2 {
		return 0, 0, 0, nil, false
	}
	d, _ = num(b[:j])
	return y, m, d, b[j:], true
}

// parseClock reads HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM].
func parseClock(b []byte) (h, mi, sec, ns, off int, hasOff, ok bool) {
	if len(b) < 5 || b[2] != ':' {
		return
	}
	var ok1, ok2 bool
	h, ok1 = num(b[:2])
	mi, ok2 = num(b[3:5])
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return 0, 0, 0, 0, 0, false, false
	}
	b = b[5:]
	if len(b) >= 3 && b[0] == ':' {
		if sec, ok = num(b[1:3]); !ok || sec > 59 {
			return 0, 0, 0, 0, 0, false, false
		}
		b = b[3:]
		if len(b) > 1 && (b[0] == '.' || b[0] == ',') {
			i := 1
			scale := 100000000
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				ns += int(b[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == 1 || i > 10 {
				return 0, 0, 0, 0, 0, false, false
			}
			b = b[i:]
		}
	}
	switch {
	case len(b) == 0:
		return h, mi, sec, ns, 0, false, true
	case len(b) == 1 && b[0] == 'Z':
		return h, mi, sec, ns, 0, true, true
	case b[0] == '+' || b[0] == '-':
		z := b[1:]
		var oh, om int
		var okh, okm bool
		switch {
		case len(z) == 5 && z[2] == ':':
			oh, okh = num(z[:2])
			om, okm = num(z[3:])
		case len(z) == 4:
			oh, okh = num(z[:2])
			om, okm = num(z[2:])
		case len(z) == 2:
			oh, okh = num(z)
			okm = true
		}
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, 0, 0, 0, 0, false, false
		}
		off = (oh*60 + om) * 60
		if b[0] == '-' {
			off = -off
		}
		return h, mi, sec, ns, off, true, true
	}
	return 0, 0, 0, 0, 0, false, false
}
