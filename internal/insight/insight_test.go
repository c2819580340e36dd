package insight

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	t   *testing.T
	db  *store.DB
	svc *Service
	ctx context.Context
	n   int
}

func newEnv(t *testing.T, db *store.DB) *env {
	return &env{t: t, db: db, svc: New(db, Options{Logger: quiet, WriteBatch: 300}), ctx: context.Background()}
}

type line struct {
	sku, name  string
	qty, price int64
}

// order stores an order as the orders module does (store only: this
// package reads orders through the store, never the order service).
func (e *env) order(contact int64, currency string, placed time.Time, total int64, lines ...line) *crm.Order {
	e.t.Helper()
	e.n++
	o := &crm.Order{Source: "test", ExternalID: strconv.Itoa(e.n), ContactID: contact, Status: crm.OrderPlaced, Currency: currency,
		Channel: crm.ChannelInStore, PlacedAt: placed}
	for _, l := range lines {
		o.Lines = append(o.Lines, crm.OrderLine{SKU: l.sku, Name: l.name, Quantity: l.qty, UnitPrice: l.price, Total: l.qty * l.price})
		o.Subtotal += l.qty * l.price
	}
	if len(lines) == 0 {
		o.Subtotal = total
	}
	o.Total = o.Subtotal
	err := e.db.Write(e.ctx, func(tx *store.Tx) error {
		_, err := tx.InsertOrder(e.ctx, o, "")
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// refund records money given back on an order (status follows).
func (e *env) refund(o *crm.Order, amount int64, lineQty map[int64]int64) {
	e.t.Helper()
	status := crm.OrderPartiallyReturned
	if amount >= o.Total {
		status = crm.OrderReturned
		if lineQty == nil { // as the orders module returns everything: line by line
			lineQty = map[int64]int64{}
			for _, l := range o.Lines {
				lineQty[l.ID] = l.Quantity
			}
		}
	}
	err := e.db.Write(e.ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(e.ctx, `UPDATE orders SET returned_total = ?, status = ? WHERE id = ?`, amount, status, o.ID); err != nil {
			return err
		}
		for id, q := range lineQty {
			if _, err := tx.Exec(e.ctx, `UPDATE order_lines SET returned_quantity = ? WHERE id = ?`, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) settings(change func(*Settings)) {
	e.t.Helper()
	st := DefaultSettings()
	change(&st)
	if _, err := e.svc.SaveSettings(e.ctx, st); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) recompute(end string) *Run {
	e.t.Helper()
	r, err := e.svc.RunNow(e.ctx, ViaCLI, end, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.Status != store.RunDone || !r.Current {
		e.t.Fatalf("run %d: status %s, current %v, message %q", r.ID, r.Status, r.Current, r.Message)
	}
	return r
}

func (e *env) score(run, contact int64) *Score {
	e.t.Helper()
	var s *Score
	err := e.db.Read(e.ctx, func(tx *store.Tx) error {
		var err error
		s, err = tx.CustomerScoreOf(e.ctx, run, contact)
		return err
	})
	if err != nil {
		e.t.Fatalf("score of %d in run %d: %v", contact, run, err)
	}
	return s
}

func (e *env) scores(run int64) map[int64]*Score {
	e.t.Helper()
	ids := make([]int64, 0, 3000)
	for i := int64(1); i <= 3000; i++ {
		ids = append(ids, i)
	}
	var m map[int64]*Score
	err := e.db.Read(e.ctx, func(tx *store.Tx) error {
		var err error
		m, err = tx.CustomerScoresOf(e.ctx, run, ids)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// cdnow loads the CDNOW 1/10 sample (2,357 customers, 6,919 purchases)
// as orders in USD, one per purchase, the sample id as the contact id,
// and returns the same purchases as transactions for the pure functions.
func cdnow(t *testing.T, e *env) []analytics.Transaction {
	t.Helper()
	dir := os.Getenv("PIVAND_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "cdnow", "CDNOW_sample.txt"))
	if err != nil {
		t.Skipf("CDNOW sample not available: %v", err)
	}
	defer f.Close()
	var (
		txs    []analytics.Transaction
		orders []*crm.Order
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			continue
		}
		id, _ := strconv.ParseInt(fs[1], 10, 64)
		day, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		dollars, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		cents := int64(math.Round(dollars * 100))
		txs = append(txs, analytics.Transaction{Customer: fs[1], Time: day, Amount: dollars})
		orders = append(orders, &crm.Order{Source: "cdnow", ExternalID: strconv.Itoa(len(orders) + 1), ContactID: id,
			Status: crm.OrderPlaced, Currency: "USD", Subtotal: cents, Total: cents, Channel: crm.ChannelWeb, PlacedAt: day})
	}
	for lo := 0; lo < len(orders); lo += 1000 {
		err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			for _, o := range orders[lo:min(lo+1000, len(orders))] {
				if _, err := tx.InsertOrder(e.ctx, o, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return txs
}

func cdnowSettings(st *Settings) {
	st.Currency, st.Period, st.Unit, st.PredictPeriods, st.TimeZone = "USD", "days", "weeks", 39, "Asia/Tehran"
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)
}

// TestRecomputeMatchesPureFunctions loads CDNOW as orders, runs the job,
// and compares every stored value with what internal/analytics computes
// from the same purchases (the functions `pivand analyze clv` and
// `pivand analyze rfm` print), and the fit with the published one.
func TestRecomputeMatchesPureFunctions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		txs := cdnow(t, e)
		e.settings(cdnowSettings)
		run := e.recompute("1997-09-30")

		end := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
		sums, err := analytics.Summarize(txs, analytics.SummaryOptions{Period: analytics.Days, Unit: analytics.Weeks, End: end})
		if err != nil {
			t.Fatal(err)
		}
		fit, err := analytics.FitBGNBD(sums)
		if err != nil {
			t.Fatal(err)
		}
		gg, err := analytics.FitGammaGamma(sums)
		if err != nil {
			t.Fatal(err)
		}
		want, err := analytics.ScoreCustomers(fit.BGNBD, &gg.GammaGamma, sums, analytics.ScoreOptions{Periods: 39,
			CLV: analytics.CLVOptions{Months: 12, DiscountRate: 0.01, PeriodsPerMonth: analytics.Weeks.PerMonth()}})
		if err != nil {
			t.Fatal(err)
		}
		rfm, err := analytics.ScoreRFM(txs, analytics.RFMOptions{End: end})
		if err != nil {
			t.Fatal(err)
		}

		if run.Customers != 2357 || run.Repeat != 946 || run.ModelStatus != StatusOK || run.SpendStatus != StatusOK || run.Currency != "USD" {
			t.Fatalf("run %+v", run)
		}
		if run.ObservedTo != "1997-09-30" || run.Orders+run.Skipped.OrdersAfterEnd != 6919 || run.Orders != int64(len(sumTxs(txs, end))) {
			t.Errorf("observed to %s, orders %d, after end %d", run.ObservedTo, run.Orders, run.Skipped.OrdersAfterEnd)
		}
		got := run.BGNBD
		if got.BGNBD != fit.BGNBD || got.LogLikelihood != fit.LogLikelihood {
			t.Errorf("BG/NBD %+v, pure %+v", got.BGNBD, fit.BGNBD)
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"r", got.R, 0.243}, {"alpha", got.Alpha, 4.414}, {"a", got.A, 0.793}, {"b", got.B, 2.426},
			{"p", run.GammaGamma.P, 6.25}, {"q", run.GammaGamma.Q, 3.74}, {"v", run.GammaGamma.V, 15.44}} {
			if !relClose(c.got, c.want, 2e-3) {
				t.Errorf("%s = %v, published %v", c.name, c.got, c.want)
			}
		}
		if run.GammaGamma.GammaGamma != gg.GammaGamma {
			t.Errorf("Gamma-Gamma %+v, pure %+v", run.GammaGamma.GammaGamma, gg.GammaGamma)
		}

		stored := e.scores(run.ID)
		if len(stored) != len(sums) {
			t.Fatalf("%d rows stored, %d summaries", len(stored), len(sums))
		}
		var clvSum float64
		for i, sm := range sums {
			id, _ := strconv.ParseInt(sm.Customer, 10, 64)
			s := stored[id]
			w, r := want[i], rfm[i]
			if s == nil || r.Customer != sm.Customer {
				t.Fatalf("customer %s: stored %v, rfm %s", sm.Customer, s, r.Customer)
			}
			if s.Frequency != sm.Frequency || s.Recency != sm.Recency || s.Age != sm.T || s.MonetaryValue != int64(math.Round(sm.MonetaryValue*100)) {
				t.Fatalf("customer %s summary %+v, pure %+v", sm.Customer, s, sm)
			}
			if *s.PAlive != w.PAlive || *s.ChurnRisk != w.ChurnRisk || s.ChurnBand != w.RiskBand.String() || *s.ExpectedPurchases != w.ExpectedPurchases {
				t.Fatalf("customer %s model %v %v %s %v, pure %+v", sm.Customer, *s.PAlive, *s.ChurnRisk, s.ChurnBand, *s.ExpectedPurchases, w)
			}
			if *s.CLV != int64(math.Round(w.CLV*100)) || *s.ExpectedValue != int64(math.Round(w.ExpectedValue*100)) {
				t.Fatalf("customer %s CLV %d E[M] %d, pure %v %v", sm.Customer, *s.CLV, *s.ExpectedValue, w.CLV, w.ExpectedValue)
			}
			if s.R != r.R || s.F != r.F || s.M != r.M || s.Cell != r.Cell || s.Segment != r.Segment || s.RecencyDays != r.Recency ||
				s.Orders != int64(r.Frequency) || math.Abs(float64(s.TotalSpent)/100-r.Monetary) > 0.005 {
				t.Fatalf("customer %s RFM %+v, pure %+v", sm.Customer, s, r)
			}
			clvSum += w.CLV
		}
		// The published per-customer values (docs/analytics.md §7):
		// customer 1, E[Y(39)] at the fitted parameters and the CLVs.
		if c1 := stored[1]; !relClose(float64(*c1.CLV)/100, 36.2785, 1e-3) || !relClose(*c1.PAlive, 0.7266, 2e-3) {
			t.Errorf("customer 1: CLV %d, P(alive) %v", *c1.CLV, *c1.PAlive)
		}
		if c6 := stored[6]; !relClose(float64(*c6.CLV)/100, 283.5236, 1e-3) {
			t.Errorf("customer 6: CLV %d", *c6.CLV)
		}
		// The figures the run counted as it wrote match its rows.
		checkAggregates(t, e, run.ID, stored)
		// (71,509.90 on lifetimes' summary file, whose spends are rounded.)
		if !relClose(clvSum, 71509.90, 1e-4) {
			t.Errorf("Σ CLV %v", clvSum)
		}
	})
}

// TestRecomputeInterrupted kills a second run half way through writing:
// the first run's results stay in use, untouched; running it again (as
// the job queue does when a lease ends) finishes it and switches.
func TestRecomputeInterrupted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cdnow(t, e)
		e.settings(cdnowSettings)
		first := e.recompute("1997-09-30")
		before := e.scores(first.ID)

		// The second run observes to the end of 1997; it dies after
		// writing two batches.
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		written := 0
		e.svc.progress = func(phase string, done int64) error {
			if phase == PhaseWriting && done > 0 {
				if written++; written == 2 {
					cancel()
				}
			}
			return nil
		}
		run, created, err := e.svc.Recompute(e.ctx, ViaAPI, "1997-12-31")
		if err != nil || !created || run.Status != store.RunQueued {
			t.Fatalf("recompute: %v %v %+v", err, created, run)
		}
		runner := jobs.NewRunner(db, quiet, jobs.Options{Lease: time.Minute})
		e.svc.RegisterJobs(runner)
		if err := e.svc.execute(ctx, run.ID, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		e.svc.progress = nil
		mid, err := e.svc.Run(e.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mid.Status != store.RunRunning || mid.Current || mid.Progress.Phase != PhaseWriting {
			t.Fatalf("after the kill: %+v", mid)
		}
		cur, _, err := e.svc.CurrentRun(e.ctx)
		if err != nil || cur.ID != first.ID {
			t.Fatalf("current after the kill: %v %v", cur, err)
		}
		after := e.scores(first.ID)
		if len(after) != len(before) {
			t.Fatalf("first run has %d rows, had %d", len(after), len(before))
		}
		for id, s := range before {
			if *after[id] != *s {
				if after[id].PAlive != nil && *after[id].PAlive == *s.PAlive && *after[id].CLV == *s.CLV && after[id].Segment == s.Segment {
					continue // pointers differ, values equal
				}
				t.Fatalf("customer %d changed: %+v → %+v", id, s, after[id])
			}
		}
		partial := e.scores(run.ID)
		if len(partial) == 0 || len(partial) >= len(before) {
			t.Fatalf("the killed run wrote %d rows", len(partial))
		}
		// Another Recompute while it is marked running returns it.
		again, created, err := e.svc.Recompute(e.ctx, ViaWeb, "")
		if err != nil || created || again.ID != run.ID {
			t.Fatalf("second ask: %v %v %+v", err, created, again)
		}

		// The job queue hands it out again (a new attempt): it restarts.
		if err := e.svc.execute(e.ctx, run.ID, nil); err != nil {
			t.Fatal(err)
		}
		done, err := e.svc.Run(e.ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != store.RunDone || !done.Current || done.Attempts != 2 || done.ObservedTo != "1997-12-31" {
			t.Fatalf("restarted run: %+v", done)
		}
		if n := len(e.scores(done.ID)); n != 2357 {
			t.Fatalf("restarted run has %d rows", n)
		}
		// The run replaced stays until the next one (its segments are the
		// next run's previous ones); the next run drops it.
		if n := len(e.scores(first.ID)); n != 2357 {
			t.Fatalf("the replaced run has %d rows", n)
		}
		// Segments moved: the previous segment is the first run's.
		s1 := e.score(done.ID, 1)
		if s1.PrevSegment != before[1].Segment {
			t.Errorf("previous segment %q, was %q", s1.PrevSegment, before[1].Segment)
		}
		// The job itself is now a duplicate: working it changes nothing.
		if n, err := runner.RunOnce(e.ctx); err != nil || n != 1 {
			t.Fatalf("run once: %d %v", n, err)
		}
		third := e.recompute("1997-12-31")
		db.Read(e.ctx, func(tx *store.Tx) error {
			if _, err := tx.CustomerScoreOf(e.ctx, first.ID, 1); err == nil || crm.ErrorCode(err) == crm.ENOTFOUND {
				t.Errorf("the first run's table outlived two runs: %v", err)
			}
			return nil
		})
		if n := len(e.scores(done.ID)); n != 2357 || len(e.scores(third.ID)) != 2357 {
			t.Errorf("the last two runs: %d and %d rows", n, len(e.scores(third.ID)))
		}
	})
}

// TestRecomputeShop runs the job on a small shop: currencies, returns,
// too few customers for the models, baskets and cross-selling, people
// deleted after the run.
func TestRecomputeShop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		clk := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return clk }
		day := func(d int) time.Time { return time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
		tea, cup, sugar, honey := line{"T1", "Tea", 1, 500000}, line{"", "Cup", 2, 100000}, line{"S1", "Sugar", 1, 200000}, line{"H1", "Honey", 1, 900000}

		// People 1–30 buy tea with sugar, most also cups; 31 buys tea only.
		var orders []*crm.Order
		for p := int64(1); p <= 30; p++ {
			orders = append(orders, e.order(p, "IRR", day(int(p)), 0, tea, sugar))
			if p%3 != 0 {
				orders = append(orders, e.order(p, "IRR", day(int(p)+40), 0, tea, cup, sugar))
			}
			if p%5 == 0 {
				e.order(p, "IRR", day(int(p)+90), 0, honey, tea)
			}
		}
		e.order(31, "IRR", day(10), 0, tea)
		// A returned order and a partly refunded one.
		e.refund(orders[0], orders[0].Total, nil)
		e.refund(orders[1], 200000, map[int64]int64{orders[1].Lines[1].ID: 1})
		// Person 40 buys only in euros; person 41 in both.
		e.order(40, "EUR", day(5), 1500)
		e.order(41, "EUR", day(6), 2500)
		e.order(41, "IRR", day(7), 0, honey)

		e.settings(func(st *Settings) { st.BasketMinSupport, st.BasketMinConfidence = 0.1, 0.3 })
		run := e.recompute("")
		if run.Currency != "IRR" || run.ObservedTo != "2025-06-30" {
			t.Fatalf("currency %s, observed to %s", run.Currency, run.ObservedTo)
		}
		if run.Customers != 32 || run.ModelStatus != StatusOK && run.ModelStatus != StatusNotConverged && run.ModelStatus != StatusTooFew {
			t.Fatalf("customers %d, model %s", run.Customers, run.ModelStatus)
		}
		if len(run.Skipped.OtherCurrencies) != 1 || run.Skipped.OtherCurrencies[0] != (store.AnalyticsCurrency{Currency: "EUR", Orders: 2, Customers: 2}) ||
			run.Skipped.CustomersOtherCurrencyOnly != 1 {
			t.Errorf("skipped %+v", run.Skipped)
		}
		m := e.scores(run.ID)
		if m[40] != nil {
			t.Error("a euro-only customer was scored")
		}
		// Person 1: the first order was returned, the second partly.
		if s := m[1]; s == nil || s.Orders != 1 || s.TotalSpent != 500000+200000+200000-200000 || s.Frequency != 0 {
			t.Errorf("person 1: %+v", s)
		}
		// Person 41's euros are not in their IRR total.
		if s := m[41]; s == nil || s.TotalSpent != 900000 || s.Currency != "IRR" {
			t.Errorf("person 41: %+v", s)
		}

		// Baskets: the stored rules are the pure function's.
		if run.Baskets.Status != StatusOK {
			t.Fatalf("baskets: %+v (%s)", run.Baskets, run.Message)
		}
		b := analytics.NewBaskets()
		var rows []struct {
			order int64
			items []string
		}
		err := db.Read(e.ctx, func(tx *store.Tx) error {
			return tx.StreamBasketLines(e.ctx, func(l *store.BasketLine) error {
				if len(rows) == 0 || rows[len(rows)-1].order != l.OrderID {
					rows = append(rows, struct {
						order int64
						items []string
					}{l.OrderID, nil})
				}
				rows[len(rows)-1].items = append(rows[len(rows)-1].items, store.ItemKey(l.SKU, l.Name))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			b.Add(r.items...)
		}
		sets, err := b.FrequentItemsets(analytics.MineOptions{MinSupport: analytics.Fraction{Num: 1, Den: 10}})
		if err != nil {
			t.Fatal(err)
		}
		rules := sets.Rules(analytics.RuleOptions{MinConfidence: analytics.Fraction{Num: 3, Den: 10}})
		if run.Baskets.Baskets != int64(b.Len()) || run.Baskets.Itemsets != int64(sets.Len()) || run.Baskets.Rules != int64(len(rules)) {
			t.Errorf("baskets %+v; pure %d baskets, %d itemsets, %d rules", run.Baskets, b.Len(), sets.Len(), len(rules))
		}
		_, stored, err := e.svc.Rules(e.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != len(rules) {
			t.Fatalf("%d rules stored, %d mined", len(stored), len(rules))
		}
		for i, r := range rules {
			if stored[i].RHS.Item != r.Consequent[0] || stored[i].Count != int64(r.Count) || stored[i].Lift != r.Lift {
				t.Errorf("rule %d: %+v, mined %+v", i, stored[i], r)
			}
		}
		item, err := e.svc.Item(e.ctx, "sku:T1", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := sets.BoughtTogether("sku:T1", 10, false)
		if item.Item.Name != "Tea" || len(item.Together) != len(want) || item.Together[0].Item.Item != want[0].Item {
			t.Errorf("tea: %+v, pure %+v", item, want)
		}
		// Cross-selling: person 3 bought tea and sugar, never a cup.
		ci, err := e.svc.Customer(e.ctx, 3, 5)
		if err != nil {
			t.Fatal(err)
		}
		if ci.Score == nil || len(ci.CrossSell) == 0 || ci.CrossSell[0].Item.Item != "name:Cup" {
			t.Errorf("person 3 insight: %+v", ci)
		}
		for _, sg := range ci.CrossSell {
			if sg.Item.Item == "sku:T1" || sg.Item.Item == "sku:S1" {
				t.Errorf("suggested %s, which they bought", sg.Item.Item)
			}
		}
		deal, err := e.svc.CrossSell(e.ctx, []string{"sku:T1", "sku:S1"}, 3)
		if err != nil || len(deal) == 0 || deal[0].Item.Item != "name:Cup" {
			t.Errorf("deal cross-sell: %+v %v", deal, err)
		}

		// A deleted person's results go with them.
		if err := db.Write(e.ctx, func(tx *store.Tx) error {
			return e.svc.HandleContactEvent(e.ctx, tx, crm.Event{Type: crm.EventContactDeleted, SubjectID: 2})
		}); err != nil {
			t.Fatal(err)
		}
		if m := e.scores(run.ID); m[2] != nil || m[4] == nil {
			t.Error("deleted person still scored, or others gone")
		}

		// Scoring the euros instead.
		e.settings(func(st *Settings) { st.Currency = "EUR" })
		eur := e.recompute("")
		if eur.Customers != 2 || eur.ModelStatus != StatusTooFew || eur.SpendStatus != StatusSkipped {
			t.Errorf("euro run: %+v", eur)
		}
		if s := e.score(eur.ID, 40); s.TotalSpent != 1500 || s.PAlive != nil || s.CLV != nil || s.ChurnBand != "" {
			t.Errorf("euro customer: %+v", s)
		}
	})
}

// TestRecomputeTooFewCustomers: a shop with a handful of buyers gets RFM
// but no model values, and says why.
func TestRecomputeTooFewCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for p := int64(1); p <= 5; p++ {
			e.order(p, "USD", time.Date(2025, 1, int(p), 10, 0, 0, 0, time.UTC), 1000*p)
		}
		run := e.recompute("2025-02-01")
		if run.ModelStatus != StatusTooFew || run.BGNBD != nil || run.SpendStatus != StatusSkipped || run.Baskets.Status != StatusTooFew {
			t.Fatalf("run %+v", run)
		}
		s := e.score(run.ID, 5)
		if s.Segment == "" || s.Cell == "" || s.PAlive != nil || s.ExpectedPurchases != nil {
			t.Errorf("score %+v", s)
		}
		// Nothing at all: a run still finishes, with nobody scored.
		e2 := newEnv(t, storetest.Open(t, db.Dialect()))
		empty := e2.recompute("")
		if empty.Customers != 0 || empty.ModelStatus != StatusTooFew {
			t.Errorf("empty run %+v", empty)
		}
	})
}

// TestRecomputeThroughJobs asks for a run as the web and the API do and
// lets the job runner work it; and the nightly run is queued for its
// local time.
func TestRecomputeThroughJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		now := time.Date(2025, 3, 20, 22, 0, 0, 0, time.UTC) // 01:30 on the 21st in Tehran
		db.Now = func() time.Time { return now }
		for p := int64(1); p <= 3; p++ {
			e.order(p, "IRR", now.AddDate(0, 0, -int(p)), 100000)
		}
		runner := jobs.NewRunner(db, quiet, jobs.Options{})
		e.svc.RegisterJobs(runner)
		e.settings(func(st *Settings) { st.TimeZone, st.NightlyAt = "Asia/Tehran", "03:00" })

		run, created, err := e.svc.Recompute(e.ctx, ViaWeb, "")
		if err != nil || !created {
			t.Fatal(err, created)
		}
		if n, err := runner.RunOnce(e.ctx); err != nil || n != 1 {
			t.Fatalf("run once: %d %v", n, err)
		}
		done, err := e.svc.Run(e.ctx, run.ID)
		if err != nil || done.Status != store.RunDone || !done.Current || done.ObservedTo != "2025-03-21" || done.Customers != 3 {
			t.Fatalf("run %+v %v", done, err)
		}
		// The nightly job waits for 03:00 Tehran time (23:30 UTC).
		var queued []store.Job
		err = db.Read(e.ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(e.ctx, `SELECT id FROM jobs WHERE kind = ? AND status = 'queued'`, JobNightly)
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			for _, id := range ids {
				j, err := tx.FindJobByID(e.ctx, id)
				if err != nil {
					return err
				}
				queued = append(queued, j)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != 1 || !queued[0].RunAt.Equal(time.Date(2025, 3, 20, 23, 30, 0, 0, time.UTC)) {
			t.Fatalf("nightly jobs %+v", queued)
		}
		// At that time the runner works it: a nightly run, and the next
		// night's job.
		now = queued[0].RunAt.Add(time.Second)
		if n, err := runner.RunOnce(e.ctx); err != nil || n != 1 {
			t.Fatalf("nightly: %d %v", n, err)
		}
		runs, _, err := e.svc.Runs(e.ctx, 10, "")
		if err != nil || len(runs) != 2 || runs[0].Via != ViaNightly || runs[0].Status != store.RunDone {
			t.Fatalf("runs %+v %v", runs, err)
		}
		next, err := NextNightly(Settings{NightlyAt: "03:00", TimeZone: "Asia/Tehran"}, now)
		if err != nil || !next.Equal(time.Date(2025, 3, 21, 23, 30, 0, 0, time.UTC)) {
			t.Fatalf("next night %v %v", next, err)
		}
	})
}

// TestPermissions: reading results needs orders:read, the analytics page
// reports:read, recomputing reports:read with the write scope, settings
// settings:manage.
func TestPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		as := func(role crm.Role) context.Context {
			return crm.NewContextWithUser(e.ctx, &crm.User{ID: 1, Role: role, Active: true})
		}
		support, sales, manager := as(crm.RoleSupport), as(crm.RoleSales), as(crm.RoleManager)
		if _, err := e.svc.Customer(support, 1, 3); err != nil {
			t.Errorf("support reads a customer's results: %v", err)
		}
		if _, err := e.svc.Overview(support, 5); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("support reads the analytics page: %v", err)
		}
		if _, _, err := e.svc.Recompute(support, ViaWeb, ""); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("support recomputes: %v", err)
		}
		readOnly := crm.NewContextWithToken(sales, &crm.APIToken{Scopes: []string{crm.ScopeRead}})
		if _, _, err := e.svc.Recompute(readOnly, ViaAPI, ""); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("read-only token recomputes: %v", err)
		}
		if _, _, err := e.svc.Recompute(sales, ViaWeb, "1997-13-01"); crm.ErrorFields(err)["end"] == "" {
			t.Errorf("bad end: %v", err)
		}
		if r, created, err := e.svc.Recompute(sales, ViaWeb, ""); err != nil || !created || r.RequestedBy != 1 {
			t.Errorf("sales recomputes: %v", err)
		}
		if _, err := e.svc.SaveSettings(manager, DefaultSettings()); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("manager saves settings: %v", err)
		}
		bad := DefaultSettings()
		bad.Currency, bad.Period, bad.ChurnHigh, bad.NightlyAt, bad.TimeZone, bad.BasketMinSupport = "rials", "months", 0.1, "25:00", "Mars/Base", 0
		_, err := e.svc.SaveSettings(e.ctx, bad)
		for _, f := range []string{"currency", "period", "churn_high", "nightly_at", "time_zone", "basket_min_support"} {
			if crm.ErrorFields(err)[f] == "" {
				t.Errorf("bad %s accepted: %v", f, err)
			}
		}
	})
}

// sumTxs keeps the transactions on or before end.
func sumTxs(txs []analytics.Transaction, end time.Time) []analytics.Transaction {
	var out []analytics.Transaction
	for _, t := range txs {
		if !t.Time.After(end) {
			out = append(out, t)
		}
	}
	return out
}

// TestRecomputeStale: a run whose process died without a job to restart
// it (a command killed mid-run) blocks nothing for long: once it has shown
// no sign of life for staleAfter, asking for a run gives it up and starts
// a new one; and a recompute job works every queued run, also those that
// got no job of their own.
func TestRecomputeStale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		now := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		for p := int64(1); p <= 40; p++ {
			e.order(p, "IRR", now.AddDate(0, 0, -int(p)*3), 100000*p)
			e.order(p, "IRR", now.AddDate(0, 0, -int(p)), 50000)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		e.svc.progress = func(phase string, done int64) error {
			if phase == PhaseWriting {
				cancel()
			}
			return nil
		}
		if _, err := e.svc.RunNow(ctx, ViaCLI, "", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed run: %v", err)
		}
		e.svc.progress = nil
		dead, _, err := e.svc.CurrentRun(e.ctx)
		if err != nil || dead != nil {
			t.Fatalf("current after a killed first run: %v %v", dead, err)
		}
		if r, created, err := e.svc.Recompute(e.ctx, ViaWeb, ""); err != nil || created || r.Status != store.RunRunning {
			t.Fatalf("ask at once: %+v %v %v", r, created, err)
		} else {
			dead = r
		}
		if _, err := e.svc.RunNow(e.ctx, ViaCLI, "", nil); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("command while another runs: %v", err)
		}
		now = now.Add(staleAfter + time.Minute)
		r, created, err := e.svc.Recompute(e.ctx, ViaWeb, "")
		if err != nil || !created || r.ID == dead.ID {
			t.Fatalf("ask after the dead run went quiet: %+v %v %v", r, created, err)
		}
		if old, _ := e.svc.Run(e.ctx, dead.ID); old.Status != store.RunFailed || !strings.Contains(old.Message, "Interrupted") {
			t.Fatalf("the dead run: %+v", old)
		}
		// A second queued run without a job of its own is worked by the
		// first run's job too.
		var orphan store.AnalyticsRun
		err = db.Write(e.ctx, func(tx *store.Tx) error {
			orphan = store.AnalyticsRun{Status: store.RunQueued, Via: ViaAPI, Params: `{"settings":` + mustJSON(t, DefaultSettings()) + `}`}
			return tx.InsertAnalyticsRun(e.ctx, &orphan)
		})
		if err != nil {
			t.Fatal(err)
		}
		runner := jobs.NewRunner(db, quiet, jobs.Options{})
		e.svc.RegisterJobs(runner)
		if n, err := runner.RunOnce(e.ctx); err != nil || n != 1 {
			t.Fatalf("run once: %d %v", n, err)
		}
		for _, id := range []int64{r.ID, orphan.ID} {
			if done, err := e.svc.Run(e.ctx, id); err != nil || done.Status != store.RunDone {
				t.Errorf("run %d: %+v %v", id, done, err)
			}
		}
		if cur, _, _ := e.svc.CurrentRun(e.ctx); cur == nil || cur.ID != orphan.ID || cur.Customers != 40 {
			t.Errorf("current %+v", cur)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAggregates compares the run's counted figures with its rows.
func checkAggregates(t *testing.T, e *env, runID int64, rows map[int64]*Score) {
	t.Helper()
	segs := map[string]int64{}
	bands := map[string]int64{}
	cells := map[[2]int]int64{}
	var clvs []int64
	for _, s := range rows {
		segs[s.Segment]++
		bands[s.ChurnBand]++
		cells[[2]int{s.R, analytics.FMScore(s.F, s.M)}]++
		if s.CLV != nil {
			clvs = append(clvs, *s.CLV)
		}
	}
	err := e.db.Read(e.ctx, func(tx *store.Tx) error {
		sz, err := tx.ScoreSegmentSizes(e.ctx, runID)
		if err != nil {
			return err
		}
		for _, x := range sz {
			if segs[x.Segment] != x.Customers {
				t.Errorf("segment %s: %d counted, %d rows", x.Segment, x.Customers, segs[x.Segment])
			}
			delete(segs, x.Segment)
		}
		bc, err := tx.ScoreBandCounts(e.ctx, runID)
		if err != nil {
			return err
		}
		for _, x := range bc {
			if bands[x.Band] != x.Customers {
				t.Errorf("band %q: %d counted, %d rows", x.Band, x.Customers, bands[x.Band])
			}
			delete(bands, x.Band)
		}
		cc, err := tx.ScoreCellCounts(e.ctx, runID)
		if err != nil {
			return err
		}
		for _, x := range cc {
			if cells[[2]int{x.R, x.FM}] != x.Customers {
				t.Errorf("cell %d/%d: %d counted", x.R, x.FM, x.Customers)
			}
			delete(cells, [2]int{x.R, x.FM})
		}
		if len(segs)+len(bands)+len(cells) > 0 {
			t.Errorf("not counted: %v %v %v", segs, bands, cells)
		}
		lo, hi, ok, err := tx.ScoreCLVRange(e.ctx, runID)
		if err != nil || !ok || lo != slices.Min(clvs) || hi != slices.Max(clvs) {
			t.Errorf("CLV range %d..%d %v %v", lo, hi, ok, err)
		}
		hist, err := tx.ScoreCLVHistogram(e.ctx, runID, store.RoundEdges(hi, CLVBars))
		if err != nil {
			return err
		}
		var n int64
		for _, b := range hist {
			for _, v := range clvs {
				if v >= b.From && (b.To == 0 || v < b.To) {
					n++
				}
			}
			n -= b.Customers
		}
		if n != 0 || len(hist) < 10 {
			t.Errorf("CLV histogram %+v off by %d", hist, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
