package analytics

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/pivand/pivand/internal/crm"
)

// miningDataPath is a file of the shared reference data (../shared/data
// next to the repository, or $PIVAND_DATA_DIR); the test is skipped when
// it is missing.
func miningDataPath(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("PIVAND_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference data %s not available: %v", rel, err)
	}
	return p
}

func readAll(t *testing.T, in string, cols Columns) ([]Transaction, error) {
	t.Helper()
	var out []Transaction
	err := ReadTransactions(strings.NewReader(in), cols, func(tx Transaction) error {
		out = append(out, tx)
		return nil
	})
	return out, err
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestReadTransactionsFormats(t *testing.T) {
	tehran := time.FixedZone("", 3*3600+1800)
	cases := []struct {
		name string
		in   string
		cols Columns
		want []Transaction
	}{
		{"defaults, BOM, CRLF, blank lines, quoted", "\ufeffcustomer_id,date,amount\r\nc1,2024-01-05,12.50\r\n\r\n\"c,2\",2024/2/3,\"7\"\r\n",
			Columns{}, []Transaction{{"c1", day(2024, 1, 5), 12.5}, {"c,2", day(2024, 2, 3), 7}}},
		{"header case and order, extra columns", "Amount , Note,DATE,Customer_ID\n3,\"a \"\"quoted\"\"\nnote\",2024-03-01 10:20,x\n",
			Columns{}, []Transaction{{"x", time.Date(2024, 3, 1, 10, 20, 0, 0, time.UTC), 3}}},
		{"times and offsets", "customer_id,date,amount\na,2024-03-01T10:20:30Z,1\na,2024-03-01T10:20:30.25+03:30,2\na,20240301,0\n",
			Columns{}, []Transaction{{"a", time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC), 1},
				{"a", time.Date(2024, 3, 1, 10, 20, 30, 250e6, tehran), 2}, {"a", day(2024, 3, 1), 0}}},
		{"float ids become integers", "customer_id,date,amount\n17850.0,2010-12-01,1\n17850,2010-12-02,1\n1.5,2010-12-02,1\n",
			Columns{}, []Transaction{{"17850", day(2010, 12, 1), 1}, {"17850", day(2010, 12, 2), 1}, {"1.5", day(2010, 12, 2), 1}}},
		{"persian digits and jalali dates", "customer_id,date,amount\nالف,۱۴۰۴-۰۱-۰۱,۱۲٫۵\n",
			Columns{Calendar: "jalali"}, []Transaction{{"الف", day(2025, 3, 21), 12.5}}},
		{"whitespace separated, no header", " 00001 19970101  1   11.77\r\n \t \r\n 00002 19970112  1   12.00\r\n",
			Columns{Comma: ' ', NoHeader: true, Customer: "1", Date: "2", Amount: "4"},
			[]Transaction{{"00001", day(1997, 1, 1), 11.77}, {"00002", day(1997, 1, 12), 12}}},
		{"semicolons, no amount", "date;id\n2014-03-08 00:00:00;0\n",
			Columns{Comma: ';', Customer: "id", NoAmount: true}, []Transaction{{"0", day(2014, 3, 8), 0}}},
		{"orders merge consecutive lines; clean skips", "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n" +
			"1,2,2010-12-01 08:26:00,1.5,7.0\n1,1,2010-12-01 08:27:00,2,7.0\n1,1,2010-12-01 08:27:00,2,\n" +
			"C2,-1,2010-12-01 09:00:00,2,7.0\n3,0,2010-12-02 09:00:00,2,7.0\n3,1,2010-12-02 09:00:00,0,7.0\n4,1,2010-12-03 10:00:00,1,8.0\n4,1,2010-12-03 10:00:00,1,7.0\n",
			Columns{Customer: "CustomerID", Date: "InvoiceDate", Quantity: "Quantity", Price: "UnitPrice", Order: "InvoiceNo", Clean: true},
			[]Transaction{{"7", time.Date(2010, 12, 1, 8, 26, 0, 0, time.UTC), 5},
				{"8", time.Date(2010, 12, 3, 10, 0, 0, 0, time.UTC), 1}, {"7", time.Date(2010, 12, 3, 10, 0, 0, 0, time.UTC), 1}}},
		{"discount line inside an order", "order,customer_id,date,amount\n9,a,2024-01-01,10\n9,a,2024-01-01,-2.5\n",
			Columns{Order: "order"}, []Transaction{{"a", day(2024, 1, 1), 7.5}}},
	}
	for _, c := range cases {
		got, err := readAll(t, c.in, c.cols)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %d transactions %v, want %v", c.name, len(got), got, c.want)
			continue
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.Customer != w.Customer || !g.Time.Equal(w.Time) || g.Time.Format(time.RFC3339Nano) != w.Time.Format(time.RFC3339Nano) || math.Abs(g.Amount-w.Amount) > 1e-12 {
				t.Errorf("%s: transaction %d = %v, want %v", c.name, i, g, w)
			}
		}
	}
}

func TestReadTransactionsInternsCustomers(t *testing.T) {
	got, err := readAll(t, "customer_id,date,amount\nabc,2024-01-01,1\nabc,2024-01-02,1\n", Columns{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Customer != "abc" || unsafe.StringData(got[0].Customer) != unsafe.StringData(got[1].Customer) {
		t.Errorf("customer ids are not interned")
	}
}

func TestReadTransactionsErrors(t *testing.T) {
	cases := []struct {
		in   string
		cols Columns
		want string
	}{
		{"", Columns{}, `line 1: the file is empty; expected a header with customer_id,date,amount`},
		{"customer,date,amount\n", Columns{}, `line 1, column "customer_id": no such column in the header (customer,date,amount)`},
		{"customer_id,date,amount\na,2024-01-01,1\n\na,2024-13-01,1\n", Columns{}, `line 4, column "date": "2024-13-01" is not a date`},
		{"customer_id,date,amount\na,2023-02-29,1\n", Columns{}, `line 2, column "date": "2023-02-29" is not a date`},
		{"customer_id,date,amount\na,2024-01-01 25:00,1\n", Columns{}, `line 2, column "date": "2024-01-01 25:00" is not a date`},
		{"customer_id,date,amount\na,2024-01-01,-3\n", Columns{}, `line 2, column "amount": -3 is negative`},
		{"customer_id,date,amount\na,2024-01-01,NaN\n", Columns{}, `line 2, column "amount": "NaN" is not a number`},
		{"customer_id,date,amount\na,2024-01-01,0x10\n", Columns{}, `line 2, column "amount": "0x10" is not a number`},
		{"customer_id,date,amount\na,2024-01-01,1e999\n", Columns{}, `line 2, column "amount": "1e999" is not a number`},
		{"customer_id,date,amount\n,2024-01-01,1\n", Columns{}, `line 2, column "customer_id": the customer is empty`},
		{"customer_id,date,amount\na,2024-01-01\n", Columns{}, `line 2: 2 fields, but the columns used need 3`},
		{"customer_id,date,amount\n\"a,2024-01-01,1\n", Columns{}, `line 2: extraneous or missing " in quoted field`},
		{"customer_id,date,amount\na\"b,2024-01-01,1\n", Columns{}, `line 2: bare " in non-quoted field`},
		{"customer_id,date,amount\n\xff,2024-01-01,1\n", Columns{}, `line 2, column "customer_id": "\xff" is not valid UTF-8`},
		{"CustomerID,Date,Qty,Price\na,2024-01-01,-1,2\n", Columns{Customer: "CustomerID", Quantity: "Qty", Price: "Price"}, `line 2, column "Qty": -1 is negative`},
		{"order,customer_id,date,amount\n9,a,2024-01-01,1\n9,a,2024-01-01,-2.5\n", Columns{Order: "order"}, `line 2, column "amount": order "9" totals -1.5`},
		{"a b\n", Columns{Comma: ' ', NoHeader: true, Customer: "x"}, `without a header, columns are numbers from 1; "x" is not`},
		{"customer_id,date,amount\n", Columns{Calendar: "hebrew"}, `calendar "hebrew" is not gregorian or jalali`},
		{"customer_id,date,amount\n", Columns{Quantity: "q"}, `give both a quantity and a price column`},
		{"customer_id,date,amount\na,1404-12-30,1\n", Columns{Calendar: "jalali"}, `line 2, column "date": "1404-12-30" is not a date`},
		{"customer_id,date,amount\na,1404-01-15,1\n", Columns{}, `line 2, column "date": "1404-01-15" is not a date (Jalali dates need the jalali calendar)`},
		{"customer_id,date,amount\na,0001-01-01,1\n", Columns{}, `line 2, column "date": "0001-01-01" is not a date`},
	}
	for _, c := range cases {
		_, err := readAll(t, c.in, c.cols)
		if err == nil || !strings.Contains(err.Error(), c.want) || crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	// fn's error comes back as it is, and stops the reading.
	stop := errors.New("stop")
	n := 0
	err := ReadTransactions(strings.NewReader("customer_id,date,amount\na,2024-01-01,1\na,2024-01-02,1\n"), Columns{}, func(Transaction) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("fn error: %v after %d calls", err, n)
	}
}

func TestReadTransactionsOnlineRetail(t *testing.T) {
	p := miningDataPath(t, "online_retail/online_retail_2010_2011.csv")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	customers := map[string]bool{}
	var revenue float64
	st, err := ReadTransactionsStats(f, OnlineRetailColumns, func(tx Transaction) error {
		customers[tx.Customer] = true
		revenue += tx.Amount
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// README: 541,909 rows; clean: 397,884 rows, 18,532 invoices, 4,338 customers, 8,911,407.90.
	if st.Rows != 541909 || st.Rows-st.Skipped != 397884 || st.Transactions != 18532 || len(customers) != 4338 || math.Abs(revenue-8911407.90) > 0.005 {
		t.Errorf("stats %+v, %d customers, revenue %.2f", st, len(customers), revenue)
	}
}

// FuzzReadTransactions: any input either reads or fails with an EINVALID
// error naming a line; it never panics, and what it reads is valid.
func FuzzReadTransactions(f *testing.F) {
	f.Add("customer_id,date,amount\nc1,2024-01-05,12.50\n\"c,2\",2024/2/3,\"7\"\n", false, uint8(0))
	f.Add("\ufeffcustomer_id,date,amount\r\na,2024-03-01T10:20:30.25+03:30,2\na,20240301,0\n", false, uint8(0))
	f.Add("order,customer_id,date,amount\n9,a,2024-01-01,10\n9,a,2024-01-01,-2.5\n", true, uint8(0))
	f.Add("customer_id,date,amount\na,۱۴۰۴-۰۱-۰۱,۱۲٫۵\n", false, uint8(0))
	f.Add("customer_id,date,amount\n\"a\nb\",2024-1-1 1:00,1\n", false, uint8(0))
	f.Add("customer_id  date amount\n a 19970101 1\n \t \n b 1997-01-02T00:00Z 2\n", false, uint8(2))
	f.Add("order;customer_id;date;amount\n1;a;2024-01-01;1\n", true, uint8(1))
	f.Fuzz(func(t *testing.T, in string, orders bool, sep uint8) {
		cols := Columns{Comma: []rune{',', ';', ' ', '\t'}[sep%4]}
		if orders {
			cols.Order = "order"
		}
		err := ReadTransactions(strings.NewReader(in), cols, func(tx Transaction) error {
			if tx.Customer == "" || tx.Amount < 0 && !orders || math.IsNaN(tx.Amount) || math.IsInf(tx.Amount, 0) || tx.Time.IsZero() {
				t.Fatalf("bad transaction %+v", tx)
			}
			return nil
		})
		if err != nil && (crm.ErrorCode(err) != crm.EINVALID || !strings.HasPrefix(crm.ErrorMessage(err), "line ")) {
			t.Fatalf("error %v is not an EINVALID naming a line", err)
		}
	})
}

// FuzzCSVScannerMatchesEncodingCSV holds the scanner to encoding/csv: the
// same records, and an error exactly when encoding/csv has one.
func FuzzCSVScannerMatchesEncodingCSV(f *testing.F) {
	for _, s := range []string{"a,b\n", "a,\"b\"\"c\",d\r\n\r\ne\n", "\"a\nb\",c", "a\"b", "\"a\"b", "\"abc", "a,b\r", "\r\n\"\r\n\"\n",
		",,\n", "x\ry,z\n", "\"\"", "a,\"\"\n\"\"\"\",b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, wantErr := stdRecords(in)
		sc := newCSVScanner(strings.NewReader(in), ',')
		var got [][]string
		var gotErr error
		for {
			rec, err := sc.next()
			if err != nil {
				if err != io.EOF {
					gotErr = err
				}
				break
			}
			r := make([]string, len(rec))
			for i, b := range rec {
				r[i] = string(b)
			}
			got = append(got, r)
		}
		if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q:\nscanner  %q, %v\nencoding/csv %q, %v", in, got, gotErr, want, wantErr)
		}
	})
}

func stdRecords(in string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestCSVScannerLongLinesAndLineNumbers(t *testing.T) {
	long := strings.Repeat("x", 200000)
	in := "a,b\n\"q\nq\",c\n" + long + "," + long + "\nlast"
	sc := newCSVScanner(bytes.NewReader([]byte(in)), ',')
	var starts []int
	var lens []int
	for {
		rec, err := sc.next()
		if err != nil {
			break
		}
		starts = append(starts, sc.start)
		lens = append(lens, len(rec[0]))
	}
	if !reflect.DeepEqual(starts, []int{1, 2, 4, 5}) || !reflect.DeepEqual(lens, []int{1, 3, 200000, 4}) {
		t.Errorf("record starts %v, first field lengths %v", starts, lens)
	}
}

// The fast path of parseNumber gives exactly what strconv.ParseFloat gives.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"12.50", "-0.1", "0.30000000000000004", "9007199254740993", "1e3", " 7 ", "۱۲٫۵", "1.", ".5", "-", "00012.3400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseNumber([]byte(s))
		if err != nil {
			return
		}
		if math.IsNaN(got) || math.IsInf(got, 0) {
			t.Fatalf("%q → %v", s, got)
		}
		clean := strings.TrimSpace(s)
		if want, err := strconv.ParseFloat(clean, 64); err == nil && want != got && !(want == 0 && got == 0) {
			t.Fatalf("%q → %v, strconv %v", s, got, want)
		}
	})
}

// CDNOW's whitespace-separated files: the master file with its header, the
// sample without one (README: 69,659 and 6,919 transactions, 23,570 and
// 2,357 customers).
func TestReadTransactionsCDNOW(t *testing.T) {
	for _, c := range []struct {
		file      string
		cols      Columns
		txs, cust int
	}{
		{"cdnow/CDNOW_master.txt", Columns{Comma: ' ', Amount: "dollar_value"}, 69659, 23570},
		{"cdnow/CDNOW_sample.txt", Columns{Comma: ' ', NoHeader: true, Customer: "2", Date: "3", Amount: "5"}, 6919, 2357},
	} {
		f, err := os.Open(miningDataPath(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		customers := map[string]bool{}
		first := time.Time{}
		st, err := ReadTransactionsStats(f, c.cols, func(tx Transaction) error {
			customers[tx.Customer] = true
			if first.IsZero() {
				first = tx.Time
			}
			return nil
		})
		f.Close()
		if err != nil || st.Transactions != c.txs || len(customers) != c.cust || !first.Equal(day(1997, 1, 1)) {
			t.Errorf("%s: %v, %+v, %d customers, first %v", c.file, err, st, len(customers), first)
		}
	}
}
