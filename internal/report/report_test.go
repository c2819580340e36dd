package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
)

// env is the orders, contacts and reports on one database, with the event
// dispatcher that carries the orders' and contacts' events to the reports
// (and to the orders module, which moves orders on a merge).
type env struct {
	t        *testing.T
	db       *store.DB
	contacts *contact.Service
	orders   *order.Service
	rep      *report.Service
	events   *event.Dispatcher
}

func newEnv(t *testing.T, db *store.DB) *env {
	quiet := slog.New(slog.DiscardHandler)
	e := &env{t: t, db: db, contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), events: event.NewDispatcher(db, quiet)}
	e.orders = order.New(db, order.Options{Resolve: e.contacts.ResolveCustomer})
	e.rep = report.New(db, report.Options{Logger: quiet})
	e.orders.RegisterSubscribers(e.events)
	e.rep.Subscribe(e.events)
	return e
}

// sync delivers the events and brings the reports up to date.
func (e *env) sync() {
	e.t.Helper()
	ctx := context.Background()
	if err := e.events.Drain(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.rep.Sync(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setZone(zone string) {
	e.t.Helper()
	if err := e.rep.SetTimeZone(context.Background(), zone); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) order(phone, currency string, at time.Time, amount int64) *crm.Order {
	e.t.Helper()
	o, _, err := e.orders.Create(context.Background(), order.Input{Currency: currency, Customer: crm.CustomerRef{Phone: phone, FirstName: "C" + phone},
		PlacedAt: &at, Lines: []order.LineInput{{SKU: "A", Name: "a", Quantity: 2, UnitPrice: amount / 2}, {Name: "b", Quantity: 1, UnitPrice: amount - amount/2*2}}})
	if err != nil {
		e.t.Fatalf("order %s %v: %v", phone, at, err)
	}
	return o
}

func tehran(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestFarvardin1404 checks the example: a report for Farvardin
// 1404 covers 2025-03-21..2025-04-20 in the business time zone (Tehran,
// UTC+3:30), to the minute at both ends.
func TestFarvardin1404(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setZone("Asia/Tehran")
		loc := tehran(t)
		in := []time.Time{
			time.Date(2025, 3, 21, 0, 0, 0, 0, loc),   // the first minute of Farvardin
			time.Date(2025, 4, 20, 23, 59, 0, 0, loc), // its last minute
			time.Date(2025, 3, 20, 21, 0, 0, 0, time.UTC),
		}
		out := []time.Time{
			time.Date(2025, 3, 20, 23, 59, 0, 0, loc), // 29 Esfand 1403
			time.Date(2025, 4, 21, 0, 0, 0, 0, loc),   // 1 Ordibehesht
			time.Date(2025, 3, 20, 20, 29, 0, 0, time.UTC),
		}
		for i, at := range in {
			e.order(fmt.Sprintf("0912100000%d", i), "IRR", at, 1000*int64(i+1))
		}
		for i, at := range out {
			e.order(fmt.Sprintf("0912200000%d", i), "IRR", at, 100000)
		}
		// A free sample in Farvardin: an order, but not a purchase.
		e.order("09123000000", "IRR", time.Date(2025, 4, 1, 12, 0, 0, 0, loc), 0)
		e.sync()
		from, err := report.ParseDay("۱۴۰۴/۰۱/۰۱", report.Jalali) // Persian digits, as typed
		if err != nil {
			t.Fatal(err)
		}
		to, err := report.ParseDay("1404-01-31", report.Jalali)
		if err != nil {
			t.Fatal(err)
		}
		if from != 20250321 || to != 20250420 {
			t.Fatalf("Farvardin 1404 is %v..%v, want 2025-03-21..2025-04-20", from, to)
		}
		q := report.Query{Range: report.Range{From: from, To: to}, Calendar: report.Jalali}
		rev, err := e.rep.Revenue(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rev.Months) != 1 {
			t.Fatalf("%d months, want 1: %+v", len(rev.Months), rev.Months)
		}
		m := rev.Months[0]
		if y, mo := m.Month.YearMonth(); y != 1404 || mo != 1 || m.From != 20250321 || m.To != 20250420 {
			t.Errorf("month %d-%d covers %v..%v", y, mo, m.From, m.To)
		}
		if m.Orders != 4 || m.Gross != 6000 || m.Net != 6000 || rev.Total != m.Sales {
			t.Errorf("Farvardin 1404: %+v, want 4 orders, 6,000 IRR", m)
		}
		// The same orders by Gregorian month: March 2025 from the 1st.
		g, err := e.rep.Revenue(t.Context(), report.Query{Range: report.Range{From: 20250301, To: 20250430}, Calendar: report.Gregorian})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Months) != 2 || g.Months[0].Orders != 4 || g.Months[1].Orders != 3 {
			t.Errorf("March and April 2025: %+v", g.Months)
		}
		// Whole-month customer counts and the month's single cohort.
		cs, err := e.rep.Customers(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if !cs.WholeMonths || len(cs.Months) != 1 || cs.Months[0].New != 3 || cs.Months[0].Returning != 0 {
			t.Errorf("customers %+v", cs)
		}
	})
}

// fixture is a random shop: customers ordering in two currencies over two
// years in Tehran time, some orders partly returned.
type fixture struct {
	orders []*crm.Order
}

func (e *env) randomShop(seed uint64, n int) *fixture {
	e.t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 1))
	f := &fixture{}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		phone := fmt.Sprintf("0912%07d", r.IntN(40))
		cur := "IRR"
		if r.IntN(8) == 0 {
			cur = "USD"
		}
		at := start.Add(time.Duration(r.Int64N(int64(700 * 24 * time.Hour)))).Truncate(time.Second)
		o, _, err := e.orders.Create(ctx, order.Input{Currency: cur, Channel: crm.OrderChannels[r.IntN(2)],
			Customer: crm.CustomerRef{Phone: phone, FirstName: "C"}, PlacedAt: &at, Discount: int64(r.IntN(3)) * 10,
			Lines: []order.LineInput{{SKU: "A", Name: "a", Quantity: 1 + int64(r.IntN(3)), UnitPrice: 100 + int64(r.IntN(900))}, {SKU: "B", Name: "b", Quantity: 1, UnitPrice: 50}}})
		if err != nil {
			e.t.Fatal(err)
		}
		if r.IntN(6) == 0 {
			if _, _, err := e.orders.Return(ctx, o.ID, order.ReturnInput{Reason: crm.ReturnReasons[r.IntN(len(crm.ReturnReasons))],
				Lines: []order.ReturnLineInput{{LineID: o.Lines[0].ID, Quantity: 1}}}); err != nil {
				e.t.Fatal(err)
			}
		}
		f.orders = append(f.orders, o)
	}
	return f
}

// stored re-reads the orders (their returns and owners change).
func (e *env) stored(f *fixture) []*crm.Order {
	e.t.Helper()
	out := make([]*crm.Order, 0, len(f.orders))
	for _, o := range f.orders {
		got, err := e.orders.Find(context.Background(), o.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

// expected computes the figures straight from the orders, without the
// report package's own calendar code.
type expected struct {
	sales   map[[2]int][4]int64 // (year, month) in the calendar → orders, gross, returned, net (IRR)
	active  map[[2]int]int64
	fresh   map[[2]int]int64
	cells   map[[4]int]int64 // cohort (y, m), month (y, m)
	nets    map[int64]int64  // IRR net by customer
	returns map[string]int64 // returns by reason (any month)
}

func expect(orders []*crm.Order, loc *time.Location, calendar string) expected {
	x := expected{sales: map[[2]int][4]int64{}, active: map[[2]int]int64{}, fresh: map[[2]int]int64{}, cells: map[[4]int]int64{}, nets: map[int64]int64{}}
	month := func(t time.Time) [2]int {
		t = t.In(loc)
		if calendar == report.Jalali {
			j := text.ToJalali(t)
			return [2]int{j.Year, j.Month}
		}
		return [2]int{t.Year(), int(t.Month())}
	}
	months := map[int64]map[[2]int]bool{}
	for _, o := range orders {
		if o.Currency == "IRR" {
			m := month(o.PlacedAt)
			s := x.sales[m]
			s[0]++
			s[1] += o.Total
			s[2] += o.ReturnedTotal
			s[3] += o.Total - o.ReturnedTotal
			x.sales[m] = s
			if o.ContactID != 0 {
				x.nets[o.ContactID] += o.Total - o.ReturnedTotal
			}
		}
		if o.ContactID == 0 {
			continue
		}
		if months[o.ContactID] == nil {
			months[o.ContactID] = map[[2]int]bool{}
		}
		months[o.ContactID][month(o.PlacedAt)] = true
	}
	less := func(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
	for _, ms := range months {
		var first [2]int
		for m := range ms {
			if first == [2]int{} || less(m, first) {
				first = m
			}
		}
		x.fresh[first]++
		for m := range ms {
			x.active[m]++
			x.cells[[4]int{first[0], first[1], m[0], m[1]}]++
		}
	}
	return x
}

// check compares every figure of the reports with the orders.
func (e *env) check(orders []*crm.Order, calendar string) {
	e.t.Helper()
	ctx := context.Background()
	loc := tehran(e.t)
	x := expect(orders, loc, calendar)
	q := report.Query{Range: report.Range{From: 20231201, To: 20260131}, Calendar: calendar, Currency: "IRR"}
	rev, err := e.rep.Revenue(ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	var total [4]int64
	for _, m := range rev.Months {
		y, mo := m.Month.YearMonth()
		want := x.sales[[2]int{y, mo}]
		if got := [4]int64{m.Orders, m.Gross, m.Returned, m.Net}; got != want {
			e.t.Errorf("%s %d-%02d: orders, gross, returned, net %v, from the orders %v", calendar, y, mo, got, want)
		}
		for i := range total {
			total[i] += want[i]
		}
	}
	if got := [4]int64{rev.Total.Orders, rev.Total.Gross, rev.Total.Returned, rev.Total.Net}; got != total || total[0] == 0 {
		e.t.Errorf("%s total %v, from the orders %v", calendar, got, total)
	}
	cs, err := e.rep.Customers(ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range cs.Months {
		y, mo := m.Month.YearMonth()
		k := [2]int{y, mo}
		if m.Active != x.active[k] || m.New != x.fresh[k] || m.Returning != x.active[k]-x.fresh[k] {
			e.t.Errorf("%s %d-%02d: active %d new %d returning %d, from the orders %d/%d/%d", calendar, y, mo,
				m.Active, m.New, m.Returning, x.active[k], x.fresh[k], x.active[k]-x.fresh[k])
		}
	}
	co, err := e.rep.Cohorts(ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	cells := 0
	for _, r := range co.Rows {
		cy, cm := r.Month.YearMonth()
		for k, n := range r.Active {
			my, mm := (r.Month + report.Month(k)).YearMonth()
			if want := x.cells[[4]int{cy, cm, my, mm}]; n != want {
				e.t.Errorf("%s cohort %d-%02d, +%d months: %d customers, from the orders %d", calendar, cy, cm, k, n, want)
			}
			if n > 0 {
				cells++
			}
		}
	}
	if cells == 0 {
		e.t.Errorf("%s: an empty cohort table", calendar)
	}
	// Pareto, against the analytics package's own Pareto.
	var revs []analytics.CustomerRevenue
	for id, n := range x.nets {
		if n > 0 {
			revs = append(revs, analytics.CustomerRevenue{Customer: fmt.Sprint(id), Revenue: float64(n)})
		}
	}
	want := analytics.Pareto(revs, analytics.ParetoOptions{TopFraction: 0.2, Points: report.ParetoSteps})
	p, err := e.rep.Pareto(ctx, "IRR")
	if err != nil {
		e.t.Fatal(err)
	}
	if p.Customers != int64(want.Customers) || float64(p.Revenue) != want.Revenue || p.TopCustomers != int64(want.TopCustomers) ||
		math.Abs(p.TopShare-want.TopShare) > 1e-12 || math.Abs(p.Gini-want.Gini) > 1e-9 || len(p.Curve) != len(want.Curve) {
		e.t.Errorf("Pareto %+v\nanalytics %+v", p, want)
	} else {
		for i := range p.Curve {
			if math.Abs(p.Curve[i].RevenueShare-want.Curve[i].RevenueShare) > 1e-12 {
				e.t.Errorf("Pareto point %d: %v, analytics %v", i, p.Curve[i], want.Curve[i])
			}
		}
	}
}

// TestNumbersMatchOrders computes every figure straight from the orders
// and compares: after the first build, after more orders, returns, a
// merge and a deletion handled one by one, and after a full rebuild.
func TestNumbersMatchOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db)
		e.setZone("Asia/Tehran")
		f := e.randomShop(7, 160)
		e.sync()
		for _, cal := range []string{report.Jalali, report.Gregorian} {
			e.check(e.stored(f), cal)
		}

		// More orders and returns, handled from their events.
		g := e.randomShop(8, 80)
		f.orders = append(f.orders, g.orders...)
		// Two people merged, one deleted: orders move, then the reports.
		a, b, c := f.orders[0].ContactID, f.orders[1].ContactID, f.orders[2].ContactID
		if a == b || b == c || a == c {
			t.Fatal("the fixture needs three different customers")
		}
		if _, err := e.contacts.Merge(ctx, []int64{a, b}, a, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.contacts.DeleteContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		e.sync()
		now := e.stored(f)
		if now[1].ContactID != a || now[2].ContactID != 0 {
			t.Fatalf("the orders module did not move the orders: %d, %d", now[1].ContactID, now[2].ContactID)
		}
		for _, cal := range []string{report.Jalali, report.Gregorian} {
			e.check(now, cal)
		}
		st, err := e.rep.Status(ctx)
		if err != nil || st.Pending != 0 || st.Rebuilding || st.Zone != "Asia/Tehran" {
			t.Errorf("status %+v, %v", st, err)
		}

		// A full rebuild gives the same numbers.
		if err := e.rep.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		e.sync()
		e.check(now, report.Jalali)
	})
}

// TestReturnsAndChannels checks the returns report (by the day of the
// return, by reason) and the channel split against the orders.
func TestReturnsAndChannels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db)
		e.setZone("UTC")
		f := e.randomShop(11, 120)
		e.sync()
		q := report.Query{Range: report.Range{From: 20230101, To: report.DayOf(time.Now(), time.UTC)}, Calendar: report.Gregorian, Currency: "IRR"}
		ret, err := e.rep.Returns(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int64{}
		for _, o := range e.stored(f) {
			if o.Currency != "IRR" {
				continue
			}
			rs, err := e.orders.Returns(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				w := want[r.Reason]
				w[0]++
				w[1] += r.Amount
				want[r.Reason] = w
			}
		}
		for _, r := range ret.Total {
			if got := [2]int64{r.Returns, r.Amount}; got != want[r.Reason] {
				t.Errorf("returns for %s: %v, from the orders %v", r.Reason, got, want[r.Reason])
			}
		}
		if ret.Returns == 0 {
			t.Error("no returns in the report")
		}
		rev, err := e.rep.Revenue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, c := range rev.Channels {
			sum += c.Net
		}
		if sum != rev.Total.Net || len(rev.Channels) != 2 {
			t.Errorf("channels %+v do not add up to %d", rev.Channels, rev.Total.Net)
		}
		if !slices.Equal(rev.Currencies, []string{"IRR", "USD"}) {
			t.Errorf("currencies %v", rev.Currencies)
		}
	})
}

// TestTimeZoneChangeRebuilds moves an order across midnight by changing
// the business time zone.
func TestTimeZoneChangeRebuilds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setZone("UTC")
		e.order("09121234567", "IRR", time.Date(2025, 1, 31, 22, 0, 0, 0, time.UTC), 1000)
		e.sync()
		q := report.Query{Range: report.Range{From: 20250101, To: 20250228}, Calendar: report.Gregorian}
		rev, err := e.rep.Revenue(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if rev.Months[0].Orders != 1 || rev.Months[1].Orders != 0 {
			t.Fatalf("in UTC the order is in January: %+v", rev.Months)
		}
		e.setZone("Asia/Tehran") // 01:30 on 1 February there
		st, _ := e.rep.Status(t.Context())
		if !st.Rebuilding {
			t.Error("a new time zone does not say the aggregates are being rebuilt")
		}
		e.sync()
		rev, err = e.rep.Revenue(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if rev.Months[0].Orders != 0 || rev.Months[1].Orders != 1 {
			t.Fatalf("in Tehran the order is in February: %+v", rev.Months)
		}
		if err := e.rep.SetTimeZone(t.Context(), "Mars/Olympus"); crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["time_zone"] == "" {
			t.Errorf("a bad time zone: %v", err)
		}
	})
}

func TestPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.sync()
		q := report.Query{Range: report.Range{From: 20250101, To: 20250131}}
		as := func(role crm.Role) context.Context {
			return crm.NewContextWithUser(context.Background(), &crm.User{ID: 1, Role: role, Active: true})
		}
		for _, c := range []struct {
			role                          crm.Role
			revenue, returns, club, churn bool
			settings                      bool
		}{
			{crm.RoleAdmin, true, true, true, true, true},
			{crm.RoleManager, true, true, true, true, false},
			{crm.RoleSales, true, true, true, true, false},
			{crm.RoleMarketing, true, true, true, true, false},
			{crm.RoleSupport, false, true, true, false, false},
		} {
			ctx := as(c.role)
			_, err := e.rep.Revenue(ctx, q)
			_, err2 := e.rep.Returns(ctx, q)
			_, err3 := e.rep.Club(ctx)
			_, err4 := e.rep.ChurnRisk(ctx, 5)
			err5 := e.rep.Rebuild(ctx)
			for i, got := range []struct {
				err  error
				want bool
			}{{err, c.revenue}, {err2, c.returns}, {err3, c.club}, {err4, c.churn}, {err5, c.settings}} {
				if (got.err == nil) != got.want || got.err != nil && crm.ErrorCode(got.err) != crm.EFORBIDDEN {
					t.Errorf("%s, call %d: %v, want allowed=%v", c.role, i, got.err, got.want)
				}
			}
		}
	})
}

func TestPresetsAndCalendar(t *testing.T) {
	today := report.Day(20250415) // 26 Farvardin 1404
	for _, c := range []struct {
		preset, cal string
		from, to    report.Day
	}{
		{report.PresetThisMonth, report.Jalali, 20250321, 20250415},
		{report.PresetLastMonth, report.Jalali, 20250219, 20250320}, // Esfand 1403 (30 days: a leap year)
		{report.PresetThisYear, report.Jalali, 20250321, 20250415},
		{report.PresetLastYear, report.Jalali, 20240320, 20250320}, // 1403 (a leap year: 366 days)
		{report.PresetLast3Months, report.Gregorian, 20250201, 20250415},
		{report.PresetLastMonth, report.Gregorian, 20250301, 20250331},
		{report.PresetLast12Months, report.Gregorian, 20240501, 20250415},
	} {
		r, ok := report.PresetRange(c.preset, today, c.cal)
		if !ok || r.From != c.from || r.To != c.to {
			t.Errorf("%s (%s): %v..%v, want %v..%v", c.preset, c.cal, r.From, r.To, c.from, c.to)
		}
	}
	if r, _ := report.PresetRange(report.PresetLastYear, today, report.Jalali); r.Days() != 366 {
		t.Errorf("1403 has %d days", r.Days())
	}
	if _, ok := report.PresetRange("nope", today, report.Jalali); ok {
		t.Error("an unknown preset was accepted")
	}
	for _, s := range []string{"1404/13/01", "1404/12/30", "x", ""} {
		if _, err := report.ParseDay(s, report.Jalali); err == nil {
			t.Errorf("ParseDay(%q) accepted", s)
		}
	}
	if got := report.FormatDay(20250321, report.Jalali); got != "1404/01/01" {
		t.Errorf("FormatDay = %q", got)
	}
	// Months of a range: Jalali months of a Gregorian year.
	ms := report.Range{From: 20250101, To: 20251231}.Months(report.Jalali)
	if len(ms) != 13 {
		t.Errorf("2025 touches %d Jalali months, want 13 (Dey 1403 to Dey 1404)", len(ms))
	}
	var lens []int
	for _, m := range (report.Range{From: 20250321, To: 20260320}).Months(report.Jalali) {
		lens = append(lens, report.Range{From: m.First(report.Jalali), To: m.Last(report.Jalali)}.Days())
	}
	if !slices.Equal(lens, []int{31, 31, 31, 31, 31, 31, 30, 30, 30, 30, 30, 29}) {
		t.Errorf("month lengths of 1404: %v", lens)
	}
}

// TestClubLiability compares the outstanding points and their value with
// the club's own report, with orders earning pending points through the
// club's subscriber and adjustments making available ones.
func TestClubLiability(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db)
		cl := club.New(db, club.Options{Logger: slog.New(slog.DiscardHandler)})
		cl.Subscribe(e.events)
		p, err := cl.CreateProgram(ctx, club.ProgramInput{Name: "Mehr", Currency: "IRR", EarnPoints: 1, EarnAmount: 1000, PendingDays: 14,
			PointValue: 250, ValuePoints: 3, AutoEnrol: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			o := e.order(fmt.Sprintf("0912300000%d", i), "IRR", time.Now().Add(-time.Hour), int64(10000*(i+1)+999))
			e.sync()
			ms, err := cl.MembersOfContact(ctx, o.ContactID)
			if err != nil || len(ms) != 1 {
				t.Fatalf("members of %d: %v, %v", o.ContactID, ms, err)
			}
			if _, err := cl.Adjust(ctx, ms[0].ID, club.Adjustment{Points: int64(7 * (i + 1)), Reason: "welcome"}); err != nil {
				t.Fatal(err)
			}
		}
		e.sync()
		got, err := e.rep.Club(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cl.Report(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Programs) != 1 {
			t.Fatalf("%d programs", len(got.Programs))
		}
		l := got.Programs[0]
		if l.Points != want.Outstanding || l.Value != want.Value || l.Members != 5 || l.Holders != 5 || l.Pending == 0 || l.Available != 105 {
			t.Errorf("liability %+v; the club's report says %d points worth %d", l, want.Outstanding, want.Value)
		}
	})
}

// seedScores stores a finished analytics run scoring the people ids:
// segments in turn, every third one at high churn risk.
func seedScores(t *testing.T, db *store.DB, ids []int64) int64 {
	t.Helper()
	ctx := context.Background()
	var runID int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		r := &store.AnalyticsRun{Status: store.RunDone, Via: "cli"}
		if err := tx.InsertAnalyticsRun(ctx, r); err != nil {
			return err
		}
		now := time.Now().UTC()
		r.Currency, r.ObservedTo, r.Customers, r.ModelStatus, r.SpendStatus, r.FinishedAt = "IRR", "2025-04-20", int64(len(ids)), "ok", "ok", &now
		if err := tx.SaveAnalyticsRun(ctx, r); err != nil {
			return err
		}
		var rows []store.CustomerScore
		for i, id := range ids {
			band, risk := "low", 0.1
			if i%3 == 0 {
				band, risk = "high", 0.8
			}
			alive, clv := 1-risk, int64(1000*(i+1)*(i+1))
			rows = append(rows, store.CustomerScore{RunID: r.ID, ContactID: id, Currency: "IRR", Orders: int64(i + 1), TotalSpent: int64(5000 * (i + 1)),
				FirstOrderAt: now.AddDate(-1, 0, 0), LastOrderAt: now.AddDate(0, -i, 0), R: 1 + i%5, F: 1 + i%5, M: 1 + i%5, Cell: "111",
				Segment: analytics.RFMSegments[i%len(analytics.RFMSegments)], PrevSegment: analytics.RFMSegments[(i+1)%len(analytics.RFMSegments)],
				PAlive: &alive, ChurnRisk: &risk, ChurnBand: band, CLV: &clv})
		}
		if err := tx.CreateScoreTable(ctx, r.ID); err != nil {
			return err
		}
		if err := tx.InsertCustomerScores(ctx, rows); err != nil {
			return err
		}
		if err := tx.IndexScoreTable(ctx, r.ID); err != nil {
			return err
		}
		runID = r.ID
		return tx.SetCurrentAnalyticsRun(ctx, r.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return runID
}

func TestScores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db)
		if sc, err := e.rep.Scores(ctx); err != nil || sc != nil {
			t.Fatalf("before any run: %+v, %v", sc, err)
		}
		var ids []int64
		for i := range 12 {
			ids = append(ids, e.order(fmt.Sprintf("091240000%02d", i), "IRR", time.Now().Add(-time.Hour), 1000).ContactID)
		}
		run := seedScores(t, db, ids)
		e.sync()
		sc, err := e.rep.Scores(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sc.RunID != run || sc.Currency != "IRR" || len(sc.Segments) != len(analytics.RFMSegments) {
			t.Fatalf("scores %+v", sc)
		}
		var n, moved, clvN int64
		for i, s := range sc.Segments {
			if s.Segment != analytics.RFMSegments[i] {
				t.Errorf("segment %d is %s", i, s.Segment)
			}
			n += s.Customers
		}
		for _, m := range sc.Moves {
			moved += m.Customers
			if m.From == m.To {
				t.Errorf("a move within %s", m.From)
			}
		}
		for _, b := range sc.CLV {
			clvN += b.Customers
		}
		if n != 12 || moved != 12 || clvN != 12 {
			t.Errorf("segments count %d, moves %d, CLV buckets %d customers; want 12 each", n, moved, clvN)
		}
		risk, err := e.rep.ChurnRisk(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		// High risk: people 0, 3, 6, 9; most spent first.
		if len(risk) != 3 || risk[0].ContactID != ids[9] || risk[1].ContactID != ids[6] || risk[0].Name == "" {
			t.Errorf("churn risk %+v", risk)
		}
	})
}

func TestCLVEdges(t *testing.T) {
	for hi, want := range map[int64][]int64{
		0:         {0},
		7:         {0, 1, 2, 5},
		1_000_000: {0, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000},
	} {
		if got := report.ClvEdgesForTest(hi); !slices.Equal(got, want) {
			t.Errorf("clvEdges(%d) = %v, want %v", hi, got, want)
		}
	}
}
