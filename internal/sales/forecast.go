package sales

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// The weighted forecast: the open deals' expected revenue by month of
// expected close, each deal's value × its stage's probability (rounded
// half up to a minor unit), per owner and per pipeline, in the months of
// the viewer's calendar (Gregorian or Jalali).

// ForecastQuery selects a forecast.
type ForecastQuery struct {
	Calendar   string    // text.CalendarGregorian or text.CalendarJalali
	Start      time.Time // a day (its wall date) in the first month
	Months     int       // how many months, 1–24 (6 when 0)
	PipelineID int64     // 0: every pipeline
	OwnerID    int64     // 0: every owner
}

// Month is a month of the forecast's calendar: its year and number in
// that calendar and its first and last days (Gregorian, YYYY-MM-DD).
type Month struct {
	Year  int    `json:"year"`
	Month int    `json:"month"`
	First string `json:"first"`
	Last  string `json:"last"`
}

// ForecastLine is the forecast of one owner or pipeline: per month
// (Cells[i] is Months[i]) and in all, per currency.
type ForecastLine struct {
	ID      int64      `json:"id"`
	Name    string     `json:"name"`
	Cells   [][]Amount `json:"months"`
	Overdue []Amount   `json:"overdue"`
	NoDate  []Amount   `json:"no_date"`
	Total   []Amount   `json:"total"`
}

// Forecast is the weighted forecast.
type Forecast struct {
	Calendar   string            `json:"calendar"`
	Months     []Month           `json:"months"`
	Totals     ForecastLine      `json:"totals"`    // every owner and pipeline
	Owners     []ForecastLine    `json:"owners"`    // by owner (ID 0: no owner)
	Pipelines  []ForecastLine    `json:"pipelines"` // by pipeline
	Names      *store.SalesNames `json:"-"`
	Currencies []string          `json:"currencies"`
}

// Empty reports whether no open deal is in the forecast.
func (f *Forecast) Empty() bool { return len(f.Totals.Total) == 0 }

// MonthsFrom returns n months of calendar starting with the month of the
// wall date of start.
func MonthsFrom(calendar string, start time.Time, n int) []Month {
	out := make([]Month, 0, n)
	if calendar == text.CalendarJalali {
		j := text.ToJalali(start)
		y, m := j.Year, j.Month
		for range n {
			gy, gm, gd := text.JalaliToGregorian(y, m, 1)
			ly, lm, ld := text.JalaliToGregorian(y, m, text.JalaliMonthLength(y, m))
			out = append(out, Month{Year: y, Month: m, First: fmt.Sprintf("%04d-%02d-%02d", gy, gm, gd), Last: fmt.Sprintf("%04d-%02d-%02d", ly, lm, ld)})
			if m++; m > 12 {
				y, m = y+1, 1
			}
		}
		return out
	}
	first := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	for range n {
		next := first.AddDate(0, 1, 0)
		out = append(out, Month{Year: first.Year(), Month: int(first.Month()), First: first.Format(time.DateOnly),
			Last: next.AddDate(0, 0, -1).Format(time.DateOnly)})
		first = next
	}
	return out
}

// addAmount adds to the currency's amount in list, keeping it sorted by
// currency.
func addAmount(list []Amount, currency string, count, value, weighted int64) []Amount {
	i, found := slices.BinarySearchFunc(list, currency, func(a Amount, c string) int {
		switch {
		case a.Currency < c:
			return -1
		case a.Currency > c:
			return 1
		}
		return 0
	})
	if !found {
		list = slices.Insert(list, i, Amount{Currency: currency})
	}
	list[i].Count += count
	list[i].Value += value
	list[i].Weighted += weighted
	return list
}

func newLine(id int64, months int) ForecastLine {
	l := ForecastLine{ID: id, Cells: make([][]Amount, months), Overdue: []Amount{}, NoDate: []Amount{}, Total: []Amount{}}
	for i := range l.Cells {
		l.Cells[i] = []Amount{}
	}
	return l
}

// add puts one forecast row in the line: in month i (or overdue: -1, no
// date: -2).
func (l *ForecastLine) add(i int, r store.ForecastRow) {
	switch i {
	case -1:
		l.Overdue = addAmount(l.Overdue, r.Currency, r.Count, r.Value, r.Weighted)
	case -2:
		l.NoDate = addAmount(l.NoDate, r.Currency, r.Count, r.Value, r.Weighted)
	default:
		l.Cells[i] = addAmount(l.Cells[i], r.Currency, r.Count, r.Value, r.Weighted)
	}
	l.Total = addAmount(l.Total, r.Currency, r.Count, r.Value, r.Weighted)
}

// Forecast computes the weighted forecast: open deals expected to close in
// the query's months, plus those whose expected close has passed
// (Overdue) and those without a date (NoDate). Needs sales:read.
func (s *Service) Forecast(ctx context.Context, q ForecastQuery) (*Forecast, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var v crm.Validation
	if q.Months == 0 {
		q.Months = 6
	}
	if q.Months < 1 || q.Months > 24 {
		v.Add("months", "Use 1 to 24 months.")
	}
	if q.Calendar == "" {
		q.Calendar = text.CalendarGregorian
	}
	if q.Calendar != text.CalendarGregorian && q.Calendar != text.CalendarJalali {
		v.Add("calendar", "Use gregorian or jalali.")
	}
	if q.Start.IsZero() || q.Start.Year() < 1900 || q.Start.Year() > 3000 {
		v.Add("from", "Give a date in the first month of the forecast.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	f := &Forecast{Calendar: q.Calendar, Months: MonthsFrom(q.Calendar, q.Start, q.Months)}
	f.Totals = newLine(0, q.Months)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.ForecastRows(ctx, store.ForecastFilter{PipelineID: q.PipelineID, OwnerID: q.OwnerID, CloseTo: f.Months[len(f.Months)-1].Last}, sc)
		if err != nil {
			return err
		}
		owners, pipes := map[int64]*ForecastLine{}, map[int64]*ForecastLine{}
		line := func(m map[int64]*ForecastLine, id int64) *ForecastLine {
			if l := m[id]; l != nil {
				return l
			}
			l := newLine(id, q.Months)
			m[id] = &l
			return &l
		}
		first := f.Months[0].First
		for _, r := range rows {
			i := -2
			switch {
			case r.Close == "":
			case r.Close < first:
				i = -1
			default:
				i = slices.IndexFunc(f.Months, func(m Month) bool { return r.Close >= m.First && r.Close <= m.Last })
				if i < 0 {
					continue
				}
			}
			f.Totals.add(i, r)
			line(owners, r.OwnerID).add(i, r)
			line(pipes, r.PipelineID).add(i, r)
			if !slices.Contains(f.Currencies, r.Currency) {
				f.Currencies = append(f.Currencies, r.Currency)
			}
		}
		slices.Sort(f.Currencies)
		var ownerIDs, pipeIDs []int64
		for id, l := range owners {
			f.Owners = append(f.Owners, *l)
			ownerIDs = append(ownerIDs, id)
		}
		for id, l := range pipes {
			f.Pipelines = append(f.Pipelines, *l)
			pipeIDs = append(pipeIDs, id)
		}
		if f.Names, err = tx.SalesNamesFor(ctx, nil, nil, ownerIDs, nil, pipeIDs); err != nil {
			return err
		}
		byName := func(names map[int64]string) func(a, b ForecastLine) int {
			return func(a, b ForecastLine) int {
				if c := compareStr(names[a.ID], names[b.ID]); c != 0 {
					return c
				}
				return int(a.ID - b.ID)
			}
		}
		for i := range f.Owners {
			f.Owners[i].Name = f.Names.Users[f.Owners[i].ID]
		}
		for i := range f.Pipelines {
			f.Pipelines[i].Name = f.Names.Pipelines[f.Pipelines[i].ID]
		}
		slices.SortFunc(f.Owners, byName(f.Names.Users))
		slices.SortFunc(f.Pipelines, byName(f.Names.Pipelines))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
