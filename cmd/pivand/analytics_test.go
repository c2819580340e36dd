package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyticsCommand imports an order history and recomputes the
// customer analytics from the command line: progress on stderr, the
// run's summary, status as text and as the API's JSON.
func TestAnalyticsCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := pivand(t, noenv, "analytics", "-h")
	if code != 0 || !strings.Contains(out, "recompute") || !strings.Contains(out, "status") {
		t.Fatalf("help: %d %s", code, out)
	}
	if code, _, errs := pivand(t, noenv, "analytics", "sing", "--data", dir); code != 2 || !strings.Contains(errs, "recompute or status") {
		t.Fatalf("unknown: %d %q", code, errs)
	}
	if code, out, _ := pivand(t, noenv, "analytics", "status", "--data", dir); code != 0 || !strings.Contains(out, "not been computed yet") {
		t.Fatalf("status before: %d %q", code, out)
	}
	csv := filepath.Join(t.TempDir(), "retail.csv")
	os.WriteFile(csv, []byte(ordersCSV(300)), 0o600)
	if code, out, errs := pivand(t, noenv, "import", "orders", "--data", dir, "--currency", "GBP", csv, "--cancellations", "return"); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := pivand(t, noenv, "analytics", "recompute", "--data", dir, "--end", "2011-13-01"); code != 1 || !strings.Contains(errs, "YYYY-MM-DD") {
		t.Fatalf("bad end: %d %q", code, errs)
	}
	code, out, errs := pivand(t, noenv, "analytics", "recompute", "--data", dir, "--end", "2011-12-31")
	if code != 0 || !strings.Contains(out, "orders in GBP up to 2011-12-31") || !strings.Contains(out, "97 customers") ||
		!strings.Contains(errs, "reading") || !strings.Contains(errs, "switching") {
		t.Fatalf("recompute: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = pivand(t, noenv, "analytics", "status", "--data", dir, "--json")
	var run struct {
		ID        int64  `json:"id"`
		Status    string `json:"status"`
		Current   bool   `json:"current"`
		Customers int    `json:"customers"`
		Baskets   struct {
			Status string `json:"status"`
		} `json:"baskets"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != 0 || run.Status != "done" || !run.Current || run.Customers != 97 || run.Baskets.Status != "ok" {
		t.Fatalf("status: %d %v\n%s", code, err, out)
	}
}
