package analytics

import (
	"cmp"
	"math"
	"slices"

	"github.com/pivand/pivand/internal/crm"
)

// CustomerSummarizer builds summaries one customer at a time, for streams
// that deliver all of a customer's transactions together (orders read from
// the store by customer). Memory is one customer's purchases, reused from
// customer to customer, instead of every customer's as in Summarizer; the
// summaries are exactly Summarizer's for the same transactions in the same
// order. The end of observation must be given.
type CustomerSummarizer struct {
	period, unit Period
	end          int64 // first day of the last observed period
	buf          []purchase
}

// NewCustomerSummarizer returns a CustomerSummarizer; opt.End must be set.
func NewCustomerSummarizer(opt SummaryOptions) (*CustomerSummarizer, error) {
	if opt.End.IsZero() {
		return nil, crm.Errorf(crm.EINVALID, "a per-customer summary needs the end of observation")
	}
	s := &CustomerSummarizer{period: opt.Period, unit: opt.Unit}
	if s.period != Weeks {
		s.period = Days
	}
	if s.unit == 0 {
		s.unit = s.period
	}
	s.end = s.period.start(dayNumber(opt.End))
	return s, nil
}

// Summarize is the summary of one customer's transactions txs, in any
// order. ok is false when none of them is on or before the end of
// observation (the customer is not in the summary, as with Summarizer).
// The Customer fields of txs are not read.
func (s *CustomerSummarizer) Summarize(customer string, txs []Transaction) (sm Summary, ok bool, err error) {
	if customer == "" {
		return Summary{}, false, crm.Errorf(crm.EINVALID, "the customer is empty")
	}
	ps := s.buf[:0]
	sorted := true
	for _, t := range txs {
		switch {
		case math.IsNaN(t.Amount) || math.IsInf(t.Amount, 0):
			return Summary{}, false, crm.Errorf(crm.EINVALID, "the amount %v is not a number", t.Amount)
		case t.Amount < 0:
			return Summary{}, false, crm.Errorf(crm.EINVALID, "the amount %v is negative", t.Amount)
		case t.Time.IsZero():
			return Summary{}, false, crm.Errorf(crm.EINVALID, "the date is missing")
		}
		day := s.period.start(dayNumber(t.Time))
		if day > s.end {
			continue
		}
		if n := len(ps); n > 0 {
			lastDay := ps[n-1].day
			switch {
			case day == lastDay:
				ps[n-1].amount += t.Amount
				continue
			case day < lastDay:
				sorted = false
			}
		}
		ps = append(ps, purchase{day, t.Amount})
	}
	s.buf = ps
	if len(ps) == 0 {
		return Summary{}, false, nil
	}
	if !sorted {
		slices.SortStableFunc(ps, func(a, b purchase) int { return cmp.Compare(a.day, b.day) })
		merged := ps[:1]
		for _, p := range ps[1:] {
			if last := &merged[len(merged)-1]; p.day == last.day {
				last.amount += p.amount
			} else {
				merged = append(merged, p)
			}
		}
		ps = merged
	}
	unit := s.unit.Days()
	first, last := ps[0].day, ps[len(ps)-1].day
	sm = Summary{
		Customer:  customer,
		Frequency: len(ps) - 1,
		Recency:   float64(last-first) / unit,
		T:         float64(s.end-first) / unit,
	}
	if sm.Frequency > 0 {
		sum := 0.0
		for _, p := range ps[1:] {
			sum += p.amount
		}
		sm.MonetaryValue = sum / float64(sm.Frequency)
	}
	return sm, true, nil
}
