package analytics

import (
	"encoding/json"
	"math"

	"github.com/pivand/pivand/internal/crm"
)

// RiskBand is a churn-risk band.
type RiskBand int

const (
	RiskLow RiskBand = iota + 1
	RiskMedium
	RiskHigh
)

func (b RiskBand) String() string {
	switch b {
	case RiskLow:
		return "low"
	case RiskMedium:
		return "medium"
	case RiskHigh:
		return "high"
	}
	return "unknown"
}

// MarshalJSON writes the band's name.
func (b RiskBand) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

// ChurnBands are the thresholds on churn risk = 1 − P(alive): risk below
// Medium is low, below High is medium, and from High up is high.
type ChurnBands struct {
	Medium float64 `json:"medium"`
	High   float64 `json:"high"`
}

// DefaultChurnBands: low below 0.3 (P(alive) above 0.7), medium from 0.3
// to below 0.6, high from 0.6 (P(alive) at most 0.4).
var DefaultChurnBands = ChurnBands{Medium: 0.3, High: 0.6}

func (c ChurnBands) check() error {
	if !(0 < c.Medium && c.Medium <= c.High && c.High <= 1) {
		return crm.Errorf(crm.EINVALID, "churn bands need 0 < medium (%v) ≤ high (%v) ≤ 1", c.Medium, c.High)
	}
	return nil
}

// Band is the band of a churn risk.
func (c ChurnBands) Band(risk float64) RiskBand {
	switch {
	case math.IsNaN(risk):
		return 0
	case risk >= c.High:
		return RiskHigh
	case risk >= c.Medium:
		return RiskMedium
	}
	return RiskLow
}

// ChurnRisk is 1 − P(alive | x, t_x, T) under the BG/NBD model. A customer
// who has bought only once has P(alive) = 1 in this model (dropping out
// happens only right after a repeat purchase), so their risk is 0 however
// long ago that was; the docs say so beside every churn list.
func (m BGNBD) ChurnRisk(x int, tx, T float64) float64 {
	return 1 - m.ProbabilityAlive(x, tx, T)
}
