package order

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func readAll(t testing.TB, rd *Reader) []Record {
	var out []Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func TestReader(t *testing.T) {
	data := "\xef\xbb\xbfOrder ID;Date;Customer;Amount\r\n" +
		"A-1;2024-08-02;0912 345 6789;\"1,250\"\r\n" +
		"\r\n" +
		"A-2;1403/05/12 09:15;\"multi\nline\";3\r\n" +
		"A-3;2024-08-02;x\"y;3\r\n" +
		"A-4;2024-08-03;sara@example.com;4"
	rd, err := NewReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if rd.Comma() != ';' || !slices.Equal(rd.Header(), []string{"Order ID", "Date", "Customer", "Amount"}) {
		t.Fatalf("header %q comma %q", rd.Header(), rd.Comma())
	}
	recs := readAll(t, rd)
	if len(recs) != 4 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	wantLines := []int64{2, 4, 6, 7}
	for i, r := range recs {
		if r.Line != wantLines[i] {
			t.Errorf("record %d on line %d, want %d", i, r.Line, wantLines[i])
		}
	}
	if recs[1].Cells[2] != "multi\nline" || recs[2].Err == nil || recs[3].Cells[0] != "A-4" || recs[3].Next != int64(len(data)) {
		t.Fatalf("records %+v", recs)
	}
	// Resuming at any record's start gives the same records from there.
	for i, r := range recs {
		if r.Err != nil {
			continue
		}
		rd2, err := NewReaderAt(bytes.NewReader([]byte(data)), r.Start, r.StartLine)
		if err != nil {
			t.Fatal(err)
		}
		rest := readAll(t, rd2)
		if len(rest) != len(recs)-i || rest[0].Line != r.Line || !slices.Equal(rest[0].Cells, r.Cells) || rest[len(rest)-1].Next != int64(len(data)) {
			t.Errorf("resume at record %d: %+v", i, rest)
		}
	}
	for _, bad := range []string{"", "  \n", "\xff\xfeO\x00r\x00"} {
		if _, err := NewReader(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzReader: any input reads without panicking, offsets only grow, and a
// reader resumed at a record's start reads the same records from there.
func FuzzReader(f *testing.F) {
	f.Add([]byte("order_id,date,customer,amount\n1,2024-01-01,a@b.c,1\n2,2024-01-02,\"x,y\",2\n"))
	f.Add([]byte("a;b\r\n\"1\";\"2\"\"\"\r\n3;4"))
	f.Add([]byte("\xef\xbb\xbfa\tb\n1\t2\n\n\n3\t\"\n\"\n"))
	f.Add([]byte("a,b\n\"unterminated\n1,2\n"))
	f.Add([]byte("a,b\nx\"y,2\n3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		var recs []Record
		last := rd.Offset()
		for range 10000 {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Start < last || rec.Next < rec.Start || rec.Next > int64(len(data)) {
				t.Fatalf("offsets %d..%d after %d (len %d)", rec.Start, rec.Next, last, len(data))
			}
			last = rec.Next
			recs = append(recs, rec)
		}
		for i, r := range recs {
			if r.Err != nil || i%3 != 0 {
				continue
			}
			rd2, err := NewReaderAt(bytes.NewReader(data), r.Start, r.StartLine)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rd2.Next()
			if err != nil {
				t.Fatalf("resume at %d: %v", r.Start, err)
			}
			if got.Err != nil || !slices.Equal(got.Cells, r.Cells) || got.Line != r.Line || got.Next != r.Next || got.StartLine != r.StartLine {
				t.Fatalf("resume at %d (line %d): got %+v, want %+v", r.Start, r.Line, got, r)
			}
		}
	})
}

func TestMapping(t *testing.T) {
	retail := []string{"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"}
	m := DetectMapping(retail)
	want := Mapping{FieldOrderID, FieldSKU, FieldName, FieldQuantity, FieldDate, FieldUnitPrice, FieldCustomerID, FieldIgnore}
	if !slices.Equal(m, want) || m.Check(retail) != nil {
		t.Fatalf("retail mapping %v, %v", m, m.Check(retail))
	}
	fa := []string{"شماره فاکتور", "تاريخ", "موبايل", "مبلغ کل", "شعبه"}
	m = DetectMapping(fa)
	if !slices.Equal(m, Mapping{FieldOrderID, FieldDate, FieldCustomerPhone, FieldAmount, FieldStore}) || m.Check(fa) != nil {
		t.Fatalf("Persian mapping %v", m)
	}
	h := []string{"Ref", "When", "Who", "Sum"}
	m = DetectMapping(h)
	if err := m.Check(h); err == nil || !strings.Contains(err.Error(), "order_id") {
		t.Fatalf("unknown columns: %v", err)
	}
	if err := m.Apply(h, []string{"Ref=order_id", "2=date", "who=customer", "Sum=amount"}); err != nil || m.Check(h) != nil {
		t.Fatalf("apply: %v %v", err, m)
	}
	for _, bad := range [][]string{{"Nope=amount"}, {"9=amount"}, {"Ref=shoe"}, {"Ref"}} {
		if err := m.Apply(h, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseWhen(t *testing.T) {
	tehran, _ := time.LoadLocation("Asia/Tehran")
	for _, c := range []struct {
		in, cal, order string
		loc            *time.Location
		want           string
	}{
		{"2024-08-02", "", "", nil, "2024-08-02T00:00:00Z"},
		{"2010-12-01 08:26:00", "", "", nil, "2010-12-01T08:26:00Z"},
		{"2010-12-01 08:26", "", "", time.UTC, "2010-12-01T08:26:00Z"},
		{"2024-08-02T14:30:00+03:30", "", "", nil, "2024-08-02T11:00:00Z"},
		{"2024-08-02 14:30:00+03:30", "", "", nil, "2024-08-02T11:00:00Z"},
		{"1403/05/12", "", "", tehran, "2024-08-01T20:30:00Z"},
		{"۱۴۰۳/۰۵/۱۲ ۰۹:۱۵", "", "", tehran, "2024-08-02T05:45:00Z"},
		{"1403-5-12", "jalali", "", nil, "2024-08-02T00:00:00Z"},
		{"12/1/2010 8:26", "", "mdy", nil, "2010-12-01T08:26:00Z"},
		{"1/12/2010", "", "dmy", nil, "2010-12-01T00:00:00Z"},
	} {
		got, err := ParseWhen(c.in, c.cal, c.order, c.loc)
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("ParseWhen(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01", "1403/13/01", "12/1/2010", "2024-08-02 25:00", "24-08-02"} {
		if _, err := ParseWhen(bad, "", "", nil); err == nil {
			t.Errorf("ParseWhen(%q) accepted", bad)
		}
	}
}

func TestParseMoney(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		comma   bool
		want    int64
	}{
		{"2.55", "GBP", false, 255}, {"2.5", "GBP", false, 250}, {"1,250.50", "USD", false, 125050}, {"۱۲۰٬۰۰۰", "IRR", false, 120000},
		{"120000", "IRR", false, 120000}, {"2,55", "EUR", true, 255}, {"1.234,5", "EUR", true, 123450}, {"0.100", "GBP", false, 10},
		{"-3", "GBP", false, -300}, {"1.234", "KWD", false, 1234}, {"12٫5", "AED", false, 1250},
	} {
		got, err := ParseMoney(c.in, c.cur, c.comma)
		if err != nil || got != c.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v; want %d", c.in, c.cur, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "0.001", "1.5.5", "1e5", "12.5 IRR", "9999999999999999"} {
		cur := "GBP"
		if bad == "12.5 IRR" {
			cur = "IRR"
		}
		if _, err := ParseMoney(bad, cur, false); err == nil {
			t.Errorf("ParseMoney(%q) accepted", bad)
		}
	}
	if _, err := ParseMoney("12.5", "IRR", false); err == nil {
		t.Error("a rial has no decimals")
	}
}

func FuzzParseValues(f *testing.F) {
	for _, s := range []string{"2.55", "1,250.50", "۱۲۰٬۰۰۰", "-0.0", "1403/05/12 09:15", "2024-08-02T14:30:00Z", "17850.0", "0912 345 6789", "a@b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseMoney(s, "USD", false); err == nil {
			if n > 1e18 || n < -1e18 {
				t.Fatalf("ParseMoney(%q) = %d", s, n)
			}
		}
		ParseMoney(s, "IRR", true)
		ParseWhole(s)
		if tm, err := ParseWhen(s, "", DateOrderDMY, nil); err == nil && tm.Location() != time.UTC {
			t.Fatalf("ParseWhen(%q) not UTC", s)
		}
		RecogniseCustomer(s, "IR")
		headerKey(s)
	})
}

func TestRecogniseCustomer(t *testing.T) {
	for in, want := range map[string]string{
		"sara@example.com": "email", "0912 345 6789": "phone", "+971501234567": "phone", "۰۹۱۲۳۴۵۶۷۸۹": "phone",
		"100234": "member", "17850.0": "member", "M-77": "member",
	} {
		r := RecogniseCustomer(in, "IR")
		got := map[bool]string{r.Email != "": "email", r.Phone != "": "phone", r.MemberNumber != "": "member"}[true]
		if got != want {
			t.Errorf("%q → %+v, want %s", in, r, want)
		}
	}
	if r := RecogniseCustomer("17850.0", "IR"); r.MemberNumber != "17850" {
		t.Errorf("float id: %+v", r)
	}
}
