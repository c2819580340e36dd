package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/store"
)

// ordersCSV has n orders of two lines each, by customers 1…97 (their
// CustomerID), in the shape of the UCI Online Retail export, with one
// cancellation and one row without a customer.
func ordersCSV(n int) string {
	var b strings.Builder
	b.WriteString("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
	for i := range n {
		day := time.Date(2011, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		for k := range 2 {
			fmt.Fprintf(&b, "%d,SKU%d,\"Item %d, boxed\",%d,%s,%d.%02d,%d.0,United Kingdom\n", 500000+i, k, k, 1+k, day.Format("2006-01-02 15:04:05"), 1+i%9, k*25, 1+i%97)
		}
	}
	b.WriteString("C600000,SKU1,\"Item 1, boxed\",-1,2011-12-01 10:00:00,0.25,1.0,United Kingdom\n")
	b.WriteString("600001,SKU1,x,1,2011-12-01 10:00:00,1.00,,United Kingdom\n")
	return b.String()
}

func TestImportOrdersCommand(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "retail.csv")
	os.WriteFile(csv, []byte(ordersCSV(40)), 0o600)

	code, out, _ := pivand(t, noenv, "import", "orders", "-h")
	if code != 0 || !strings.Contains(out, "--cancellations") || !strings.Contains(out, "customer_phone") {
		t.Fatalf("help: %d %s", code, out)
	}
	for _, u := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "orders", "--data", dir}, "missing the CSV file"},
		{[]string{"import", "orders", "--data", dir, "--cancellations", "keep", csv}, "--cancellations"},
		{[]string{"import", "orders", "--data", dir, "--resume", "2", csv}, "either --resume"},
		{[]string{"import", "orders", "--data", dir, "--batch", "0", csv}, "--batch"},
	} {
		code, _, errs := pivand(t, noenv, u.args...)
		if code != 2 || !strings.Contains(errs, u.want) {
			t.Errorf("%v: %d %q, want 2 and %q", u.args, code, errs, u.want)
		}
	}
	// The file has no currency column: the error says which flag to give.
	if code, _, errs := pivand(t, noenv, "import", "orders", "--data", dir, csv); code != 1 || !strings.Contains(errs, "--currency") {
		t.Fatalf("no currency: %d %q", code, errs)
	}
	if code, _, errs := pivand(t, noenv, "import", "orders", "--data", dir, "--currency", "GBP", "--map", "Nope=sku", csv); code != 1 || !strings.Contains(errs, "no column is called") {
		t.Fatalf("bad --map: %d %q", code, errs)
	}

	code, out, errs := pivand(t, noenv, "import", "orders", "--data", dir, "--currency", "GBP", "--dry-run", csv)
	if code != 0 || !strings.Contains(out, "Dry run of retail.csv: done") || !regexpFind(out, `would create\s+40`) ||
		!strings.Contains(out, "line 83, column CustomerID: Order 600001 names no customer.") || !regexpFind(out, `would skip\s+1`) {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	if n := countRows(t, dir, "orders"); n != 0 {
		t.Fatalf("the dry run stored %d orders", n)
	}
	code, out, errs = pivand(t, noenv, "import", "orders", "--data", dir, "--currency", "GBP", csv, "--cancellations", "return")
	if code != 0 || !regexpFind(out, `orders created\s+40`) || !regexpFind(out, `returns created\s+1`) || !regexpFind(out, `refused \(errors\)\s+1`) {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	// Again: nothing new.
	code, out, _ = pivand(t, noenv, "import", "orders", "--data", dir, "--currency", "GBP", csv, "--cancellations", "return")
	if code != 0 || !regexpFind(out, `already stored\s+40`) || !regexpFind(out, `returns created\s+0`) || countRows(t, dir, "orders") != 40 || countRows(t, dir, "order_returns") != 1 {
		t.Fatalf("second import: %d\n%s", code, out)
	}
}

// TestImportOrdersKill9 kills an import with SIGKILL part way through
// (a child process running this test binary), runs the same command
// again, and checks that every order is stored exactly once.
func TestImportOrdersKill9(t *testing.T) {
	if os.Getenv("PIVAND_IMPORT_CHILD") != "" {
		code := run(context.Background(), strings.Fields(os.Getenv("PIVAND_IMPORT_CHILD")), noenv, strings.NewReader(""), os.Stdout, os.Stderr)
		os.Exit(code)
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "big.csv")
	const n = 6000
	os.WriteFile(csv, []byte(ordersCSV(n)), 0o600)
	args := "import orders --data " + dir + " --currency GBP --batch 20 --quiet " + csv

	cmd := exec.Command(os.Args[0], "-test.run=^TestImportOrdersKill9$")
	cmd.Env = append(os.Environ(), "PIVAND_IMPORT_CHILD="+args)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countRows(t, dir, "orders") < 200 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the import did not get going")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := countRows(t, dir, "orders")
	if killed >= n {
		t.Skipf("the import finished (%d orders) before it was killed", killed)
	}
	code, out, errs := pivand(t, noenv, strings.Fields(args)...)
	if code != 0 || !strings.Contains(errs, "Resuming import #1") {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	if got := countRows(t, dir, "orders"); got != n {
		t.Fatalf("killed at %d orders; %d after the resume, want %d", killed, got, n)
	}
	if got := countRows(t, dir, "order_lines"); got != 2*n {
		t.Fatalf("%d lines, want %d", got, 2*n)
	}
	if got := countQuery(t, dir, `SELECT COUNT(DISTINCT external_id) FROM orders`); got != n {
		t.Fatalf("%d distinct order ids", got)
	}
	if got := countQuery(t, dir, `SELECT COUNT(*) FROM events WHERE type = 'order.created'`); got != n {
		t.Fatalf("%d order.created events", got)
	}
	t.Logf("killed after %d of %d orders; resumed to %d", killed, n, n)
}

func countRows(t *testing.T, dir, table string) int {
	return countQuery(t, dir, `SELECT COUNT(*) FROM `+table)
}

func countQuery(t *testing.T, dir, q string) int {
	t.Helper()
	path := store.SQLitePath(dir)
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.Read(context.Background(), func(tx *store.Tx) error { return tx.QueryRow(context.Background(), q).Scan(&n) })
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		t.Fatal(err)
	}
	return n
}

func regexpFind(s, pattern string) bool { return regexp.MustCompile(pattern).MatchString(s) }
