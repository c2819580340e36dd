package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
)

func init() {
	analyzers["clv"] = analyzer{
		summary: "BG/NBD and Gamma-Gamma fits, expected purchases, P(alive), churn risk and CLV",
		run:     cmdAnalyzeCLV,
	}
}

const analyzeCLVUsage = "pivand analyze clv (--input FILE [column flags] | --summary FILE) [--period days|weeks] [--unit days|weeks] [--end YYYY-MM-DD] [--horizon MONTHS] [--discount-rate F] [--predict PERIODS] [--customers OUT.csv] --format json"

const analyzeCLVHelp = `
Fits the BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005) and the
Gamma-Gamma model of spend by maximum likelihood, and scores every customer:
expected purchases, P(alive), churn risk and lifetime value (CLV), exactly as
the Python lifetimes library computes them.

With --input, the transactions of one customer in one period are one
purchase; --period is that period and the time unit (days, the default, or
Monday-first weeks). --unit counts time in another unit: --period days
--unit weeks is the CDNOW convention. --end is the end of observation
(default: the date of the last transaction); later transactions are ignored.

--summary reads one row per customer with frequency,recency,T and optionally
monetary_value (lifetimes' and BTYD's x,t_x,T,zbar,m_x also work); --period
says which unit recency and T are in. Without monetary values there is no
Gamma-Gamma model and no CLV.

CLV is summed over --horizon months of 30 days or 4.345 weeks, each month
discounted at --discount-rate. --predict is the horizon of the expected
purchases in periods (default: the CLV horizon). --customers writes one row
per customer. --summary FILE may be - for standard input.
` + miningInputHelp

// clvReport is what `pivand analyze clv` prints.
type clvReport struct {
	Customers   int                  `json:"customers"`
	Repeaters   int                  `json:"repeat_customers"`
	Input       clvInput             `json:"input"`
	BGNBD       clvBGNBD             `json:"bgnbd"`
	GammaGamma  *clvGammaGamma       `json:"gamma_gamma"`
	Predictions clvPredictions       `json:"predictions"`
	Churn       map[string]int       `json:"churn"`
	Bands       analytics.ChurnBands `json:"churn_bands"`
}

type clvInput struct {
	Kind   string `json:"kind"` // transactions or summary
	Period string `json:"period"`
	Unit   string `json:"unit"`
	End    string `json:"end,omitempty"`
}

type clvBGNBD struct {
	R             float64            `json:"r"`
	Alpha         float64            `json:"alpha"`
	A             float64            `json:"a"`
	B             float64            `json:"b"`
	LogLikelihood float64            `json:"log_likelihood"`
	StdErr        map[string]float64 `json:"std_err,omitempty"`
	UniqueRows    int                `json:"unique_rows"`
	Fit           analytics.FitStats `json:"fit"`
}

type clvGammaGamma struct {
	P              float64            `json:"p"`
	Q              float64            `json:"q"`
	V              float64            `json:"v"`
	LogLikelihood  float64            `json:"log_likelihood"`
	StdErr         map[string]float64 `json:"std_err,omitempty"`
	Customers      int                `json:"customers"`
	Skipped        int                `json:"skipped_zero_value"`
	PopulationMean *float64           `json:"population_mean"`
	Fit            analytics.FitStats `json:"fit"`
}

type clvPredictions struct {
	Periods           float64  `json:"periods"`
	ExpectedPurchases float64  `json:"expected_purchases"`
	MeanPAlive        float64  `json:"mean_p_alive"`
	Months            int      `json:"clv_months"`
	DiscountRate      float64  `json:"discount_rate"`
	PeriodsPerMonth   float64  `json:"periods_per_month"`
	CLV               *float64 `json:"clv_total"`
}

func cmdAnalyzeCLV(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("analyze clv", flag.ContinueOnError)
	var (
		in                                                               miningInput // --input and its column flags, shared with rfm and cohorts
		summaryFile, periodS, unitS, endS, format, out, bandsS, predictS string
		horizon                                                          int
		discount                                                         float64
	)
	in.flags(fs)
	fs.StringVar(&summaryFile, "summary", "", "summary CSV (frequency,recency,T[,monetary_value]), or - for standard input")
	fs.StringVar(&periodS, "period", "days", "purchase period and time unit: days or weeks")
	fs.StringVar(&unitS, "unit", "", "time unit of recency and T when it differs from --period: days or weeks (--input only)")
	fs.StringVar(&endS, "end", "", "end of observation, YYYY-MM-DD (--input only; default: the last transaction's date)")
	fs.IntVar(&horizon, "horizon", 12, "CLV horizon in months")
	fs.Float64Var(&discount, "discount-rate", 0.01, "monthly discount rate of the CLV")
	fs.StringVar(&predictS, "predict", "", "horizon of the expected purchases, in periods (default: the CLV horizon)")
	fs.StringVar(&bandsS, "churn-bands", "0.3,0.6", "churn risk from which a customer is medium, and high, risk")
	fs.StringVar(&out, "customers", "", "write one row per customer (scores and CLV) to this CSV file")
	fs.StringVar(&format, "format", "json", "output format: json")
	if err := parse(fs, env, args, analyzeCLVUsage); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(env.stdout, analyzeCLVHelp)
		}
		return err
	}
	switch {
	case format != "json":
		return config.Usagef("--format %q: only json is supported", format)
	case (in.path == "") == (summaryFile == ""):
		return config.Usagef("give exactly one of --input FILE and --summary FILE")
	case horizon < 0 || horizon > 1200:
		return config.Usagef("--horizon %d is not a number of months from 0 to 1200", horizon)
	case !(discount > -1) || math.IsInf(discount, 0):
		return config.Usagef("--discount-rate %v is not above -1", discount)
	}
	predict := -1.0
	if predictS != "" {
		v, err := strconv.ParseFloat(predictS, 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return config.Usagef("--predict %q is not a number of periods ≥ 0", predictS)
		}
		predict = v
	}
	period, err := analytics.ParsePeriod(periodS)
	if err != nil {
		return config.Usagef("--period %q is not days or weeks", periodS)
	}
	unit := period
	if unitS != "" {
		if summaryFile != "" {
			return config.Usagef("--unit is for --input; give a summary's unit with --period")
		}
		if unit, err = analytics.ParsePeriod(unitS); err != nil {
			return config.Usagef("--unit %q is not days or weeks", unitS)
		}
	}
	var end time.Time
	if endS != "" {
		if summaryFile != "" {
			return config.Usagef("--end is for --input; a summary's T already ends at its end of observation")
		}
		if end, err = miningDate("--end", endS); err != nil {
			return err
		}
	}
	bands, err := clvParseBands(bandsS)
	if err != nil {
		return err
	}

	rep := clvReport{Input: clvInput{Period: period.String(), Unit: unit.String()}, Bands: bands}
	var rows []analytics.Summary
	hasMonetary := true
	if in.path != "" {
		cols, err := in.columns()
		if err != nil {
			return err
		}
		rep.Input.Kind = "transactions"
		sm := analytics.NewSummarizer(analytics.SummaryOptions{Period: period, Unit: unit, End: end})
		if _, err := in.read(ctx, env, cols, func(t analytics.Transaction, _ int) error { return sm.Add(t) }); err != nil {
			return err
		}
		if e, ok := sm.End(); ok {
			rep.Input.End = e.Format(time.DateOnly)
		}
		rows = sm.Summaries()
	} else {
		rep.Input.Kind = "summary"
		err := miningOpen(env, summaryFile, func(r io.Reader) error {
			info, err := analytics.ReadSummaries(r, func(s analytics.Summary) error {
				rows = append(rows, s)
				return nil
			})
			hasMonetary = info.HasMonetary
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(rows) == 0 {
		return crm.Errorf(crm.EINVALID, "%s: no customers", miningFileName(in.path+summaryFile))
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	rep.Customers = len(rows)
	for _, s := range rows {
		if s.Frequency > 0 {
			rep.Repeaters++
		}
	}
	fit, err := analytics.FitBGNBD(rows)
	if err != nil {
		return err
	}
	rep.BGNBD = clvBGNBD{R: fit.R, Alpha: fit.Alpha, A: fit.A, B: fit.B, LogLikelihood: fit.LogLikelihood,
		StdErr: clvNamedErrors(fit.StdErr, "r", "alpha", "a", "b"), UniqueRows: fit.UniqueRows, Fit: fit.Fit}
	var gg *analytics.GammaGamma
	if hasMonetary {
		ggFit, err := analytics.FitGammaGamma(rows)
		if err != nil {
			return err
		}
		gg = &ggFit.GammaGamma
		rep.GammaGamma = &clvGammaGamma{P: ggFit.P, Q: ggFit.Q, V: ggFit.V, LogLikelihood: ggFit.LogLikelihood,
			StdErr: clvNamedErrors(ggFit.StdErr, "p", "q", "v"), Customers: ggFit.Customers, Skipped: ggFit.Skipped,
			PopulationMean: clvFinite(ggFit.PopulationMean()), Fit: ggFit.Fit}
	}
	opt := analytics.ScoreOptions{
		CLV:   analytics.CLVOptions{Months: horizon, DiscountRate: discount, PeriodsPerMonth: unit.PerMonth()},
		Bands: bands,
	}
	opt.Periods = predict
	if predict == -1 {
		opt.Periods = float64(horizon) * unit.PerMonth()
	}
	scores, err := analytics.ScoreCustomers(fit.BGNBD, gg, rows, opt)
	if err != nil {
		return err
	}
	p := clvPredictions{Periods: opt.Periods, Months: horizon, DiscountRate: discount, PeriodsPerMonth: unit.PerMonth()}
	rep.Churn = map[string]int{"low": 0, "medium": 0, "high": 0}
	var clvTotal float64
	for _, s := range scores {
		p.ExpectedPurchases += s.ExpectedPurchases
		p.MeanPAlive += s.PAlive
		clvTotal += s.CLV
		rep.Churn[s.RiskBand.String()]++
	}
	p.MeanPAlive /= float64(len(scores))
	if gg != nil {
		p.CLV = clvFinite(clvTotal) // null when q ≤ 1 (no finite mean spend)
	}
	rep.Predictions = p
	var buf bytes.Buffer
	if err := miningJSON(&buf, rep); err != nil {
		return crm.Errorf(crm.EINVALID, "the results cannot be written as JSON (%v): a value is not finite", err)
	}
	if out != "" {
		if err := clvWriteCustomers(out, rows, scores, gg != nil); err != nil {
			return err
		}
	}
	_, err = env.stdout.Write(buf.Bytes())
	return err
}

func clvParseBands(s string) (analytics.ChurnBands, error) {
	m, h, ok := strings.Cut(s, ",")
	if ok {
		med, err1 := strconv.ParseFloat(strings.TrimSpace(m), 64)
		high, err2 := strconv.ParseFloat(strings.TrimSpace(h), 64)
		if err1 == nil && err2 == nil && 0 < med && med <= high && high <= 1 {
			return analytics.ChurnBands{Medium: med, High: high}, nil
		}
	}
	return analytics.ChurnBands{}, config.Usagef("--churn-bands %q is not MEDIUM,HIGH with 0 < MEDIUM ≤ HIGH ≤ 1", s)
}

func clvNamedErrors(se []float64, names ...string) map[string]float64 {
	if len(se) != len(names) {
		return nil
	}
	m := map[string]float64{}
	for i, n := range names {
		if math.IsNaN(se[i]) || math.IsInf(se[i], 0) {
			return nil
		}
		m[n] = se[i]
	}
	return m
}

// clvWriteCustomers writes the per-customer CSV next to its final name
// and renames it into place, so a failure leaves no half-written file.
// clvPathless is an *os.PathError's reason without the path.
func clvPathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func clvWriteCustomers(name string, rows []analytics.Summary, scores []analytics.Score, withValue bool) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".pivand-clv-*.csv")
	if err != nil {
		return crm.Errorf(crm.EINVALID, "cannot write %s: %v", name, clvPathless(err))
	}
	defer os.Remove(f.Name())
	f.Chmod(0o644)
	bw := bufio.NewWriterSize(f, 256<<10)
	w := csv.NewWriter(bw)
	header := []string{"customer_id", "frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "churn_risk", "risk_band"}
	if withValue {
		header = append(header, "expected_value", "clv")
	}
	w.Write(header)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	rec := make([]string, len(header))
	for i, s := range rows {
		sc := scores[i]
		rec = append(rec[:0], s.Customer, strconv.Itoa(s.Frequency), g(s.Recency), g(s.T), g(s.MonetaryValue),
			g(sc.ExpectedPurchases), g(sc.PAlive), g(sc.ChurnRisk), sc.RiskBand.String())
		if withValue {
			rec = append(rec, g(sc.ExpectedValue), g(sc.CLV))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return crm.Errorf(crm.EINVALID, "cannot write %s: %v", name, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return crm.Errorf(crm.EINVALID, "cannot write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		return crm.Errorf(crm.EINVALID, "cannot write %s: %v", name, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return crm.Errorf(crm.EINVALID, "cannot write %s: %v", name, clvPathless(err))
	}
	return nil
}

// clvFinite is &v, or nil (JSON null) when v is not a finite number.
func clvFinite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
