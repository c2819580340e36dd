package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/text"
)

// The sales pages (internal/sales): the kanban board of each pipeline
// and its moves (mouse, touch and keyboard with static/kanban.js; a move
// form without it), the deals list with CSV export, a deal's page (line
// items, quotes, activities, stage history with time in each stage,
// cross-sell suggestions), leads and their conversion, the products
// catalogue, printable quotes, the weighted forecast, the overdue
// activities per user, the sales settings and pipelines, the timeline
// entries of deal, lead and quote events, and the sales panels of the
// dashboards (sales_reports.go). Installed when Options.Sales is set.

func init() {
	webModules = append(webModules, webModule{
		on:  func(s *server) bool { return s.sales != nil },
		nav: []navItem{{Key: "sales.nav", Href: "/sales", Perm: crm.PermSalesRead, Prefix: "/sales/"}},
		settingsNav: []navItem{{Key: "sales.nav_settings", Href: "/settings/sales", Perm: crm.PermSettingsManage,
			Prefix: "/settings/sales/"}},
		routes: salesRoutes,
	})
	deal := func() any { return new(sales.DealPayload) }
	registerTimeline(crm.EventDealCreated, timelineRenderer{Icon: "deal", Payload: deal})
	registerTimeline(crm.EventDealUpdated, timelineRenderer{Icon: "edit", Payload: func() any { return new(sales.DealUpdatedPayload) }})
	registerTimeline(crm.EventDealStageChanged, timelineRenderer{Icon: "deal", Payload: func() any { return new(sales.StageChangedPayload) }})
	registerTimeline(crm.EventDealWon, timelineRenderer{Icon: "check", Payload: deal})
	registerTimeline(crm.EventDealLost, timelineRenderer{Icon: "deal", Payload: func() any { return new(sales.DealLostPayload) }})
	registerTimeline(crm.EventDealReopened, timelineRenderer{Icon: "deal", Payload: deal})
	registerTimeline(crm.EventLeadCreated, timelineRenderer{Icon: "person", Payload: func() any { return new(sales.LeadPayload) }})
	registerTimeline(crm.EventLeadUpdated, timelineRenderer{Icon: "edit", Payload: func() any { return new(sales.LeadPayload) }})
	registerTimeline(crm.EventLeadConverted, timelineRenderer{Icon: "merge", Payload: func() any { return new(sales.LeadConvertedPayload) }})
	registerTimeline(crm.EventQuoteCreated, timelineRenderer{Icon: "note", Payload: func() any { return new(sales.QuotePayload) }})
	registerTimeline(crm.EventQuoteStatus, timelineRenderer{Icon: "note", Payload: func() any { return new(sales.QuotePayload) }})
}

func salesRoutes(s *server, mux *http.ServeMux) {
	read, write, manage, admin := crm.PermSalesRead, crm.PermSalesWrite, crm.PermSalesManage, crm.PermSettingsManage
	mux.HandleFunc("GET /sales", s.can(read, s.handleSalesHome))
	mux.HandleFunc("GET /sales/{$}", s.can(read, s.handleSalesHome))
	mux.HandleFunc("GET /sales/board", s.can(read, s.handleSalesHome)) // the address the user guide names
	mux.HandleFunc("GET /sales/board/{id}", s.can(read, s.handleBoard))
	mux.HandleFunc("GET /sales/board/{id}/cards", s.can(read, s.handleBoardCards))
	mux.HandleFunc("POST /sales/pipelines/default", s.can(admin, s.handleDefaultPipeline))

	mux.HandleFunc("GET /sales/deals", s.can(read, s.handleDealIndex))
	mux.HandleFunc("GET /sales/deals/{$}", s.can(read, s.handleDealIndex))
	mux.HandleFunc("GET /sales/deals/export.csv", s.can(read, s.handleDealExport))
	mux.HandleFunc("GET /sales/deals/new", s.can(write, s.handleDealNew))
	mux.HandleFunc("POST /sales/deals", s.can(write, s.handleDealCreate))
	mux.HandleFunc("GET /sales/deals/{id}", s.can(read, s.handleDealShow))
	mux.HandleFunc("GET /sales/deals/{id}/{page}", s.can(write, s.onlyPage("edit", s.handleDealEdit)))
	mux.HandleFunc("POST /sales/deals/{id}", s.can(write, s.handleDealUpdate))
	mux.HandleFunc("POST /sales/deals/{id}/move", s.can(write, s.handleDealMove))
	mux.HandleFunc("POST /sales/deals/{id}/win", s.can(write, s.handleDealWin))
	mux.HandleFunc("POST /sales/deals/{id}/lose", s.can(write, s.handleDealLose))
	mux.HandleFunc("POST /sales/deals/{id}/reopen", s.can(write, s.handleDealReopen))
	mux.HandleFunc("POST /sales/deals/{id}/delete", s.can(write, s.handleDealDelete))
	mux.HandleFunc("POST /sales/deals/{id}/lines", s.can(write, s.handleDealLineAdd))
	mux.HandleFunc("POST /sales/deals/{id}/lines/{line}/delete", s.can(write, s.handleDealLineDelete))
	mux.HandleFunc("POST /sales/deals/{id}/value", s.can(write, s.handleDealValueMode))
	mux.HandleFunc("POST /sales/deals/{id}/quotes", s.can(write, s.handleQuoteCreate))
	mux.HandleFunc("POST /sales/deals/{id}/activities", s.can(crm.PermContactsWrite, s.handleDealActivity))

	mux.HandleFunc("GET /sales/quotes/{id}", s.can(read, s.handleQuoteShow))
	mux.HandleFunc("POST /sales/quotes/{id}/status", s.can(write, s.handleQuoteStatus))

	mux.HandleFunc("GET /sales/leads", s.can(read, s.handleLeadIndex))
	mux.HandleFunc("GET /sales/leads/{$}", s.can(read, s.handleLeadIndex))
	mux.HandleFunc("GET /sales/leads/new", s.can(write, s.handleLeadNew))
	mux.HandleFunc("POST /sales/leads", s.can(write, s.handleLeadCreate))
	mux.HandleFunc("GET /sales/leads/{id}", s.can(read, s.handleLeadShow))
	mux.HandleFunc("GET /sales/leads/{id}/{page}", s.can(write, s.onlyPage("edit", s.handleLeadEdit)))
	mux.HandleFunc("POST /sales/leads/{id}", s.can(write, s.handleLeadUpdate))
	mux.HandleFunc("POST /sales/leads/{id}/convert", s.can(write, s.handleLeadConvert))
	mux.HandleFunc("POST /sales/leads/{id}/delete", s.can(write, s.handleLeadDelete))

	mux.HandleFunc("GET /sales/products", s.can(read, s.handleProductIndex))
	mux.HandleFunc("POST /sales/products", s.can(manage, s.handleProductCreate))
	mux.HandleFunc("GET /sales/products/{id}", s.can(manage, s.handleProductEdit))
	mux.HandleFunc("POST /sales/products/{id}", s.can(manage, s.handleProductUpdate))

	mux.HandleFunc("GET /sales/forecast", s.can(read, s.handleForecast))
	mux.HandleFunc("GET /sales/activities", s.can(crm.PermContactsRead, s.handleSalesActivities))

	mux.HandleFunc("GET /settings/sales", s.can(admin, s.handleSalesSettings))
	mux.HandleFunc("POST /settings/sales", s.can(admin, s.handleSalesSettingsSave))
	mux.HandleFunc("POST /settings/sales/logo", s.can(admin, s.handleSalesLogo))
	mux.HandleFunc("POST /settings/sales/reasons", s.can(admin, s.handleLostReasonCreate))
	mux.HandleFunc("POST /settings/sales/reasons/{id}", s.can(admin, s.handleLostReasonUpdate))
	mux.HandleFunc("POST /settings/sales/pipelines", s.can(admin, s.handlePipelineCreate))
	mux.HandleFunc("GET /settings/sales/pipelines/{id}", s.can(admin, s.handlePipelineEdit))
	mux.HandleFunc("POST /settings/sales/pipelines/{id}", s.can(admin, s.handlePipelineUpdate))
	mux.HandleFunc("POST /settings/sales/pipelines/{id}/delete", s.can(admin, s.handlePipelineDelete))
	mux.HandleFunc("POST /settings/sales/pipelines/{id}/stages", s.can(admin, s.handleStageAdd))
	mux.HandleFunc("POST /settings/sales/stages/{id}", s.can(admin, s.handleStageSave))
	mux.HandleFunc("POST /settings/sales/stages/{id}/remove", s.can(admin, s.handleStageRemove))
}

// salesFuncs are the template functions of the sales partials.
var salesFuncs = template.FuncMap{
	"salesMoney":     formatMoney,
	"salesDealCount": dealCount,
	"salesField": func(p *locale.Printer, field string) string {
		if k := "sales.field." + field; p.Has(k) {
			return p.T(k)
		}
		return field
	},
	"salesDuration": func(p *locale.Printer, secs int64) string { return durationText(p, time.Duration(secs)*time.Second) },
	"timeOf": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"crossNames": func(p *locale.Printer, items []insight.Item) string {
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Name
		}
		return strings.Join(names, p.T("sales.list_sep"))
	},
	"list2": func(a, b string) []string { return []string{a, b} },
	// salesSum adds two amounts: the lines before their discounts.
	"salesSum": func(a, b int64) int64 { return a + b },
	// salesIsolate keeps a name or an amount put into a sentence from
	// reordering it on a right-to-left page (a first-strong isolate).
	"salesIsolate": isolate,
	// ltr isolates a left-to-right code (a tax ID, "411-1234-5678") in a
	// message, so a right-to-left page does not reorder its parts.
	"ltr": func(s string) string { return "\u2066" + s + "\u2069" },
	"atoi": func(s string) int64 {
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	},
	"crossPercent": func(p *locale.Printer, f float64) string { return percent(p, f, 0) },
	// logoURL passes the stored logo (a data: URL of an image the sales
	// service checked on upload) to an img src.
	"logoURL": func(s string) template.URL {
		if strings.HasPrefix(s, "data:image/png;") || strings.HasPrefix(s, "data:image/jpeg;") || strings.HasPrefix(s, "data:image/gif;") ||
			strings.HasPrefix(s, "data:image/webp;") {
			return template.URL(s)
		}
		return ""
	},
}

// --- What every sales page shares ---

// salesTab is one tab of the sales pages.
type salesTab struct {
	Key, Href string
	Current   bool
}

// salesBase is the top of every sales page: the tabs and what the user
// may do.
type salesBase struct {
	base
	Tabs      []salesTab
	CanWrite  bool
	CanManage bool // the products catalogue
	CanAdmin  bool // pipelines, lost reasons, settings
	DateHint  string
}

func (s *server) salesPage(r *http.Request, titleKey, current string) salesBase {
	st := state(r)
	b := salesBase{base: s.page(r, titleKey), CanWrite: st.user.Can(crm.PermSalesWrite), CanManage: st.user.Can(crm.PermSalesManage),
		CanAdmin: st.user.Can(crm.PermSettingsManage), DateHint: st.p.DateInput(nowFunc())}
	for _, t := range []salesTab{{Key: "board", Href: "/sales"}, {Key: "deals", Href: "/sales/deals"}, {Key: "leads", Href: "/sales/leads"},
		{Key: "activities", Href: "/sales/activities"}, {Key: "forecast", Href: "/sales/forecast"}, {Key: "products", Href: "/sales/products"}} {
		if t.Key == "activities" && !st.user.Can(crm.PermContactsRead) {
			continue
		}
		t.Current = t.Key == current
		b.Tabs = append(b.Tabs, t)
	}
	return b
}

// Money formats an amount of a currency in the user's digits.
func (b *salesBase) Money(amount int64, currency string) string {
	return formatMoney(b.L, amount, currency)
}

// Amount is Money without the currency, for tables that name it once.
func (b *salesBase) Amount(amount int64, currency string) string {
	return moneyAmount(b.L, amount, currency)
}

// Totals formats amounts of several currencies: "1,000 IRR · 20 USD"
// (joined by the language's separator, a comma in Persian and Arabic).
func (b *salesBase) Totals(list []sales.Amount) string { return totalsText(b.L, list, false) }

// Weighted formats the weighted amounts of several currencies.
func (b *salesBase) Weighted(list []sales.Amount) string { return totalsText(b.L, list, true) }

func totalsText(p *locale.Printer, list []sales.Amount, weighted bool) string {
	if len(list) == 0 {
		return p.T("sales.board.no_value")
	}
	parts := make([]string, len(list))
	for i, a := range list {
		v := a.Value
		if weighted {
			v = a.Weighted
		}
		parts[i] = formatMoney(p, v, a.Currency)
	}
	return strings.Join(parts, p.Sep())
}

// CloseDate shows a deal's expected close date (YYYY-MM-DD) in the
// user's calendar.
func (b *salesBase) CloseDate(day string) string { return civilDay(b.L, day) }

// CloseDateLong is CloseDate with the month's name: "4 January 2027".
func (b *salesBase) CloseDateLong(day string) string {
	t, err := time.ParseInLocation(time.DateOnly, day, b.L.Location())
	if err != nil {
		return day
	}
	return b.L.DateLong(t)
}

// civilDay shows a Gregorian YYYY-MM-DD date in the user's calendar and
// digits; "" stays "".
func civilDay(p *locale.Printer, day string) string {
	if day == "" {
		return ""
	}
	t, err := time.ParseInLocation(time.DateOnly, day, p.Location())
	if err != nil {
		return day
	}
	return p.Date(t)
}

// dayInput reads a date typed in the user's calendar (any digits) as
// YYYY-MM-DD (Gregorian); ok is false when it is not a date.
func dayInput(p *locale.Printer, s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	t, err := p.ParseDate(s)
	if err != nil {
		return "", false
	}
	return t.Format(time.DateOnly), true
}

// Overdue reports whether an open deal's expected close date has passed.
func (b *salesBase) Overdue(d *crm.Deal) bool {
	return d.Status == crm.DealOpen && d.ExpectedClose != "" && d.ExpectedClose < b.L.In(nowFunc()).Format(time.DateOnly)
}

// Percent formats a share (0–1) as a percent in the user's digits.
func (b *salesBase) Percent(f float64) string { return percent(b.L, f, 0) }

// --- Filters of the board, the list and the export ---

// dealFilterForm reads owner, tag, close dates (in the user's calendar),
// status, stage and q from the query: the filter for the service and the
// form to show again, with field errors.
func dealFilterForm(p *locale.Printer, q url.Values) (crm.DealFilter, form) {
	f := form{Values: map[string]string{}}
	for _, k := range []string{"owner", "tag", "from", "to", "status", "stage", "pipeline", "q", "contact", "company"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	var out crm.DealFilter
	switch o := f.V("owner"); o {
	case "":
	case "none":
		zero := int64(0)
		out.OwnerID = &zero
	default:
		id, err := strconv.ParseInt(text.ToASCIIDigits(o), 10, 64)
		if err != nil || id <= 0 {
			f.invalid(p, "owner", "error.choose_option")
		} else {
			out.OwnerID = &id
		}
	}
	out.Tag, out.Q = f.V("tag"), f.V("q")
	for _, k := range []string{"from", "to"} {
		day, ok := dayInput(p, f.V(k))
		if !ok {
			f.invalid(p, k, "sales.error.date", "example", p.DateInput(nowFunc()))
			continue
		}
		if k == "from" {
			out.CloseFrom = day
		} else {
			out.CloseTo = day
		}
	}
	if st := f.V("status"); st != "" && st != "all" {
		if !slices.Contains(crm.DealStatuses, st) {
			f.invalid(p, "status", "error.choose_option")
		}
		out.Status = st
	}
	for _, k := range []string{"stage", "pipeline", "contact", "company"} {
		if v := f.V(k); v != "" {
			id, err := strconv.ParseInt(text.ToASCIIDigits(v), 10, 64)
			if err != nil || id <= 0 {
				f.invalid(p, k, "error.choose_option")
				continue
			}
			switch k {
			case "stage":
				out.StageID = id
			case "pipeline":
				out.PipelineID = id
			case "contact":
				out.ContactID = id
			case "company":
				out.CompanyID = id
			}
		}
	}
	// cf.<key> filters on a deal field (the service checks key and value).
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "cf."); ok && len(vs) > 0 {
			if v := strings.TrimSpace(vs[0]); v != "" {
				f.Values[k] = v
				if out.Custom == nil {
					out.Custom = map[string]string{}
				}
				out.Custom[key] = v
			}
		}
	}
	return out, f
}

// filterQuery is the query string keeping a filter form's values.
func filterQuery(f form, keys ...string) url.Values {
	q := url.Values{}
	for _, k := range keys {
		if v := f.V(k); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// salesFilterKeys are the board's and list's shared filters.
var salesFilterKeys = []string{"owner", "tag", "from", "to"}

// salesChoices are the menus of the filters: the users, the tags.
type salesChoices struct {
	Users []sales.UserRef
	Tags  []string
}

func (s *server) salesChoices(ctx context.Context) (salesChoices, error) {
	var c salesChoices
	var err error
	if c.Users, err = s.sales.Users(ctx); err != nil {
		return c, err
	}
	c.Tags, err = s.sales.DealTags(ctx)
	return c, err
}

// UserName names a user of the menus.
func (c salesChoices) UserName(u sales.UserRef) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// stageName translates nothing: stage names are the admins' words. It
// marks a removed stage.
func stageLabel(p *locale.Printer, st crm.Stage) string {
	if st.RemovedAt != nil {
		return p.T("sales.stage.removed", "name", st.Name)
	}
	return st.Name
}
