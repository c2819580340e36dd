package crm

// ScoreFilter narrows the people list by the customer analytics results
// in use (internal/insight): people scored in the current run whose
// segment, churn band and CLV (minor units of the run's currency) match.
// Zero values do not filter; any set member leaves out people not scored.
type ScoreFilter struct {
	Segment   string // an RFM segment: champions, loyal, … (analytics.RFMSegments)
	ChurnBand string // low, medium, high
	CLVMin    *int64 // CLV at least
	CLVMax    *int64 // CLV at most
}

// IsZero reports whether the filter keeps everyone.
func (f *ScoreFilter) IsZero() bool {
	return f == nil || f.Segment == "" && f.ChurnBand == "" && f.CLVMin == nil && f.CLVMax == nil
}
