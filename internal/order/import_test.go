package order_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// retailCSV is in the shape of the UCI Online Retail export: one row per
// line, invoices grouped, C-prefixed cancellations, float customer ids.
const retailCSV = `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,"METAL LANTERN, WHITE",6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom
536368,22960,JAM MAKING SET WITH JARS,0,2010-12-01 08:34:00,4.25,13047.0,United Kingdom
536369,21756,BATH BUILDING BLOCK WORD,3,2010-12-01 08:35:00,5.95,,United Kingdom
C536370,71053,"METAL LANTERN, WHITE",-2,2010-12-01 09:41:00,3.39,17850.0,United Kingdom
536371,22086,PAPER CHAIN KIT,80,2010-12-01 09:45:00,0.001,13748.0,United Kingdom
536372,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 09:01:00,1.85,17850.0,United Kingdom
536373,82494L,WOODEN FRAME ANTIQUE WHITE,6,2010-12-01 09:02:00,2.55,17850.0,United Kingdom
536373,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,2010-12-01 09:02:00,4.25,17850.0,United Kingdom
536374,21258,VICTORIAN SEWING BOX LARGE,32,2010-12-01 09:09:00,10.95,15100.0,United Kingdom
`

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runImport(t *testing.T, f *fixture, path string, opts order.ImportOptions) *order.Import {
	t.Helper()
	im, err := f.orders.StartImport(sys, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.orders.RunImport(sys, im, nil); err != nil {
		t.Fatal(err)
	}
	return im
}

func problemsText(t *testing.T, f *fixture, im *order.Import) string {
	t.Helper()
	ps := im.Problems
	if !im.Opts.DryRun {
		var err error
		if ps, err = f.orders.ImportProblems(sys, im.ID, 100); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(order.FormatProblem(p) + "\n")
	}
	return b.String()
}

func TestImportRetail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		path := writeFile(t, "retail.csv", retailCSV)
		opts := order.ImportOptions{Source: "uci", Currency: "GBP", BatchOrders: 3}

		// A dry run reports the same as the import will, and writes nothing.
		before := f.snapshot(t)
		dry := opts
		dry.DryRun = true
		d := runImport(t, f, path, dry)
		if after := f.snapshot(t); after != before {
			t.Fatalf("the dry run wrote:\n %s\n %s", before, after)
		}
		if d.ID != 0 || d.Rows != 12 || d.OrdersNew != 6 || d.Errors != 3 || d.Skipped != 1 || d.Status != store.OrderImportDone {
			t.Fatalf("dry run: %+v", d.OrderImport)
		}
		dp := problemsText(t, f, d)
		for _, want := range []string{
			"line 6, column Quantity: Use a whole number from 1 to 1000000.",
			"line 7, column CustomerID: Order 536369 names no customer.",
			`line 9, column UnitPrice: "0.001" has more decimals than GBP has (2)`,
		} {
			if !strings.Contains(dp, want) {
				t.Errorf("dry-run problems lack %q:\n%s", want, dp)
			}
		}

		im := runImport(t, f, path, opts)
		if im.Rows != 12 || im.OrdersNew != 6 || im.OrdersOld != 0 || im.Errors != 3 || im.Skipped != 1 || im.Status != store.OrderImportDone || im.Offset != int64(len(retailCSV)) {
			t.Fatalf("import: %+v", im.OrderImport)
		}
		if p := problemsText(t, f, im); p != dp {
			t.Errorf("import problems differ from the dry run's:\n%s\nvs\n%s", p, dp)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM orders WHERE source = 'uci'`); n != 6 {
			t.Fatalf("orders = %d", n)
		}
		o, _, err := f.orders.List(sys, crm.OrderFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		var first *crm.Order
		for _, x := range o {
			if x.ExternalID == "536365" {
				first = x
			}
		}
		if first == nil || first.Total != 6*255+6*339 || first.Currency != "GBP" || len(first.Lines) != 2 || first.Lines[1].Name != "METAL LANTERN, WHITE" ||
			first.PlacedAt.Format("2006-01-02 15:04") != "2010-12-01 08:26" {
			t.Fatalf("536365 = %+v", first)
		}
		// Customer 17850 is one person across invoices, named after the number.
		mine, _, _ := f.orders.ListForContact(sys, first.ContactID, crm.Page{})
		if len(mine) != 4 {
			t.Errorf("17850 has %d orders", len(mine))
		}
		c, err := f.contacts.FindContactByID(sys, first.ContactID)
		if err != nil || c.FirstName != "Customer" || c.LastName != "17850" {
			t.Errorf("customer = %+v %v", c, err)
		}

		// The same file again: everything is already stored, nothing changes.
		before = f.snapshot(t)
		again := runImport(t, f, path, opts)
		if again.ID == im.ID || again.OrdersNew != 0 || again.OrdersOld != 6 || again.Errors != 3 {
			t.Fatalf("second import: %+v", again.OrderImport)
		}
		// audit_log grows by the import's own entries; nothing else may.
		if after := f.snapshot(t); !sameExceptAudit(before, after) {
			t.Fatalf("the second import changed data:\n %s\n %s", before, after)
		}

		// Cancellations as returns: C536370 returns 2 of 71053 from 536365.
		ret := opts
		ret.Cancellations = order.CancelReturn
		r := runImport(t, f, path, ret)
		if r.ReturnsNew != 1 || r.OrdersOld != 6 || r.Skipped != 0 {
			t.Fatalf("returns import: %+v\n%s", r.OrderImport, problemsText(t, f, r))
		}
		got, _ := f.orders.Find(sys, first.ID)
		if got.Status != crm.OrderPartiallyReturned || got.Lines[1].ReturnedQuantity != 2 || got.ReturnedTotal != 678 {
			t.Fatalf("536365 after the cancellation: %+v", got)
		}
		// And again: the cancellation is not applied twice.
		r2 := runImport(t, f, path, ret)
		got, _ = f.orders.Find(sys, first.ID)
		if r2.ReturnsNew != 0 || got.Lines[1].ReturnedQuantity != 2 {
			t.Fatalf("cancellation applied twice: %+v %+v", r2.OrderImport, got)
		}
	})
}

func sameExceptAudit(a, b string) bool {
	strip := func(s string) string {
		var keep []string
		for _, p := range strings.Fields(s) {
			if !strings.HasPrefix(p, "audit_log=") {
				keep = append(keep, p)
			}
		}
		return strings.Join(keep, " ")
	}
	return strip(a) == strip(b)
}

// TestImportResume interrupts an import after its first batch, then
// resumes it: the result is the same as an uninterrupted import, with no
// order lost or stored twice, also when the saved position is behind the
// rows already committed (idempotency covers that).
func TestImportResume(t *testing.T) {
	var b strings.Builder
	b.WriteString("order id,date,customer,currency,amount,store\n")
	for i := range 50 {
		b.WriteString(strings.Join([]string{"R-" + itoa(i), "1403/05/" + itoa(1+i%28) + " 10:00", "0912" + pad7(i%7), "IRR", itoa(1000 * (i + 1)), "شعبه ۱"}, ","))
		b.WriteString("\n")
	}
	b.WriteString("R-bad,1403/05/40,09123456780,IRR,5,x\n")
	data := b.String()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		path := writeFile(t, "history.csv", data)
		opts := order.ImportOptions{Source: "till", BatchOrders: 7}
		im, err := f.orders.StartImport(sys, path, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(sys)
		batches := 0
		err = f.orders.RunImport(ctx, im, func(*order.Import) {
			batches++
			if batches == 2 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		stored := f.count(t, `SELECT COUNT(*) FROM orders`)
		saved, err := f.orders.FindUnfinishedImport(sys, path)
		if err != nil || saved.ID != im.ID || saved.OrdersNew != int64(stored) || stored != 14 || saved.Rows != 14 {
			t.Fatalf("after the interruption: %d stored, import %+v, %v", stored, saved, err)
		}
		// Pretend the position was lost with the last batch (it never is:
		// they commit together) — the resumed run re-reads rows whose
		// orders are stored and must not store them twice.
		err = db.Write(sys, func(tx *store.Tx) error {
			_, err := tx.Exec(sys, `UPDATE order_imports SET byte_offset = ?, line = 2, rows_read = 0, orders_new = 0 WHERE id = ?`,
				strings.Index(data, "\n")+1, im.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		resumed, err := f.orders.FindUnfinishedImport(sys, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.orders.RunImport(sys, resumed, nil); err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM orders`); n != 50 {
			t.Fatalf("orders after resume = %d", n)
		}
		if n := f.count(t, `SELECT COUNT(DISTINCT external_id) FROM orders`); n != 50 {
			t.Fatalf("distinct orders = %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM contacts`); n != 7 {
			t.Fatalf("customers = %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM events WHERE type = ?`, crm.EventOrderCreated); n != 50 {
			t.Fatalf("order.created events = %d", n)
		}
		if resumed.Status != store.OrderImportDone || resumed.OrdersNew != 36 || resumed.OrdersOld != 14 || resumed.Errors != 1 {
			t.Fatalf("resumed import: %+v", resumed.OrderImport)
		}
		if p := problemsText(t, f, resumed); !strings.Contains(p, "line 52, column date: ") {
			t.Fatalf("problems after resuming: %s", p)
		}
		// Jalali dates in Tehran time were read as such.
		var o *crm.Order
		all, _, _ := f.orders.List(sys, crm.OrderFilter{Limit: 500})
		for _, x := range all {
			if x.ExternalID == "R-0" {
				o = x
			}
		}
		if o == nil || o.PlacedAt.Format("2006-01-02 15:04") != "2024-07-22 10:00" || o.Total != 1000 || o.Store != "شعبه ۱" {
			t.Fatalf("R-0 = %+v", o)
		}
		// A finished import does not run again.
		if err := f.orders.RunImport(sys, resumed, nil); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("run a finished import: %v", err)
		}
	})
}

func TestImportRefusesBadFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for _, c := range []struct{ data, want string }{
			{"", "empty"},
			{"ref,when,who,sum\n1,2,3,4\n", "order_id"},
			{"order_id,date,customer,amount\n1,2024-01-01,a@b.c,1\n", "currency"},
			{"order_id,date,customer,sku,quantity\n1,2024-01-01,a@b.c,x,1\n", "unit_price"},
		} {
			_, err := f.orders.StartImport(sys, writeFile(t, "bad.csv", c.data), order.ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: %v, want %q", c.data, err, c.want)
			}
		}
		if _, err := f.orders.StartImport(sys, "/no/such/file.csv", order.ImportOptions{Currency: "USD"}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("missing file: %v", err)
		}
		// Rows of one order must agree; the order is refused whole.
		data := "order_id,date,customer,currency,sku,quantity,unit_price\n" +
			"9,2024-01-01,a@example.com,USD,x,1,1.00\n" +
			"9,2024-01-02,b@example.com,USD,y,1,2.00\n" +
			"10,2024-01-01,a@example.com,USD,z,1,abc\n"
		im := runImport(t, f, writeFile(t, "mixed.csv", data), order.ImportOptions{})
		p := problemsText(t, f, im)
		if im.OrdersNew != 0 || im.Errors != 2 || !strings.Contains(p, `line 3, column customer: "b@example.com" differs from line 2`) ||
			!strings.Contains(p, `line 4, column unit_price: "abc" is not an amount`) {
			t.Fatalf("%+v\n%s", im.OrderImport, p)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// pad7 is the last seven digits of one of ten mobile numbers.
func pad7(i int) string { return "345678" + strconv.Itoa(i) }
