package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Importing order history from CSV (pivand import orders). The file is
// read as a stream: the rows of one order (the same order id) must follow
// each other, so an order is complete when the next one starts and
// memory holds one batch of orders, whatever the file's size. Each batch
// commits with the file position of the first row after it, so an
// interrupted import resumes exactly there; and every order carries the
// import's source and the file's order id as its external id, so even a
// batch replayed from an older position creates nothing twice.

// Cancellation handling for order ids with the cancellation prefix
// (ERP exports such as the UCI Online Retail data set write a cancelled
// invoice as C536379 with negative quantities, without naming the
// invoice it cancels).
const (
	CancelSkip   = "skip"   // count the rows as skipped (the default)
	CancelReturn = "return" // return the customer's most recent earlier purchases of the same SKUs
)

// ImportOptions say how an orders file is read. They are stored with the
// import, so a resumed import reads the rest of the file the same way.
type ImportOptions struct {
	Source        string   `json:"source"`                  // the orders' source; their external ids are the file's order ids. Default "import"
	Currency      string   `json:"currency,omitempty"`      // of orders without a currency column
	Channel       string   `json:"channel,omitempty"`       // of orders without a channel column; in_store by default
	Region        string   `json:"region,omitempty"`        // of phone numbers without a country code; IR by default
	Calendar      string   `json:"calendar,omitempty"`      // of dates: gregorian, jalali, or "" (the year decides)
	DateOrder     string   `json:"date_order,omitempty"`    // mdy or dmy, for dates whose year comes last
	TimeZone      string   `json:"time_zone,omitempty"`     // of times without an offset; UTC by default
	DecimalComma  bool     `json:"decimal_comma,omitempty"` // amounts are written 2,55
	Cancellations string   `json:"cancellations,omitempty"` // skip (default) or return
	CancelPrefix  string   `json:"cancel_prefix,omitempty"` // order ids starting with it are cancellations; default "C"
	Map           []string `json:"map,omitempty"`           // COLUMN=FIELD changes to the detected mapping
	Mapping       Mapping  `json:"mapping,omitempty"`       // the mapping in use (set by StartImport)
	DryRun        bool     `json:"dry_run,omitempty"`       // check every row, write nothing
	BatchOrders   int      `json:"-"`                       // orders per transaction; 500 by default
}

func (o *ImportOptions) defaults() error {
	var v crm.Validation
	o.Source = strings.TrimSpace(o.Source)
	if o.Source == "" {
		o.Source = "import"
	}
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	if o.Currency != "" && !ValidCurrency(o.Currency) {
		v.Add("currency", "%q is not an ISO 4217 currency code.", o.Currency)
	}
	if o.Channel != "" && !slices.Contains(crm.OrderChannels, o.Channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.OrderChannels, ", "))
	}
	if o.Region == "" {
		o.Region = "IR"
	}
	o.Region = strings.ToUpper(o.Region)
	switch o.Calendar {
	case "", "gregorian", "jalali":
	default:
		v.Add("calendar", "Use gregorian or jalali.")
	}
	switch o.DateOrder {
	case "", DateOrderMDY, DateOrderDMY:
	default:
		v.Add("date_order", "Use mdy or dmy.")
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil {
		v.Add("time_zone", "%q is not a time zone (use UTC, Asia/Tehran, Europe/London …).", o.TimeZone)
	}
	switch o.Cancellations {
	case "":
		o.Cancellations = CancelSkip
	case CancelSkip, CancelReturn:
	default:
		v.Add("cancellations", "Use skip or return.")
	}
	if o.CancelPrefix == "" {
		o.CancelPrefix = "C"
	}
	if o.BatchOrders <= 0 {
		o.BatchOrders = 500
	}
	return v.Err()
}

// ImportProblem is a problem with one row: its physical line (the header
// is line 1), the column (a header, or an option such as --currency) and
// what is wrong.
type ImportProblem = store.OrderImportProblem

// FormatProblem words a problem for a terminal: "line 7, column Quantity: …".
func FormatProblem(p ImportProblem) string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return fmt.Sprintf("line %d, column %s: %s", p.Line, p.Field, p.Message)
}

// Import is an import of orders from a CSV file and its progress.
type Import struct {
	store.OrderImport
	Opts     ImportOptions
	Header   []string
	Problems []ImportProblem // a dry run's problems (at most store.MaxOrderImportProblems); a real import keeps them in the database
	// ByColumn counts this run's problems per column (all of them, not
	// only those kept), for a summary.
	ByColumn map[string]int64
}

// Percent is how far the import has read its file.
func (im *Import) Percent() float64 {
	if im.FileSize <= 0 {
		return 100
	}
	return 100 * float64(im.Offset) / float64(im.FileSize)
}

// StartImport reads the header of the file at path, works out the
// mapping (detected, changed by opts.Map) and checks it, and records a new
// import (a dry run records nothing). Needs orders:write.
func (s *Service) StartImport(ctx context.Context, path string, opts ImportOptions) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, true); err != nil {
		return nil, err
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "Cannot read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	rd, err := NewReader(f)
	if err != nil {
		return nil, err
	}
	m := DetectMapping(rd.Header())
	if err := m.Apply(rd.Header(), opts.Map); err != nil {
		return nil, crm.Errorf(crm.EINVALID, "--map: %v", err)
	}
	if err := m.Check(rd.Header()); err != nil {
		return nil, err
	}
	if !m.Has(FieldCurrency) && opts.Currency == "" {
		return nil, crm.Errorf(crm.EINVALID, "The file has no currency column: say which currency its amounts are in (--currency IRR, USD, GBP …).")
	}
	opts.Mapping = m
	im := &Import{OrderImport: store.OrderImport{FilePath: abs, FileSize: fi.Size(), Source: opts.Source, Status: store.OrderImportRunning,
		Offset: rd.Offset(), Line: rd.Line()}, Opts: opts, Header: rd.Header()}
	if opts.DryRun {
		return im, nil
	}
	b, _ := json.Marshal(opts)
	im.Options = string(b)
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertOrderImport(ctx, &im.OrderImport); err != nil {
			return err
		}
		return tx.Audit(ctx, "order.import.start", "order_import", im.ID, nil, map[string]any{"file": abs, "size": fi.Size(), "options": opts})
	})
	if err != nil {
		return nil, err
	}
	return im, nil
}

// FindImport returns a recorded import with its options. Needs
// orders:write.
func (s *Service) FindImport(ctx context.Context, id int64) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, false); err != nil {
		return nil, err
	}
	var im *Import
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.FindOrderImport(ctx, id)
		if err != nil {
			return err
		}
		im, err = loadImport(r)
		return err
	})
	return im, err
}

// FindUnfinishedImport returns the newest unfinished import of the file
// at path (of its current size), ENOTFOUND when there is none.
func (s *Service) FindUnfinishedImport(ctx context.Context, path string) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, false); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "Cannot read %s: %v", path, errors.Unwrap(err))
	}
	var im *Import
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.FindRunningOrderImport(ctx, abs, fi.Size())
		if err != nil {
			return err
		}
		im, err = loadImport(r)
		return err
	})
	return im, err
}

func loadImport(r *store.OrderImport) (*Import, error) {
	im := &Import{OrderImport: *r}
	if err := json.Unmarshal([]byte(r.Options), &im.Opts); err != nil {
		return nil, fmt.Errorf("order: import %d: options: %w", r.ID, err)
	}
	return im, im.Opts.defaults()
}

// ImportProblems lists the first limit problems of a recorded import, by
// line. Needs orders:write.
func (s *Service) ImportProblems(ctx context.Context, id int64, limit int) ([]ImportProblem, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, false); err != nil {
		return nil, err
	}
	var out []ImportProblem
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.OrderImportProblems(ctx, id, limit)
		return err
	})
	return out, err
}

// RunImport reads the import's file from where it stopped to its end,
// batch by batch, calling progress after each batch. A dry run checks
// every row (and whether its order is already stored) and writes
// nothing; its problems are kept in im.Problems. A cancelled ctx stops at
// a batch boundary, leaving the import resumable. Needs orders:write.
func (s *Service) RunImport(ctx context.Context, im *Import, progress func(*Import)) error {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, true); err != nil {
		return err
	}
	if im.Status != store.OrderImportRunning {
		return crm.Errorf(crm.ECONFLICT, "Import %d has finished (%s).", im.ID, im.Status)
	}
	s.prepareStatements(ctx)
	f, err := os.Open(im.FilePath)
	if err != nil {
		return crm.Errorf(crm.EINVALID, "Cannot read %s: %v", im.FilePath, errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != im.FileSize {
		return crm.Errorf(crm.ECONFLICT, "%s has changed since import %d started (its size was %d bytes); start a new import.", im.FilePath, im.ID, im.FileSize)
	}
	rd, err := NewReaderAt(f, im.Offset, im.Line)
	if err != nil {
		return err
	}
	if len(rd.Header()) != len(im.Opts.Mapping) || (im.Header != nil && !slices.Equal(im.Header, rd.Header())) {
		return crm.Errorf(crm.ECONFLICT, "%s has a different header since import %d started; start a new import.", im.FilePath, im.ID)
	}
	im.Header = rd.Header()
	run := &importRun{s: s, im: im, rd: rd, loc: time.UTC}
	if im.Opts.TimeZone != "" {
		run.loc, _ = time.LoadLocation(im.Opts.TimeZone)
	}
	err = run.loop(ctx, progress)
	if err != nil && ctx.Err() == nil && !im.Opts.DryRun {
		// A failure that is not an interruption ends the import; the rows
		// before it stay imported.
		im.Status, im.Message = store.OrderImportFailed, crm.ErrorMessage(err)
		if crm.ErrorCode(err) == crm.EINTERNAL {
			im.Message = err.Error()
		}
		_ = s.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.SaveOrderImport(ctx, &im.OrderImport) })
	}
	return err
}

// importRun is one run of an import over its file.
type importRun struct {
	s   *Service
	im  *Import
	rd  *Reader
	loc *time.Location

	pending *group   // the order being read
	batch   []*group // complete orders not yet written
	rows    int      // rows in batch
}

// group is the rows of one order.
type group struct {
	id       string
	first    Record
	rows     []Record // at most MaxLines+1 kept
	extra    int      // rows beyond those kept
	problems []ImportProblem
	cancel   bool
	p        *prepared
	returns  []cancelLine
}

// batchRows bounds the rows of one batch, whatever the orders' sizes.
const batchRows = 20000

func (r *importRun) loop(ctx context.Context, progress func(*Import)) error {
	om := r.im.Opts.Mapping
	idCol := om.Column(FieldOrderID)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("order: read %s: %w", r.im.FilePath, err)
		}
		id := ""
		if rec.Err == nil && idCol < len(rec.Cells) {
			id = rec.Cells[idCol]
		}
		if r.pending != nil && (rec.Err != nil || id == "" || id != r.pending.id) {
			if err := r.finish(ctx, progress, rec); err != nil {
				return err
			}
		}
		switch {
		case rec.Err != nil:
			g := &group{first: rec}
			g.problems = append(g.problems, ImportProblem{Line: rec.Line, Message: rec.Err.Error()})
			r.add(g)
		case id == "":
			g := &group{first: rec}
			g.problems = append(g.problems, ImportProblem{Line: rec.Line, Field: r.im.Header[idCol], Message: "The order id is empty."})
			r.add(g)
		case r.pending == nil:
			r.pending = &group{id: id, first: rec, rows: []Record{rec}}
		case len(r.pending.rows) <= MaxLines:
			r.pending.rows = append(r.pending.rows, rec)
		default:
			r.pending.extra++
		}
	}
	if r.pending != nil {
		r.add(r.pending)
		r.pending = nil
	}
	end := Record{Start: r.rd.Offset(), StartLine: r.rd.Line()}
	if err := r.flush(ctx, end, true); err != nil {
		return err
	}
	if progress != nil {
		progress(r.im)
	}
	return nil
}

// finish ends the pending order (next is the record after it) and writes
// the batch when it is full.
func (r *importRun) finish(ctx context.Context, progress func(*Import), next Record) error {
	r.add(r.pending)
	r.pending = nil
	if len(r.batch) < r.im.Opts.BatchOrders && r.rows < batchRows {
		return nil
	}
	if err := r.flush(ctx, next, false); err != nil {
		return err
	}
	if progress != nil {
		progress(r.im)
	}
	return nil
}

func (r *importRun) add(g *group) {
	r.batch = append(r.batch, g)
	r.rows += max(len(g.rows), 1) + g.extra
}

// flush converts and writes the batch; next is the first record after
// it, where a resume starts.
func (r *importRun) flush(ctx context.Context, next Record, last bool) error {
	im := r.im
	now := r.s.db.Now().UTC().Truncate(time.Microsecond)
	var rows, skipped int64
	for _, g := range r.batch {
		rows += int64(max(len(g.rows), 1) + g.extra)
		if g.id != "" && strings.HasPrefix(g.id, im.Opts.CancelPrefix) && len(g.problems) == 0 {
			g.cancel = true
			if im.Opts.Cancellations == CancelSkip {
				skipped += int64(len(g.rows) + g.extra)
				continue
			}
			r.cancellation(g)
			continue
		}
		if len(g.problems) == 0 {
			r.convert(ctx, g, now)
		}
	}
	counts := struct{ created, old, returns, errors int64 }{}
	var (
		problems []ImportProblem
		upd      store.OrderImport
	)
	work := func(tx *store.Tx) error {
		counts.created, counts.old, counts.returns, counts.errors = 0, 0, 0, 0
		problems = problems[:0]
		for _, g := range r.batch {
			if len(g.problems) == 0 && g.cancel && im.Opts.Cancellations == CancelReturn {
				n, ps, err := r.writeReturns(ctx, tx, g)
				if err != nil {
					return err
				}
				counts.returns += n
				if len(ps) > 0 {
					counts.errors++
				}
				problems = append(problems, ps...)
				continue
			}
			if len(g.problems) > 0 || g.p == nil {
				if len(g.problems) > 0 {
					counts.errors++
					problems = append(problems, g.problems...)
				}
				continue
			}
			created, err := r.writeOrder(ctx, tx, g)
			if err != nil {
				if code := crm.ErrorCode(err); code == crm.EINVALID || code == crm.ECONFLICT || code == crm.ENOTFOUND {
					counts.errors++
					problems = append(problems, r.problemsOf(g, err)...)
					continue
				}
				return err
			}
			if created {
				counts.created++
			} else {
				counts.old++
			}
		}
		upd = im.OrderImport
		upd.Offset, upd.Line = next.Start, next.StartLine
		upd.Rows += rows
		upd.OrdersNew += counts.created
		upd.OrdersOld += counts.old
		upd.ReturnsNew += counts.returns
		upd.Skipped += skipped
		upd.Errors += counts.errors
		if last {
			upd.Status = store.OrderImportDone
		}
		if im.Opts.DryRun {
			return nil
		}
		if err := tx.SaveOrderImport(ctx, &upd); err != nil {
			return err
		}
		if err := tx.AddOrderImportProblems(ctx, im.ID, problems); err != nil {
			return err
		}
		return tx.Audit(ctx, "order.import", "order_import", im.ID, nil, map[string]any{
			"lines": [2]int64{r.batch0Line(), next.StartLine - 1}, "created": counts.created, "already_stored": counts.old,
			"returns": counts.returns, "skipped": skipped, "errors": counts.errors})
	}
	var err error
	if im.Opts.DryRun {
		err = r.s.db.Read(ctx, work)
	} else {
		err = r.s.db.Write(ctx, work)
	}
	if err != nil {
		return err
	}
	im.OrderImport = upd
	if im.ByColumn == nil {
		im.ByColumn = map[string]int64{}
	}
	for _, p := range problems {
		im.ByColumn[p.Field]++
	}
	if im.Opts.DryRun {
		for _, p := range problems {
			if len(im.Problems) < store.MaxOrderImportProblems {
				im.Problems = append(im.Problems, p)
			}
		}
	}
	r.batch, r.rows = r.batch[:0], 0
	return nil
}

func (r *importRun) batch0Line() int64 {
	if len(r.batch) == 0 {
		return 0
	}
	return r.batch[0].first.Line
}

// writeOrder stores one order of the file (or, in a dry run, says
// whether it would be created: created false means it is stored already).
func (r *importRun) writeOrder(ctx context.Context, tx *store.Tx, g *group) (bool, error) {
	if !r.im.Opts.DryRun {
		_, created, err := r.s.createTx(ctx, tx, g.p, false, true)
		if errors.Is(err, errRace) {
			return false, crm.Errorf(crm.EUNAVAILABLE, "Order %s was stored by someone else during the import; run the import again.", g.id)
		}
		return created, err
	}
	old, fp, err := tx.FindOrderByExternalID(ctx, g.p.order.Source, g.p.order.ExternalID)
	switch {
	case crm.ErrorCode(err) == crm.ENOTFOUND:
		return true, nil
	case err != nil:
		return false, err
	case fp != g.p.fingerprint:
		return false, conflict("external_id", "Order %q from %s was already stored (order %d) with different content.", g.id, g.p.order.Source, old.ID)
	}
	return false, nil
}

// cell returns the cell of field in rec, "" when the file has no such
// column or the row is short.
func (r *importRun) cell(rec Record, field string) string {
	i := r.im.Opts.Mapping.Column(field)
	if i < 0 || i >= len(rec.Cells) {
		return ""
	}
	return rec.Cells[i]
}

// column names the column of field for problems.
func (r *importRun) column(field string) string {
	if i := r.im.Opts.Mapping.Column(field); i >= 0 {
		return r.im.Header[i]
	}
	switch field {
	case FieldCurrency:
		return "--currency"
	case FieldChannel:
		return "--channel"
	}
	return field
}

// orderFields are the fields that belong to the order, not to a line:
// every row of an order must agree on them. The date is not among them:
// exports that stamp each line (a till's scan time) may cross a minute
// within one order; the order's time is its first row's.
var orderFields = []string{FieldCustomer, FieldCustomerEmail, FieldCustomerPhone, FieldMemberNumber, FieldCustomerID, FieldCustomerName,
	FieldFirstName, FieldLastName, FieldAmount, FieldCurrency, FieldChannel, FieldStore, FieldCoupon, FieldDiscount}

// convert turns the rows of an order into a prepared order, or problems.
func (r *importRun) convert(ctx context.Context, g *group, now time.Time) {
	opts := r.im.Opts
	m := opts.Mapping
	first := g.first
	bad := func(rec Record, field, format string, args ...any) {
		g.problems = append(g.problems, ImportProblem{Line: rec.Line, Field: r.column(field), Message: fmt.Sprintf(format, args...)})
	}
	if len(first.Cells) != len(m) {
		bad(first, "", "The row has %d cells; the header has %d.", len(first.Cells), len(m))
	}
	if g.extra > 0 {
		bad(first, FieldOrderID, "Order %s has %d rows; an order has at most %d lines.", g.id, len(g.rows)+g.extra, MaxLines)
	}
	for _, rec := range g.rows[1:] {
		if len(rec.Cells) != len(m) {
			bad(rec, "", "The row has %d cells; the header has %d.", len(rec.Cells), len(m))
		}
		for _, f := range orderFields {
			if v := r.cell(rec, f); v != r.cell(first, f) && !(f == FieldAmount && v == "") {
				bad(rec, f, "%q differs from line %d of the same order (%q); the rows of one order must agree on it.", v, first.Line, r.cell(first, f))
			}
		}
	}
	in := Input{Source: opts.Source, ExternalID: g.id, Channel: opts.Channel, Store: r.cell(first, FieldStore), CouponCode: r.cell(first, FieldCoupon)}
	if c := r.cell(first, FieldChannel); c != "" {
		in.Channel = strings.ToLower(c)
	}
	in.Currency = opts.Currency
	if c := r.cell(first, FieldCurrency); c != "" {
		in.Currency = strings.ToUpper(c)
	}
	if !ValidCurrency(in.Currency) {
		bad(first, FieldCurrency, "%q is not an ISO 4217 currency code.", in.Currency)
		return
	}
	// Who bought.
	ref := RecogniseCustomer(r.cell(first, FieldCustomer), opts.Region)
	if v := r.cell(first, FieldCustomerEmail); v != "" {
		ref.Email = v
	}
	if v := r.cell(first, FieldCustomerPhone); v != "" {
		ref.Phone = v
	}
	if v := r.cell(first, FieldMemberNumber); v != "" {
		ref.MemberNumber = cleanNumber(v)
	}
	if v := r.cell(first, FieldCustomerID); v != "" {
		ref.ExternalID = cleanNumber(v)
	}
	ref.FirstName, ref.LastName = r.cell(first, FieldFirstName), r.cell(first, FieldLastName)
	if n := r.cell(first, FieldCustomerName); n != "" && ref.FirstName == "" && ref.LastName == "" {
		ref.FirstName, ref.LastName, _ = strings.Cut(n, " ")
		ref.LastName = strings.TrimSpace(ref.LastName)
	}
	in.Customer = ref
	if ref.IsZero() {
		col := FieldCustomer
		for _, f := range []string{FieldCustomer, FieldCustomerPhone, FieldCustomerEmail, FieldMemberNumber, FieldCustomerID} {
			if m.Has(f) {
				col = f
				break
			}
		}
		bad(first, col, "Order %s names no customer.", g.id)
	}
	if t, err := ParseWhen(r.cell(first, FieldDate), opts.Calendar, opts.DateOrder, r.loc); err != nil {
		bad(first, FieldDate, "%v", err)
	} else {
		in.PlacedAt = &t
	}
	if v := r.cell(first, FieldDiscount); v != "" {
		if n, err := ParseMoney(v, in.Currency, opts.DecimalComma); err != nil {
			bad(first, FieldDiscount, "%v", err)
		} else {
			in.Discount = n
		}
	}
	if v := r.cell(first, FieldAmount); v != "" {
		if n, err := ParseMoney(v, in.Currency, opts.DecimalComma); err != nil {
			bad(first, FieldAmount, "%v", err)
		} else {
			in.Total = &n
		}
	} else if !m.Lines() {
		bad(first, FieldAmount, "The amount is empty.")
	}
	if m.Lines() {
		for _, rec := range g.rows {
			l := LineInput{SKU: r.cell(rec, FieldSKU), Name: r.cell(rec, FieldName), Category: r.cell(rec, FieldCategory)}
			if n, err := ParseWhole(r.cell(rec, FieldQuantity)); err != nil {
				bad(rec, FieldQuantity, "%v", err)
			} else {
				l.Quantity = n
			}
			if n, err := ParseMoney(r.cell(rec, FieldUnitPrice), in.Currency, opts.DecimalComma); err != nil {
				bad(rec, FieldUnitPrice, "%v", err)
			} else {
				l.UnitPrice = n
			}
			if v := r.cell(rec, FieldLineDiscount); v != "" {
				if n, err := ParseMoney(v, in.Currency, opts.DecimalComma); err != nil {
					bad(rec, FieldLineDiscount, "%v", err)
				} else {
					l.Discount = n
				}
			}
			in.Lines = append(in.Lines, l)
		}
	}
	if len(g.problems) > 0 {
		return
	}
	p, err := prepare(ctx, in, now)
	if err != nil {
		g.problems = append(g.problems, r.problemsOf(g, err)...)
		return
	}
	g.p = p
}

// problemsOf maps the field errors of an order (lines[2].quantity,
// customer.phone, placed_at …) to the rows and columns of the file.
func (r *importRun) problemsOf(g *group, err error) []ImportProblem {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return []ImportProblem{{Line: g.first.Line, Field: r.column(FieldOrderID), Message: crm.ErrorMessage(err)}}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []ImportProblem
	for _, k := range keys {
		rec, field := g.first, ""
		if rest, ok := strings.CutPrefix(k, "lines["); ok {
			i, sub, _ := strings.Cut(rest, "].")
			if n, err := strconv.Atoi(i); err == nil && n < len(g.rows) {
				rec = g.rows[n]
			}
			field = map[string]string{"quantity": FieldQuantity, "unit_price": FieldUnitPrice, "discount": FieldLineDiscount,
				"name": FieldName, "sku": FieldSKU, "category": FieldCategory}[sub]
			if field == FieldName && !r.im.Opts.Mapping.Has(FieldName) {
				field = FieldSKU
			}
		} else {
			switch {
			case strings.HasPrefix(k, "customer"):
				field = r.customerField(k)
			case k == "placed_at":
				field = FieldDate
			case k == "total":
				field = FieldAmount
			case k == "external_id":
				field = FieldOrderID
			case k == "lines":
				field = FieldOrderID
			default:
				field = k
			}
		}
		out = append(out, ImportProblem{Line: rec.Line, Field: r.column(field), Message: fields[k]})
	}
	return out
}

// customerField picks the column a customer error belongs to.
func (r *importRun) customerField(k string) string {
	m := r.im.Opts.Mapping
	want := map[string][]string{
		"customer.phone":         {FieldCustomerPhone, FieldCustomer},
		"customer.email":         {FieldCustomerEmail, FieldCustomer},
		"customer.member_number": {FieldMemberNumber, FieldCustomer},
		"customer.external_id":   {FieldCustomerID},
		"customer.first_name":    {FieldFirstName, FieldCustomerName},
		"customer.last_name":     {FieldLastName, FieldCustomerName},
	}[k]
	want = append(want, FieldCustomer, FieldCustomerID, FieldCustomerPhone, FieldCustomerEmail, FieldMemberNumber)
	for _, f := range want {
		if m.Has(f) {
			return f
		}
	}
	return FieldCustomer
}
