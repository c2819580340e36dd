package order

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// The fields a column of an orders CSV file may hold. One row is one
// order line; the rows of one order (same order_id) follow each other.
// A file without line columns (sku, name, quantity, unit_price) has one
// row per order and its amount.
const (
	FieldIgnore        = "ignore"
	FieldCustomer      = "customer"       // a phone, an email or a member number: recognised by its shape
	FieldCustomerEmail = "customer_email" // …
	FieldCustomerPhone = "customer_phone"
	FieldMemberNumber  = "member_number"
	FieldCustomerID    = "customer_id" // the source's own customer number
	FieldCustomerName  = "customer_name"
	FieldFirstName     = "first_name"
	FieldLastName      = "last_name"
	FieldOrderID       = "order_id"
	FieldDate          = "date"
	FieldAmount        = "amount" // the order's total
	FieldCurrency      = "currency"
	FieldChannel       = "channel"
	FieldStore         = "store"
	FieldCoupon        = "coupon_code"
	FieldDiscount      = "discount" // the order-level discount
	FieldSKU           = "sku"
	FieldName          = "name" // the product
	FieldCategory      = "category"
	FieldQuantity      = "quantity"
	FieldUnitPrice     = "unit_price"
	FieldLineDiscount  = "line_discount"
)

// Fields lists the fields a column may be mapped to.
var Fields = []string{FieldCustomer, FieldCustomerEmail, FieldCustomerPhone, FieldMemberNumber, FieldCustomerID, FieldCustomerName,
	FieldFirstName, FieldLastName, FieldOrderID, FieldDate, FieldAmount, FieldCurrency, FieldChannel, FieldStore, FieldCoupon,
	FieldDiscount, FieldSKU, FieldName, FieldCategory, FieldQuantity, FieldUnitPrice, FieldLineDiscount, FieldIgnore}

// headerFields recognises headers, compared after headerKey: lower case,
// letters and digits only (so "Invoice No", "invoice_no" and "InvoiceNo"
// are one). English, Persian and Arabic, and the columns of common
// exports (the UCI Online Retail data set: InvoiceNo, StockCode,
// Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country).
var headerFields = map[string]string{
	"customer": FieldCustomer, "client": FieldCustomer, "buyer": FieldCustomer, "مشتری": FieldCustomer, "خریدار": FieldCustomer, "العميل": FieldCustomer,
	"email": FieldCustomerEmail, "customeremail": FieldCustomerEmail, "emailaddress": FieldCustomerEmail, "ایمیل": FieldCustomerEmail, "البريدالإلكتروني": FieldCustomerEmail,
	"phone": FieldCustomerPhone, "mobile": FieldCustomerPhone, "customerphone": FieldCustomerPhone, "phonenumber": FieldCustomerPhone,
	"تلفن": FieldCustomerPhone, "موبایل": FieldCustomerPhone, "تلفنهمراه": FieldCustomerPhone, "الهاتف": FieldCustomerPhone, "الجوال": FieldCustomerPhone,
	"membernumber": FieldMemberNumber, "memberno": FieldMemberNumber, "memberid": FieldMemberNumber, "cardnumber": FieldMemberNumber,
	"شمارهعضویت": FieldMemberNumber, "رقمالعضوية": FieldMemberNumber,
	"customerid": FieldCustomerID, "customerno": FieldCustomerID, "customernumber": FieldCustomerID, "custid": FieldCustomerID,
	"کدمشتری": FieldCustomerID, "شمارهمشتری": FieldCustomerID, "رقمالعميل": FieldCustomerID,
	"customername": FieldCustomerName, "ناممشتری": FieldCustomerName, "اسمالعميل": FieldCustomerName,
	"firstname": FieldFirstName, "givenname": FieldFirstName, "نام": FieldFirstName,
	"lastname": FieldLastName, "surname": FieldLastName, "familyname": FieldLastName, "نامخانوادگی": FieldLastName,
	"orderid": FieldOrderID, "order": FieldOrderID, "orderno": FieldOrderID, "ordernumber": FieldOrderID, "invoiceno": FieldOrderID,
	"invoice": FieldOrderID, "invoiceid": FieldOrderID, "invoicenumber": FieldOrderID, "receipt": FieldOrderID, "receiptno": FieldOrderID,
	"شمارهسفارش": FieldOrderID, "سفارش": FieldOrderID, "شمارهفاکتور": FieldOrderID, "فاکتور": FieldOrderID, "رقمالطلب": FieldOrderID, "رقمالفاتورة": FieldOrderID,
	"date": FieldDate, "orderdate": FieldDate, "invoicedate": FieldDate, "placedat": FieldDate, "datetime": FieldDate, "time": FieldDate,
	"createdat": FieldDate, "تاریخ": FieldDate, "تاریخسفارش": FieldDate, "التاريخ": FieldDate,
	"amount": FieldAmount, "total": FieldAmount, "ordertotal": FieldAmount, "totalamount": FieldAmount, "مبلغ": FieldAmount, "جمع": FieldAmount,
	"مبلغکل": FieldAmount, "المبلغ": FieldAmount, "الإجمالي": FieldAmount,
	"currency": FieldCurrency, "ارز": FieldCurrency, "واحدپول": FieldCurrency, "العملة": FieldCurrency,
	"channel": FieldChannel, "کانال": FieldChannel, "القناة": FieldChannel,
	"store": FieldStore, "branch": FieldStore, "shop": FieldStore, "location": FieldStore, "شعبه": FieldStore, "فروشگاه": FieldStore, "الفرع": FieldStore,
	"coupon": FieldCoupon, "couponcode": FieldCoupon, "کوپن": FieldCoupon,
	"discount": FieldDiscount, "orderdiscount": FieldDiscount, "تخفیف": FieldDiscount, "الخصم": FieldDiscount,
	"sku": FieldSKU, "stockcode": FieldSKU, "productcode": FieldSKU, "itemcode": FieldSKU, "productid": FieldSKU, "کدکالا": FieldSKU, "رمزالمنتج": FieldSKU,
	"description": FieldName, "product": FieldName, "productname": FieldName, "item": FieldName, "itemname": FieldName,
	"کالا": FieldName, "نامکالا": FieldName, "شرح": FieldName, "المنتج": FieldName,
	"category": FieldCategory, "دستهبندی": FieldCategory, "گروه": FieldCategory, "الفئة": FieldCategory,
	"quantity": FieldQuantity, "qty": FieldQuantity, "تعداد": FieldQuantity, "الكمية": FieldQuantity,
	"unitprice": FieldUnitPrice, "price": FieldUnitPrice, "قیمت": FieldUnitPrice, "قیمتواحد": FieldUnitPrice, "فی": FieldUnitPrice, "السعر": FieldUnitPrice,
	"linediscount": FieldLineDiscount, "itemdiscount": FieldLineDiscount,
}

// headerKey folds a header for matching: lower case, letters and digits
// only, Persian and Arabic spellings unified.
func headerKey(h string) string {
	h = text.Normalize(h)
	var b strings.Builder
	for _, r := range h {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func init() {
	// The table is written in everyday spelling; match it normalised.
	folded := make(map[string]string, len(headerFields))
	for k, v := range headerFields {
		folded[headerKey(k)] = v
	}
	headerFields = folded
}

// Mapping says which field each column holds, in column order.
type Mapping []string

// DetectMapping proposes a mapping for a header: known headers get their
// field, others are ignored. A field goes to its first column only.
func DetectMapping(header []string) Mapping {
	m := make(Mapping, len(header))
	used := map[string]bool{}
	for i, h := range header {
		f := headerFields[headerKey(h)]
		if f == "" || used[f] {
			f = FieldIgnore
		}
		used[f] = f != FieldIgnore
		m[i] = f
	}
	return m
}

// Apply changes the columns named in pairs COLUMN=FIELD (COLUMN is a
// header, compared like DetectMapping does, or a 1-based column number).
func (m Mapping) Apply(header []string, pairs []string) error {
	for _, p := range pairs {
		i := strings.LastIndex(p, "=")
		if i <= 0 || i == len(p)-1 {
			return fmt.Errorf("%q is not COLUMN=FIELD", p)
		}
		col, field := strings.TrimSpace(p[:i]), strings.ToLower(strings.TrimSpace(p[i+1:]))
		if !slices.Contains(Fields, field) {
			return fmt.Errorf("%q is not a field (use one of %s)", field, strings.Join(Fields, ", "))
		}
		idx := -1
		if n, err := strconv.Atoi(col); err == nil {
			if n < 1 || n > len(header) {
				return fmt.Errorf("column %d does not exist (the file has %d)", n, len(header))
			}
			idx = n - 1
		} else {
			for k, h := range header {
				if strings.EqualFold(h, col) || headerKey(h) == headerKey(col) {
					idx = k
					break
				}
			}
			if idx < 0 {
				return fmt.Errorf("no column is called %q (the header has %s)", col, quoteAll(header))
			}
		}
		if field != FieldIgnore {
			for k := range m { // a field goes to one column
				if m[k] == field {
					m[k] = FieldIgnore
				}
			}
		}
		m[idx] = field
	}
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Column returns the index of the column holding field, or -1.
func (m Mapping) Column(field string) int { return slices.Index(m, field) }

// Has reports whether some column holds field.
func (m Mapping) Has(field string) bool { return m.Column(field) >= 0 }

// Lines reports whether rows are order lines (the file has line columns).
func (m Mapping) Lines() bool {
	return m.Has(FieldQuantity) || m.Has(FieldUnitPrice) || m.Has(FieldSKU) || m.Has(FieldName)
}

// Check says what a mapping lacks: an order id, a date, a customer, and
// an amount or the line columns.
func (m Mapping) Check(header []string) error {
	var missing []string
	if !m.Has(FieldOrderID) {
		missing = append(missing, "order_id (the order's number)")
	}
	if !m.Has(FieldDate) {
		missing = append(missing, "date")
	}
	if !m.Has(FieldCustomer) && !m.Has(FieldCustomerEmail) && !m.Has(FieldCustomerPhone) && !m.Has(FieldMemberNumber) && !m.Has(FieldCustomerID) {
		missing = append(missing, "a customer (customer, customer_email, customer_phone, member_number or customer_id)")
	}
	if m.Lines() {
		if !m.Has(FieldQuantity) || !m.Has(FieldUnitPrice) {
			missing = append(missing, "quantity and unit_price (the file has line columns)")
		}
	} else if !m.Has(FieldAmount) {
		missing = append(missing, "amount (or the line columns sku/name, quantity, unit_price)")
	}
	if len(missing) == 0 {
		return nil
	}
	var cols []string
	for i, h := range header {
		cols = append(cols, fmt.Sprintf("%s=%s", strconv.Quote(h), m[i]))
	}
	return crm.Errorf(crm.EINVALID, "The file's columns do not say %s. Columns: %s. Map columns with --map COLUMN=FIELD.",
		strings.Join(missing, "; "), strings.Join(cols, ", "))
}

// Record is one CSV record: its cells and the physical line it starts on
// (the header is line 1). Start is the byte offset where reading it began
// (the end of the record before, so blank lines before it are included),
// StartLine the line at that offset, and Next the offset after it: a
// reader made by NewReaderAt(Start, StartLine) reads this record again,
// with the same line numbers.
type Record struct {
	Cells       []string
	Line        int64
	Start, Next int64
	StartLine   int64
	Err         error // a record the CSV reader could not read (quotes …); Cells is nil
}

// Reader reads an orders CSV file record by record, knowing the byte
// offset of each, so an import can resume in the middle of a file.
type Reader struct {
	header   []string
	comma    rune
	cr       *csv.Reader
	base     int64 // file offset where cr started reading
	lineBase int64 // physical line of cr's first line, minus one
	last     int64 // offset after the last record read
	lastLine int64 // the line at offset last
}

// maxHeader bounds the header line read to sniff the delimiter.
const maxHeader = 1 << 20

// NewReader reads the header of a CSV file (UTF-8, with or without BOM,
// comma, semicolon or tab separated) from its start.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(maxHeader)
	var skip int64
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		head, skip = head[3:], 3
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "The file is empty: it needs a header line naming its columns.")
	}
	first := head
	if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
		first = head[:i]
	}
	if !utf8.Valid(first) {
		return nil, crm.Errorf(crm.EINVALID, "Line 1 is not UTF-8 text; save the file as CSV UTF-8.")
	}
	rd := &Reader{comma: sniffComma(first), base: skip}
	rd.cr = rd.newCSV(br)
	rec, err := rd.cr.Read()
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "Line 1 (the header) cannot be read: %v", csvMessage(err))
	}
	rd.header = make([]string, len(rec))
	for i, h := range rec {
		rd.header[i] = strings.TrimSpace(h)
	}
	if len(rd.header) == 0 || (len(rd.header) == 1 && rd.header[0] == "") {
		return nil, crm.Errorf(crm.EINVALID, "Line 1 (the header) names no columns.")
	}
	rd.last = rd.base + rd.cr.InputOffset()
	rd.lastLine = 2 + newlines(rec)
	return rd, nil
}

// newlines counts the line breaks inside a record's cells (quoted cells
// may hold them), so that the line after the record is known.
func newlines(rec []string) int64 {
	var n int64
	for _, c := range rec {
		n += int64(strings.Count(c, "\n"))
	}
	return n
}

// NewReaderAt is NewReader resuming at a record that starts at byte
// offset on physical line line (both from Record.Next and Record.Line of
// an earlier reader of the same file).
func NewReaderAt(rs io.ReadSeeker, offset, line int64) (*Reader, error) {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	rd, err := NewReader(rs)
	if err != nil {
		return nil, err
	}
	if offset <= rd.last { // the first record: carry on from the header
		return rd, nil
	}
	if _, err := rs.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	rd.base, rd.lineBase, rd.last, rd.lastLine = offset, line-1, offset, line
	rd.cr = rd.newCSV(bufio.NewReaderSize(rs, 64<<10))
	return rd, nil
}

func (rd *Reader) newCSV(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = rd.comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	return cr
}

// Header returns the header cells, trimmed.
func (rd *Reader) Header() []string { return rd.header }

// Comma returns the field delimiter in use.
func (rd *Reader) Comma() rune { return rd.comma }

// Offset is where the next record starts.
func (rd *Reader) Offset() int64 { return rd.last }

// Line is the physical line at Offset.
func (rd *Reader) Line() int64 { return rd.lastLine }

// Next returns the next record that is not blank, or io.EOF. A record
// the CSV reader cannot read comes back with Err set (the reader goes on
// with the next line); an I/O error is returned as the error.
func (rd *Reader) Next() (Record, error) {
	for {
		start, startLine := rd.last, rd.lastLine
		rec, err := rd.cr.Read()
		rd.last = rd.base + rd.cr.InputOffset()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		r := Record{Start: start, StartLine: startLine, Next: rd.last}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Record{}, err
			}
			r.Line = rd.lineBase + int64(pe.StartLine)
			rd.lastLine = rd.lineBase + int64(pe.Line) + 1
			r.Err = errors.New(csvMessage(err))
			return r, nil
		}
		line, _ := rd.cr.FieldPos(0)
		r.Line = rd.lineBase + int64(line)
		rd.lastLine = r.Line + newlines(rec) + 1
		blank := true
		for i, c := range rec {
			rec[i] = strings.TrimSpace(c)
			if rec[i] != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		for _, c := range rec {
			if !utf8.ValidString(c) {
				r.Err = errors.New("the line is not UTF-8 text; save the file as CSV UTF-8")
				return r, nil
			}
		}
		r.Cells = rec
		return r, nil
	}
}

// csvMessage words a CSV reading error without the reader's own line
// numbers (the caller names the line).
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return "a quote (\") inside an unquoted cell; quote the cell and double the quote"
		case errors.Is(pe.Err, csv.ErrQuote):
			return "a quoted cell is not closed, or text follows its closing quote"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// sniffComma picks the delimiter of the header line: the most frequent
// of comma, semicolon and tab outside quotes (comma on a tie).
func sniffComma(line []byte) rune {
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(line) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
