package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Settings shape every recompute: what is scored, in which units, over
// which horizons, and when the nightly run starts. They are stored in the
// settings table (key "analytics") and copied into each run's params, so
// a run always shows the settings it used.
type Settings struct {
	// Currency is the one currency scored (ISO 4217). Orders in other
	// currencies are left out and counted on the run; "" scores the
	// currency with the most orders.
	Currency string `json:"currency"`
	// Period groups a customer's orders into purchases: "days" (all
	// orders of one day are one purchase) or "weeks". Unit is the unit of
	// recency, T and the prediction horizon; "" is Period.
	Period string `json:"period"`
	Unit   string `json:"unit,omitempty"`
	// PredictPeriods is the horizon of the expected purchases, in Units.
	PredictPeriods float64 `json:"predict_periods"`
	// CLVMonths and DiscountRate (per month) set the CLV horizon.
	CLVMonths    int     `json:"clv_months"`
	DiscountRate float64 `json:"discount_rate"`
	// ChurnMedium and ChurnHigh are the churn-risk band thresholds.
	ChurnMedium float64 `json:"churn_medium"`
	ChurnHigh   float64 `json:"churn_high"`
	// MinCustomers and MinRepeat: fewer customers, or fewer with a repeat
	// purchase, and the models are not fitted (too little data to trust).
	MinCustomers int `json:"min_customers"`
	MinRepeat    int `json:"min_repeat_customers"`
	// Nightly runs a recompute every day at NightlyAt (HH:MM) in TimeZone.
	// TimeZone is also the zone whose calendar days the analysis counts.
	Nightly   bool   `json:"nightly"`
	NightlyAt string `json:"nightly_at"`
	TimeZone  string `json:"time_zone"`
	// BasketMinSupport is the share of orders an itemset must be in to
	// count as frequent; BasketMinConfidence the least confidence of a
	// cross-sell rule.
	BasketMinSupport    float64 `json:"basket_min_support"`
	BasketMinConfidence float64 `json:"basket_min_confidence"`
}

// DefaultSettings are used until an administrator saves others.
func DefaultSettings() Settings {
	return Settings{
		Period:              "days",
		PredictPeriods:      90,
		CLVMonths:           12,
		DiscountRate:        0.01,
		ChurnMedium:         analytics.DefaultChurnBands.Medium,
		ChurnHigh:           analytics.DefaultChurnBands.High,
		MinCustomers:        30,
		MinRepeat:           10,
		Nightly:             true,
		NightlyAt:           "03:00",
		TimeZone:            "UTC",
		BasketMinSupport:    0.01,
		BasketMinConfidence: 0.2,
	}
}

// Validate checks the settings, naming each bad field.
func (s *Settings) Validate() error {
	var v crm.Validation
	s.Currency = strings.ToUpper(strings.TrimSpace(s.Currency))
	if s.Currency != "" && !validCurrency(s.Currency) {
		v.Add("currency", "Use a three-letter ISO 4217 code such as IRR or USD, or leave it empty for the currency with the most orders.")
	}
	if _, err := analytics.ParsePeriod(s.Period); err != nil {
		v.Add("period", "Use days or weeks.")
	}
	if s.Unit != "" {
		if _, err := analytics.ParsePeriod(s.Unit); err != nil {
			v.Add("unit", "Use days or weeks, or leave it empty for the period.")
		}
	}
	if !(s.PredictPeriods > 0 && s.PredictPeriods <= 3650) {
		v.Add("predict_periods", "Must be more than 0 and at most 3650.")
	}
	if s.CLVMonths < 1 || s.CLVMonths > 120 {
		v.Add("clv_months", "Must be from 1 to 120 months.")
	}
	if !(s.DiscountRate >= 0 && s.DiscountRate < 1) {
		v.Add("discount_rate", "Must be from 0 to below 1 (0.01 is 1%% a month).")
	}
	if !(s.ChurnMedium > 0 && s.ChurnMedium < s.ChurnHigh && s.ChurnHigh < 1) {
		v.Add("churn_high", "Need 0 < medium < high < 1 (for example 0.3 and 0.6).")
	}
	if s.MinCustomers < 2 {
		v.Add("min_customers", "Must be at least 2.")
	}
	if s.MinRepeat < 1 {
		v.Add("min_repeat_customers", "Must be at least 1.")
	}
	if _, err := parseClock(s.NightlyAt); err != nil {
		v.Add("nightly_at", "Use a time of day as HH:MM, for example 03:00.")
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" {
		v.Add("time_zone", "Unknown time zone %q.", s.TimeZone)
	}
	if !(s.BasketMinSupport > 0 && s.BasketMinSupport <= 1) {
		v.Add("basket_min_support", "Must be more than 0 and at most 1 (0.01 is 1%% of orders).")
	} else if _, err := analytics.FractionOf(s.BasketMinSupport); err != nil {
		v.Add("basket_min_support", "Must be a decimal number such as 0.01.")
	}
	if !(s.BasketMinConfidence > 0 && s.BasketMinConfidence <= 1) {
		v.Add("basket_min_confidence", "Must be more than 0 and at most 1.")
	} else if _, err := analytics.FractionOf(s.BasketMinConfidence); err != nil {
		v.Add("basket_min_confidence", "Must be a decimal number such as 0.2.")
	}
	return v.Err()
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// parseClock reads HH:MM as minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (s Settings) period() analytics.Period {
	p, _ := analytics.ParsePeriod(s.Period)
	return p
}

func (s Settings) unit() analytics.Period {
	if s.Unit == "" {
		return s.period()
	}
	p, _ := analytics.ParsePeriod(s.Unit)
	return p
}

func (s Settings) location() *time.Location {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Settings returns the analytics settings. Needs reports:read.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return Settings{}, err
	}
	var out Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = loadSettings(ctx, tx)
		return err
	})
	return out, err
}

func loadSettings(ctx context.Context, tx *store.Tx) (Settings, error) {
	v, ok, err := tx.AnalyticsSettings(ctx)
	if err != nil || !ok {
		return DefaultSettings(), err
	}
	st := DefaultSettings()
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return DefaultSettings(), fmt.Errorf("insight: stored settings do not decode: %w", err)
	}
	return st, nil
}

// SaveSettings validates and stores the settings (audited), and moves the
// nightly run to the new time. Needs settings:manage.
func (s *Service) SaveSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return Settings{}, err
	}
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return Settings{}, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.SaveAnalyticsSettings(ctx, string(b)); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "analytics.settings", "settings", 0, before, st); err != nil {
			return err
		}
		return s.scheduleNightly(ctx, tx, st)
	})
	return st, err
}
