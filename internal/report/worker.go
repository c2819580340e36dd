package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// report_state keys.
const (
	stateTimeZone   = "time_zone"  // the business time zone, as chosen
	stateZone       = "zone"       // the zone the aggregates are (being) built in
	stateBuiltAt    = "built_at"   // RFC 3339; "" while a rebuild runs
	stateRebuild    = "rebuild"    // "1": someone asked for a rebuild
	stateChanged    = "changed_at" // the aggregates last changed (RFC 3339)
	stateLease      = "lease"      // "<instance> <unix expiry>": the worker at work
	stateCurrencies = "currencies" // the currencies of report_days, most orders first, comma-separated
)

// Batch sizes of the worker: marks handled in one transaction, and the
// contact ids read at once by a rebuild.
const (
	dayBatch       = 200
	contactBatch   = 1000
	rebuildIDChunk = 20000
	leaseFor       = 2 * time.Minute
	leaseRenew     = leaseFor * 3 / 4 // renewed when less than this is left: a write every 30 s at most
)

func newInstanceID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run works until ctx ends: it rebuilds the aggregates when needed,
// handles the marks as they come, and refreshes the cached figures. It
// gives up the worker's lease when it ends, so that the next process
// (a restarted server) takes over at once.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	defer s.release()
	failures := 0
	for {
		_, err := s.step(ctx, false)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			failures++
			s.log.Warn("report: worker", "err", err)
			wait := min(time.Duration(failures)*s.poll*2, 5*time.Minute)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Sync brings the aggregates and every cached figure up to date now: the
// rebuild if one is due, every mark, and the caches whatever their age.
// Tests, benchmarks and commands use it; the server's worker does the
// same work as it comes.
func (s *Service) Sync(ctx context.Context) error {
	return s.once(ctx, true)
}

// Step does one round of the worker's work, as Run does: a rebuild if one
// is due, every mark, and the caches that are stale.
func (s *Service) Step(ctx context.Context) error {
	return s.once(ctx, false)
}

// once does one round and gives the lease back; it fails when another
// process's worker holds it.
func (s *Service) once(ctx context.Context, force bool) error {
	ok, err := s.step(ctx, force)
	if err == nil && !ok {
		return crm.Errorf(crm.EUNAVAILABLE, "Another Pivand process is updating the report figures; try again in a minute.")
	}
	if ok {
		s.release()
	}
	return err
}

// release gives up the worker's lease if this process holds it.
func (s *Service) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.ReportStateValue(ctx, stateLease)
		if err != nil || !strings.HasPrefix(cur, s.id+" ") {
			return err
		}
		return tx.SetReportState(ctx, stateLease, "")
	})
	if err != nil {
		s.log.Warn("report: release the worker's lease", "err", err)
	}
}

// step does one round of the worker's work; force refreshes every cache.
// ok is false when another process holds the worker's lease.
func (s *Service) step(ctx context.Context, force bool) (ok bool, err error) {
	if ok, err = s.lease(ctx); err != nil || !ok {
		return ok, err
	}
	st, err := s.state(ctx)
	if err != nil {
		return true, err
	}
	if st.needsRebuild() {
		if err := s.rebuild(ctx, st.timeZone); err != nil {
			return true, err
		}
	}
	if err := s.handleMarks(ctx); err != nil {
		return true, err
	}
	return true, s.refreshCaches(ctx, force)
}

// lease makes this process the one worker (several servers may share a
// PostgreSQL database); ok is false while another holds it.
func (s *Service) lease(ctx context.Context) (ok bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.AdvisoryLock(ctx, "report.lease"); err != nil {
			return err
		}
		cur, err := tx.ReportStateValue(ctx, stateLease)
		if err != nil {
			return err
		}
		now := s.now()
		holder, until, found := strings.Cut(cur, " ")
		sec, _ := strconv.ParseInt(until, 10, 64)
		if found && holder != s.id && now.Unix() < sec {
			return nil
		}
		ok = true
		if found && holder == s.id && now.Add(leaseRenew).Unix() < sec {
			// Held for long enough yet: no write. Every commit makes
			// SQLite's readers drop their page caches, so renewing on
			// every round (2 s) cost the API's reads their cache.
			return nil
		}
		return tx.SetReportState(ctx, stateLease, s.id+" "+strconv.FormatInt(now.Add(leaseFor).Unix(), 10))
	})
	return ok, err
}

// workState is report_state as the worker reads it.
type workState struct {
	timeZone string // the business time zone
	zone     string // the aggregates' zone
	builtAt  time.Time
	rebuild  bool
	changed  time.Time
}

func (w workState) needsRebuild() bool {
	return w.rebuild || w.builtAt.IsZero() || w.zone != w.timeZone
}

// state reads report_state, setting the business time zone the first
// time there is an administrator: their time zone (UTC until then).
func (s *Service) state(ctx context.Context) (workState, error) {
	var w workState
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		m, err := tx.ReportState(ctx)
		if err != nil {
			return err
		}
		w.timeZone, w.zone = m[stateTimeZone], m[stateZone]
		w.builtAt, _ = time.Parse(time.RFC3339Nano, m[stateBuiltAt])
		w.changed, _ = time.Parse(time.RFC3339Nano, m[stateChanged])
		w.rebuild = m[stateRebuild] == "1"
		if _, err := time.LoadLocation(w.timeZone); w.timeZone != "" && err == nil {
			return nil
		}
		z, err := tx.FirstAdminTimeZone(ctx)
		if err != nil {
			return err
		}
		if z == "" {
			// No administrator yet (a new installation before setup): UTC
			// for now, and the first administrator's zone once there is one.
			w.timeZone = "UTC"
			return nil
		}
		if _, err := time.LoadLocation(z); err != nil {
			z = "UTC"
		}
		w.timeZone = z
		return tx.SetReportState(ctx, stateTimeZone, z)
	})
	return w, err
}

// rebuild recomputes every aggregate from the orders in zone. It clears
// them first and marks itself in progress (built_at empty), so a crash
// half way leads to another rebuild; marks written meanwhile are handled
// after it.
func (s *Service) rebuild(ctx context.Context, zone string) error {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return fmt.Errorf("report: time zone %q: %w", zone, err)
	}
	started := s.now()
	s.log.Info("report: rebuilding the aggregates", "time_zone", zone)
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.ClearReports(ctx); err != nil {
			return err
		}
		for k, v := range map[string]string{stateZone: zone, stateBuiltAt: "", stateRebuild: ""} {
			if err := tx.SetReportState(ctx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b := newBuilder(loc)
	var maxID int64
	if err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		maxID, err = tx.MaxOrderContactID(ctx)
		return err
	}); err != nil {
		return err
	}
	// Orders of nobody (contact 0) count in the days only.
	for lo := int64(-1); lo < maxID; lo += rebuildIDChunk {
		hi := min(lo+rebuildIDChunk, maxID)
		var customers []*store.ReportCustomer
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var cur int64 = -1
			var facts []store.OrderFact
			flush := func() {
				if cur > 0 && len(facts) > 0 {
					if c := customerOf(cur, facts, loc); len(c.MonthsG) > 0 {
						b.addCustomer(c, 1)
						customers = append(customers, c)
					}
				}
				facts = facts[:0]
			}
			err := tx.StreamOrderFacts(ctx, lo, hi, func(f *store.OrderFact) error {
				b.addOrder(f)
				if f.ContactID != cur {
					flush()
					cur = f.ContactID
				}
				facts = append(facts, *f)
				return nil
			})
			flush()
			return err
		})
		if err != nil {
			return err
		}
		if err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.InsertReportCustomers(ctx, customers) }); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		return tx.StreamReturnFacts(ctx, func(at time.Time, currency, reason string, amount int64) error {
			b.addReturn(DayOf(at, loc), currency, reason, amount)
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.ReplaceReportDays(ctx, nil, b.dayRows()); err != nil {
			return err
		}
		if err := tx.ReplaceReturnDays(ctx, nil, b.returnRows()); err != nil {
			return err
		}
		if err := tx.AddCohortCells(ctx, b.cellRows()); err != nil {
			return err
		}
		if err := listCurrencies(ctx, tx); err != nil {
			return err
		}
		now := s.now().UTC().Format(time.RFC3339Nano)
		if err := tx.SetReportState(ctx, stateBuiltAt, now); err != nil {
			return err
		}
		return tx.SetReportState(ctx, stateChanged, now)
	})
	if err != nil {
		return err
	}
	s.log.Info("report: aggregates rebuilt", "time_zone", zone, "orders", b.orders, "customers", b.customers, "took", s.now().Sub(started).Round(time.Millisecond))
	return nil
}

// listCurrencies records the currencies of report_days, for the pages.
func listCurrencies(ctx context.Context, tx *store.Tx) error {
	cur, err := tx.ReportCurrencies(ctx)
	if err != nil {
		return err
	}
	return tx.SetReportState(ctx, stateCurrencies, strings.Join(cur, ","))
}

// builder accumulates what a rebuild reads.
type builder struct {
	loc       *time.Location
	days      map[store.ReportDay]*store.ReportDay // key: Day, Currency, Channel only
	returns   map[store.ReportReturnDay]*store.ReportReturnDay
	cells     map[store.CohortCell]int64 // key without Customers
	orders    int64
	customers int64
}

func newBuilder(loc *time.Location) *builder {
	return &builder{loc: loc, days: map[store.ReportDay]*store.ReportDay{}, returns: map[store.ReportReturnDay]*store.ReportReturnDay{},
		cells: map[store.CohortCell]int64{}}
}

func (b *builder) addOrder(f *store.OrderFact) {
	b.orders++
	k := store.ReportDay{Day: int(DayOf(f.PlacedAt, b.loc)), Currency: f.Currency, Channel: f.Channel}
	d := b.days[k]
	if d == nil {
		d = &store.ReportDay{Day: k.Day, Currency: k.Currency, Channel: k.Channel}
		b.days[k] = d
	}
	d.Orders++
	d.Gross += f.Total
	d.Returned += f.ReturnedTotal
	d.Discount += f.Discount
}

func (b *builder) addReturn(day Day, currency, reason string, amount int64) {
	k := store.ReportReturnDay{Day: int(day), Currency: currency, Reason: reason}
	d := b.returns[k]
	if d == nil {
		d = &store.ReportReturnDay{Day: k.Day, Currency: currency, Reason: reason}
		b.returns[k] = d
	}
	d.Returns++
	d.Amount += amount
}

func (b *builder) addCustomer(c *store.ReportCustomer, sign int64) {
	b.customers += sign
	for _, cell := range cohortCells(c) {
		b.cells[cell] += sign
	}
}

func (b *builder) dayRows() []store.ReportDay {
	out := make([]store.ReportDay, 0, len(b.days))
	for _, d := range b.days {
		out = append(out, *d)
	}
	return out
}

func (b *builder) returnRows() []store.ReportReturnDay {
	out := make([]store.ReportReturnDay, 0, len(b.returns))
	for _, d := range b.returns {
		out = append(out, *d)
	}
	return out
}

func (b *builder) cellRows() []store.CohortCell {
	out := make([]store.CohortCell, 0, len(b.cells))
	for k, n := range b.cells {
		if n != 0 {
			k.Customers = n
			out = append(out, k)
		}
	}
	return out
}

// customerOf computes a customer's months (both calendars) and net spend
// per currency from their orders. Only orders of positive value are
// purchases (a free sample or a zero-price correction is not): a customer
// with none has no months and no row.
func customerOf(id int64, facts []store.OrderFact, loc *time.Location) *store.ReportCustomer {
	c := &store.ReportCustomer{ContactID: id}
	for _, f := range facts {
		if f.Total <= 0 {
			continue
		}
		d := DayOf(f.PlacedAt, loc)
		c.MonthsG = append(c.MonthsG, int(MonthOf(d, Gregorian)))
		c.MonthsJ = append(c.MonthsJ, int(MonthOf(d, Jalali)))
		i := slices.IndexFunc(c.Net, func(n store.CustomerNet) bool { return n.Currency == f.Currency })
		if i < 0 {
			c.Net = append(c.Net, store.CustomerNet{Currency: f.Currency})
			i = len(c.Net) - 1
		}
		c.Net[i].Orders++
		c.Net[i].Net += f.Total - f.ReturnedTotal
	}
	slices.Sort(c.MonthsG)
	c.MonthsG = slices.Compact(c.MonthsG)
	slices.Sort(c.MonthsJ)
	c.MonthsJ = slices.Compact(c.MonthsJ)
	return c
}

// cohortCells returns the cells a customer counts in: for each calendar,
// (first month, m) for every month m with an order.
func cohortCells(c *store.ReportCustomer) []store.CohortCell {
	if c == nil {
		return nil
	}
	out := make([]store.CohortCell, 0, len(c.MonthsG)+len(c.MonthsJ))
	for _, cal := range []struct {
		name   string
		months []int
	}{{Gregorian, c.MonthsG}, {Jalali, c.MonthsJ}} {
		if len(cal.months) == 0 {
			continue
		}
		first := cal.months[0]
		for _, m := range cal.months {
			out = append(out, store.CohortCell{Calendar: cal.name, Cohort: first, Month: m})
		}
	}
	return out
}

// handleMarks recomputes every marked day and customer, a batch per
// transaction, until none is due.
func (s *Service) handleMarks(ctx context.Context) error {
	for {
		n, err := s.handleBatch(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// handleBatch handles one batch of each kind of mark and reports how many
// it handled. Each mark is deleted before the orders are read, in the
// same transaction: an order committed meanwhile marks again and is seen
// next time.
func (s *Service) handleBatch(ctx context.Context) (int, error) {
	handled := 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		zone, err := tx.ReportStateValue(ctx, stateZone)
		if err != nil {
			return err
		}
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" {
			return errors.New("report: the aggregates have no time zone")
		}
		// Days of orders.
		ids, err := tx.DueReportMarks(ctx, markDay, OrdersSubscriber, dayBatch)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := tx.UnmarkReports(ctx, markDay, ids); err != nil {
				return err
			}
			days := make([]int, len(ids))
			var rows []store.ReportDay
			for i, id := range ids {
				d := Day(id)
				days[i] = int(d)
				if !d.Valid() {
					continue
				}
				sums, err := tx.SumOrderDays(ctx, d.Start(loc), d.AddDays(1).Start(loc))
				if err != nil {
					return err
				}
				for _, r := range sums {
					r.Day = int(d)
					rows = append(rows, r)
				}
			}
			if err := tx.ReplaceReportDays(ctx, days, rows); err != nil {
				return err
			}
			if err := listCurrencies(ctx, tx); err != nil {
				return err
			}
			handled += len(ids)
		}
		// Days of returns.
		ids, err = tx.DueReportMarks(ctx, markReturnDay, OrdersSubscriber, dayBatch)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := tx.UnmarkReports(ctx, markReturnDay, ids); err != nil {
				return err
			}
			days := make([]int, len(ids))
			var rows []store.ReportReturnDay
			for i, id := range ids {
				d := Day(id)
				days[i] = int(d)
				if !d.Valid() {
					continue
				}
				sums, err := tx.SumReturnDays(ctx, d.Start(loc), d.AddDays(1).Start(loc))
				if err != nil {
					return err
				}
				for _, r := range sums {
					r.Day = int(d)
					rows = append(rows, r)
				}
			}
			if err := tx.ReplaceReturnDays(ctx, days, rows); err != nil {
				return err
			}
			handled += len(ids)
		}
		// Customers.
		ids, err = tx.DueReportMarks(ctx, markContact, OrdersSubscriber, contactBatch)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := tx.UnmarkReports(ctx, markContact, ids); err != nil {
				return err
			}
			if err := s.recomputeCustomers(ctx, tx, ids, loc); err != nil {
				return err
			}
			handled += len(ids)
		}
		if handled > 0 {
			return tx.SetReportState(ctx, stateChanged, s.now().UTC().Format(time.RFC3339Nano))
		}
		return nil
	})
	return handled, err
}

// recomputeCustomers recomputes the customers ids from their orders and
// applies the difference to the cohort counts.
func (s *Service) recomputeCustomers(ctx context.Context, tx *store.Tx, ids []int64, loc *time.Location) error {
	facts, err := tx.ContactOrderFacts(ctx, ids)
	if err != nil {
		return err
	}
	old, err := tx.ReportCustomers(ctx, ids)
	if err != nil {
		return err
	}
	delta := map[store.CohortCell]int64{}
	var now []*store.ReportCustomer
	for _, id := range ids {
		var c *store.ReportCustomer
		if fs := facts[id]; len(fs) > 0 {
			c = customerOf(id, fs, loc)
			now = append(now, c)
		}
		for _, cell := range cohortCells(old[id]) {
			delta[cell]--
		}
		for _, cell := range cohortCells(c) {
			delta[cell]++
		}
	}
	cells := make([]store.CohortCell, 0, len(delta))
	for k, n := range delta {
		if n != 0 {
			k.Customers = n
			cells = append(cells, k)
		}
	}
	if err := tx.SaveReportCustomers(ctx, ids, now); err != nil {
		return err
	}
	return tx.AddCohortCells(ctx, cells)
}

// Status says how current the aggregates are.
type Status struct {
	TimeZone   string    `json:"time_zone"`  // the business time zone
	Zone       string    `json:"zone"`       // the zone of the aggregates
	BuiltAt    time.Time `json:"built_at"`   // zero while (re)building
	UpdatedAt  time.Time `json:"updated_at"` // when they last changed
	Pending    int       `json:"pending"`    // marks waiting (at most 1001 counted)
	Rebuilding bool      `json:"rebuilding"` // a rebuild is due or running
}

// Status reports the state of the aggregates (anyone signed in may know
// it: it holds no figures).
func (s *Service) Status(ctx context.Context) (*Status, error) {
	var out Status
	err := s.read(ctx, func(tx *store.Tx) error {
		m, err := tx.ReportState(ctx)
		if err != nil {
			return err
		}
		out.TimeZone, out.Zone = m[stateTimeZone], m[stateZone]
		if out.TimeZone == "" {
			out.TimeZone = "UTC" // until there is an administrator (see state)
		}
		out.BuiltAt, _ = time.Parse(time.RFC3339Nano, m[stateBuiltAt])
		out.UpdatedAt, _ = time.Parse(time.RFC3339Nano, m[stateChanged])
		out.Rebuilding = out.BuiltAt.IsZero() || m[stateRebuild] == "1" || out.Zone != out.TimeZone
		out.Pending, err = tx.CountReportMarks(ctx, 1000)
		return err
	})
	return &out, err
}

// SetTimeZone changes the business time zone; the worker then rebuilds
// the aggregates in it. It needs the settings permission.
func (s *Service) SetTimeZone(ctx context.Context, zone string) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	zone = strings.TrimSpace(zone)
	if _, err := time.LoadLocation(zone); zone == "" || err != nil {
		var v crm.Validation
		v.Add("time_zone", "Unknown time zone %q (use an IANA name such as Asia/Tehran).", zone)
		return v.Err()
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.ReportStateValue(ctx, stateTimeZone)
		if err != nil || old == zone {
			return err
		}
		if err := tx.SetReportState(ctx, stateTimeZone, zone); err != nil {
			return err
		}
		return tx.Audit(ctx, "reports.time_zone", "reports", 0, map[string]string{"time_zone": old}, map[string]string{"time_zone": zone})
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// Rebuild asks the worker to rebuild every aggregate from the orders.
func (s *Service) Rebuild(ctx context.Context) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetReportState(ctx, stateRebuild, "1"); err != nil {
			return err
		}
		return tx.Audit(ctx, "reports.rebuild", "reports", 0, nil, nil)
	})
	if err == nil {
		s.Wake()
	}
	return err
}
