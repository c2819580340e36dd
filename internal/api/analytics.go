package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/text"
)

// The customer analytics (internal/insight): a person's results and
// cross-sell suggestions, recompute runs and their progress, the overview
// of the run in use, items bought together, cross-selling for any set of
// items, and the settings. The people list filters by segment, churn band
// and CLV (readContactFilter, analyticsFilterParams).

func init() {
	moduleRoutes = append(moduleRoutes, analyticsRoutes)
	tagDescriptions["analytics"] = "Customer analytics computed from orders by a recompute job (nightly and on demand): per person the purchase summary, RFM scores and segment, " +
		"P(alive), churn risk, expected purchases and CLV (BG/NBD + Gamma-Gamma), and items bought together. Money is integer minor units of the run's currency. " +
		"The results are those of the run in use: a run writes beside them and takes over only when it has finished."
	for k, v := range map[string]string{
		"CustomerInsight": "A person's results in the run in use (run); score is null when that run did not score them (no purchase in its currency up to its last day). " +
			"Model values (p_alive, churn_risk, churn_band, expected_purchases) are null when the run's model_status is not ok, clv and expected_value when its spend_status is not ok.",
		"CustomerScore": "One person's results in one run: the purchase summary (lifetimes conventions: frequency = repeat purchase periods, recency and T in the run's unit), RFM scores 1–5, cell and segment, and the model values.",
		"Run":           "A recompute: its status and progress, the settings it used, what it counted and left out (skipped), the fitted models and its timings.",
		"Settings":      "The analytics settings, copied into every run.",
		"Suggestion":    "An item to offer: the rule because ⇒ item, with its confidence and lift.",
	} {
		schemaDescriptions[k] = v
	}
}

func analyticsRoutes(a *API) []route {
	if a.insight == nil {
		return nil
	}
	reports := crm.PermReportsRead
	return []route{
		{"GET /api/v1/contacts/{id}/analytics", a.handleContactAnalytics, op{ID: "getContactAnalytics", Tag: "analytics", Perm: crm.PermContactsRead,
			Query:   []param{{Name: "cross_sell", Type: "integer", Zero: true, Description: "How many cross-sell suggestions (0–50, default 5)."}},
			Summary: "A person's analytics: segment, RFM cell, P(alive), churn risk, expected purchases, CLV and cross-sell suggestions", Out: &insight.CustomerInsight{}}},
		{"POST /api/v1/analytics/recompute", a.handleAnalyticsRecompute, op{ID: "recomputeAnalytics", Tag: "analytics", Perm: reports, Status: http.StatusAccepted,
			Location: true, Summary: "Recompute the customer analytics now", In: recomputeRequest{}, Out: &insight.Run{},
			Description: "Queues a run and answers it; while a run is queued or running, that run is answered and nothing new is queued. " +
				"Follow its progress at the Location. The body may be {} (or empty); end (YYYY-MM-DD) observes the orders up to that day instead of today."}},
		{"GET /api/v1/analytics/runs", a.handleAnalyticsRuns, op{ID: "listAnalyticsRuns", Tag: "analytics", Perm: reports, Paged: true,
			Summary: "Recompute runs, newest first", Out: list[*insight.Run]{}}},
		{"GET /api/v1/analytics/runs/{id}", a.handleAnalyticsRun, op{ID: "getAnalyticsRun", Tag: "analytics", Perm: reports,
			Summary: "A run with its progress (phase, done of total) while it runs, its models and figures when done", Out: &insight.Run{}}},
		{"GET /api/v1/analytics/overview", a.handleAnalyticsOverview, op{ID: "getAnalyticsOverview", Tag: "analytics", Perm: reports,
			Query:   []param{{Name: "at_risk", Type: "integer", Zero: true, Description: "How many high-risk customers to list, most spent first (0–500, default 20)."}},
			Summary: "The run in use and its results: RFM segments with their rules and sizes, the segment grid, churn bands, high-risk customers", Out: &insight.Overview{}}},
		{"GET /api/v1/analytics/items", a.handleAnalyticsItems, op{ID: "listAnalyticsItems", Tag: "analytics", Perm: reports,
			Query:   []param{{Name: "q", Description: "Only items whose SKU or name contains this."}, {Name: "limit", Type: "integer", Description: "At most this many (1–500, default 50)."}},
			Summary: "Items of the basket analysis, bought in the most orders first", Out: list[insight.Item]{}}},
		{"GET /api/v1/analytics/bought-together", a.handleAnalyticsTogether, op{ID: "getBoughtTogether", Tag: "analytics", Perm: crm.PermOrdersRead,
			Query: []param{{Name: "item", Description: "The item: sku:<SKU>, or name:<line name> for lines without a SKU (required)."},
				{Name: "limit", Type: "integer", Description: "At most this many (1–100, default 20)."}},
			Summary: "Items often bought together with an item, and the rules that start from it", Out: &insight.ItemDetail{}}},
		{"GET /api/v1/analytics/cross-sell", a.handleAnalyticsCrossSell, op{ID: "crossSell", Tag: "analytics", Perm: crm.PermOrdersRead,
			Query: []param{{Name: "item", Description: "An item the customer, basket or deal has: sku:<SKU> or name:<line name>; repeat the parameter for each (1–500)."},
				{Name: "limit", Type: "integer", Description: "At most this many suggestions (1–50, default 5)."}},
			Summary: "Items to offer whoever has these items (a basket, a deal)", Out: list[insight.Suggestion]{},
			Description: "From the association rules of the run in use: the right-hand sides of the rules whose left-hand side is within the items and whose right-hand side is not, each item once, best rule (lift) first."}},
		{"GET /api/v1/analytics/settings", a.handleAnalyticsSettingsGet, op{ID: "getAnalyticsSettings", Tag: "analytics", Perm: reports,
			Summary: "The analytics settings", Out: &insight.Settings{}}},
		{"PUT /api/v1/analytics/settings", a.handleAnalyticsSettingsPut, op{ID: "setAnalyticsSettings", Tag: "analytics", Perm: crm.PermSettingsManage,
			Summary: "Replace the analytics settings (from the next run; the nightly run moves to the new time)", In: AnalyticsSettingsIn{}, Out: &insight.Settings{},
			Description: "Members left out keep their defaults (not their stored values)."}},
	}
}

// analyticsFilterParams document the people list's analytics filters.
var analyticsFilterParams = []param{
	{Name: "segment", Enum: analytics.RFMSegments, Description: "Only people in this RFM segment in the analytics run in use."},
	{Name: "churn_band", Enum: []string{"low", "medium", "high"}, Description: "Only people with this churn-risk band in the analytics run in use."},
	{Name: "clv_min", Type: "integer", Zero: true, Description: "Only people whose CLV (minor units of the run's currency) is at least this."},
	{Name: "clv_max", Type: "integer", Zero: true, Description: "Only people whose CLV is at most this."},
}

// queryScores reads the analytics filters of the people list; nil when
// none is given.
func queryScores(r *http.Request, v *crm.Validation) *crm.ScoreFilter {
	q := r.URL.Query()
	f := &crm.ScoreFilter{Segment: q.Get("segment"), ChurnBand: q.Get("churn_band")}
	if f.Segment != "" && !slices.Contains(analytics.RFMSegments, f.Segment) {
		v.Add("segment", "Use one of the RFM segments: champions, loyal, potential_loyalists, new, promising, need_attention, about_to_sleep, at_risk, cannot_lose_them, hibernating, lost.")
	}
	if f.ChurnBand != "" && !slices.Contains([]string{"low", "medium", "high"}, f.ChurnBand) {
		v.Add("churn_band", "Use low, medium or high.")
	}
	for _, name := range []string{"clv_min", "clv_max"} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		n, err := text.ParseInt(s)
		if err != nil || n < 0 {
			v.Add(name, "Use a whole number of minor units, 0 or more.")
			continue
		}
		if name == "clv_min" {
			f.CLVMin = &n
		} else {
			f.CLVMax = &n
		}
	}
	if f.IsZero() {
		return nil
	}
	return f
}

// queryLimit reads an optional integer from lo to hi, def when absent.
func queryLimit(r *http.Request, name string, lo, hi, def int, v *crm.Validation) int {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	n, err := text.ParseInt(s)
	if err != nil || n < int64(lo) || n > int64(hi) {
		v.Add(name, "Use a whole number from %d to %d.", lo, hi)
		return def
	}
	return int(n)
}

func (a *API) handleContactAnalytics(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	k := queryLimit(r, "cross_sell", 0, 50, 5, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := a.contacts.FindContactByID(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	ci, err := a.insight.Customer(r.Context(), id, k)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, ci)
}

// recomputeRequest is the body of POST /analytics/recompute.
type recomputeRequest struct {
	End string `json:"end,omitempty"` // YYYY-MM-DD
}

func (a *API) handleAnalyticsRecompute(w http.ResponseWriter, r *http.Request) {
	var in recomputeRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	run, created, err := a.insight.Recompute(r.Context(), insight.ViaAPI, in.End)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/analytics/runs/"+strconv.FormatInt(run.ID, 10))
	if !created {
		w.Header().Set(replayedHeader, "true")
	}
	a.writeJSON(w, r, http.StatusAccepted, run)
}

func (a *API) handleAnalyticsRuns(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	runs, next, err := a.insight.Runs(r.Context(), page.Limit, page.After)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, runs, next)
}

func (a *API) handleAnalyticsRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	run, err := a.insight.Run(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, run)
}

func (a *API) handleAnalyticsOverview(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	n := queryLimit(r, "at_risk", 0, crm.MaxLimit, 20, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.insight.Overview(r.Context(), n)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, o)
}

func (a *API) handleAnalyticsItems(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	n := queryLimit(r, "limit", 1, crm.MaxLimit, 50, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	_, items, err := a.insight.Items(r.Context(), r.URL.Query().Get("q"), n)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, "")
}

func (a *API) handleAnalyticsTogether(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	item := r.URL.Query().Get("item")
	if item == "" {
		v.Add("item", "Name the item: sku:<SKU> or name:<line name>.")
	}
	n := queryLimit(r, "limit", 1, 100, 20, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.insight.Item(r.Context(), item, n)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, d)
}

func (a *API) handleAnalyticsCrossSell(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	items := r.URL.Query()["item"]
	if len(items) == 0 || len(items) > 500 {
		v.Add("item", "Give from 1 to 500 items (sku:<SKU> or name:<line name>), one item parameter each.")
	}
	n := queryLimit(r, "limit", 1, 50, 5, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := a.insight.CrossSell(r.Context(), items, n)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, out, "")
}

func (a *API) handleAnalyticsSettingsGet(w http.ResponseWriter, r *http.Request) {
	st, err := a.insight.Settings(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, st)
}

// AnalyticsSettingsIn is the body of PUT /analytics/settings.
type AnalyticsSettingsIn struct {
	insight.Settings
}

func (a *API) handleAnalyticsSettingsPut(w http.ResponseWriter, r *http.Request) {
	in := AnalyticsSettingsIn{insight.DefaultSettings()}
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.insight.SaveSettings(r.Context(), in.Settings)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, st)
}
