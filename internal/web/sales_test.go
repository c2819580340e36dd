package web

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// salesApp is the web UI with the contacts, sales and reports modules.
type salesApp struct {
	*testApp
	sales *sales.Service
}

func newSalesTestApp(t *testing.T, db *store.DB) *salesApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	sa := &salesApp{testApp: a, sales: sales.New(db, sales.Options{Person: a.contacts.PersonForLead, Company: a.contacts.CompanyForLead, Region: "IR"})}
	reports := report.New(db, report.Options{Logger: slog.New(slog.DiscardHandler)})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Sales: sa.sales, Reports: reports, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return sa
}

// signedIn makes a user of role who prefers lang (Jalali and the
// language's digits for fa and ar) and signs them in.
func (sa *salesApp) signedIn(t *testing.T, email string, role crm.Role, lang string) (*client, *crm.User) {
	t.Helper()
	u := sa.createUser(email, role)
	prefs := crm.DefaultPreferences(lang)
	if lang == "ar" {
		prefs.Calendar = "jalali"
	}
	if _, err := sa.auth.UpdatePreferences(context.Background(), u.ID, prefs); err != nil {
		t.Fatal(err)
	}
	c := sa.client(t)
	c.signIn(email)
	return c, u
}

// salesFixture is a pipeline (made by the board's "standard pipeline"
// button) with deals, lines, a quote, a lead, a product and activities.
type salesFixture struct {
	pipe     *crm.Pipeline
	deal     *crm.Deal
	lost     *crm.Deal
	quote    *crm.Quote
	lead     *crm.Lead
	product  *crm.Product
	leadDone *crm.Lead
}

func (sa *salesApp) seed(t *testing.T, c *client, admin *crm.User) salesFixture {
	t.Helper()
	ctx := crm.NewContextWithUser(context.Background(), admin)
	var f salesFixture
	r := c.post("/sales/pipelines/default", "/sales", nil)
	mustStatus(t, r, http.StatusSeeOther)
	ps, err := sa.sales.Pipelines(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pipelines: %v %v", ps, err)
	}
	f.pipe = ps[0]
	// The address the user guide names leads to the first pipeline's board.
	if r := c.get("/sales/board"); r.status != http.StatusSeeOther || r.location() != "/sales/board/"+strconv.FormatInt(f.pipe.ID, 10) {
		t.Fatalf("/sales/board: %d %q", r.status, r.location())
	}
	person, err := sa.contacts.CreateContact(ctx, &crm.Contact{FirstName: "سارا", LastName: "<کریمی>", Phones: []crm.Labeled{{Value: "09121234567"}},
		Addresses: []crm.Address{{Street: "خیابان ولیعصر ۱۲", City: "تهران", Country: "IR"}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	company, err := sa.contacts.CreateCompany(ctx, &crm.Company{Name: "بازرگانی کریمی"})
	if err != nil {
		t.Fatal(err)
	}
	if f.product, err = sa.sales.CreateProduct(ctx, sales.ProductInput{Name: "چای ممتاز", SKU: "TEA-1", Price: 1_200_000, Currency: f.pipe.Currency, TaxRate: 900}); err != nil {
		t.Fatal(err)
	}
	for _, cf := range []*crm.CustomField{{Entity: "deal", Key: "floor", Label: "طبقه", Type: crm.FieldNumber, ShowInList: true},
		{Entity: "deal", Key: "region", Label: "منطقه", Type: crm.FieldSelect, Options: []string{"شمال", "جنوب"}}} {
		if _, err := sa.contacts.CreateCustomField(ctx, cf); err != nil {
			t.Fatal(err)
		}
	}
	qty := int64(3)
	f.deal, err = sa.sales.CreateDeal(ctx, sales.DealInput{Title: "میز و صندلی <دفتر>", ContactID: person.ID, CompanyID: company.ID, ValueFromLines: true,
		ExpectedClose: time.Now().AddDate(0, 1, 0).Format(time.DateOnly), Tags: []string{"عمده"}, StageID: f.pipe.Stages[1].ID,
		Lines: []sales.LineInput{{ProductID: f.product.ID, Quantity: &qty, Discount: 100_000}}, Custom: map[string]any{"floor": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.sales.Move(ctx, f.deal.ID, sales.MoveInput{StageID: f.pipe.Stages[2].ID}); err != nil {
		t.Fatal(err)
	}
	if f.quote, err = sa.sales.CreateQuote(ctx, f.deal.ID, sales.QuoteInput{Notes: "تحویل در یک هفته"}); err != nil {
		t.Fatal(err)
	}
	reason, err := sa.sales.CreateLostReason(ctx, "قیمت بالا")
	if err != nil {
		t.Fatal(err)
	}
	v := int64(500_000)
	if f.lost, err = sa.sales.CreateDeal(ctx, sales.DealInput{Title: "Lost one", Value: &v}); err != nil {
		t.Fatal(err)
	}
	if f.lost, err = sa.sales.Lose(ctx, f.lost.ID, sales.MoveInput{LostReasonID: reason.ID, LostNote: "cheaper elsewhere"}); err != nil {
		t.Fatal(err)
	}
	won, err := sa.sales.CreateDeal(ctx, sales.DealInput{Title: "Won one", Value: &v})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.sales.Win(ctx, won.ID, 0); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	if _, err := sa.activity.CreateTask(ctx, crm.Task{Kind: crm.ActivityCall, Title: "تماس با سارا", DealID: f.deal.ID, DueAt: &past}); err != nil {
		t.Fatal(err)
	}
	tk, err := sa.activity.CreateTask(ctx, crm.Task{Kind: crm.ActivityMeeting, Title: "جلسهٔ معرفی", DealID: f.deal.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.activity.CompleteTask(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	if f.lead, err = sa.sales.CreateLead(ctx, sales.LeadInput{FirstName: "نیما", CompanyName: "آزادی", Phone: "09351112233", Source: "web form", Value: 9_000_000, Currency: f.pipe.Currency}); err != nil {
		t.Fatal(err)
	}
	l2, err := sa.sales.CreateLead(ctx, sales.LeadInput{FirstName: "Omid", Email: "omid@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.sales.ConvertLead(ctx, l2.ID, sales.ConvertInput{}); err != nil {
		t.Fatal(err)
	}
	f.leadDone = l2
	return f
}

// salesPages renders every page of the sales module in lang, with an
// admin signed in, for the every-page-every-language checks: the board
// (empty, plain, filtered, with a bad filter), the list, a deal, its
// forms (and failed ones), leads, products, a quote, the forecast, the
// activities, the settings, a pipeline, and the sales dashboard.
func salesPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	sa := newSalesTestApp(t, storetest.Open(t, db.Dialect()))
	email := "sales-" + lang + "@example.com"
	c, admin := sa.signedIn(t, email, crm.RoleAdmin, lang)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/sales") // no pipeline yet: the empty board offers one
	f := sa.seed(t, c, admin)
	board := "/sales/board/" + strconv.FormatInt(f.pipe.ID, 10)
	deal := "/sales/deals/" + strconv.FormatInt(f.deal.ID, 10)
	lead := "/sales/leads/" + strconv.FormatInt(f.lead.ID, 10)
	from := "1400/01/01"
	if lang == "en" {
		from = "2021/03/21"
	}
	for _, p := range []string{board, board + "?owner=" + strconv.FormatInt(admin.ID, 10) + "&tag=عمده&from=" + from, board + "?from=nope",
		"/sales/deals", "/sales/deals?status=all&q=x", "/sales/deals?to=nope", "/sales/deals?cf.region=nope", "/sales/deals?cf.region=شمال&cf.floor=3", "/sales/deals/new", deal, deal + "/edit",
		"/sales/deals/" + strconv.FormatInt(f.lost.ID, 10), "/sales/quotes/" + strconv.FormatInt(f.quote.ID, 10),
		"/sales/leads", "/sales/leads?status=converted", "/sales/leads/new", lead, lead + "/edit", "/sales/leads/" + strconv.FormatInt(f.leadDone.ID, 10),
		"/sales/products", "/sales/products/" + strconv.FormatInt(f.product.ID, 10), "/sales/forecast", "/sales/forecast?months=12&from=nope",
		"/sales/activities", "/sales/activities?view=done", "/sales/activities?view=open&kind=call",
		"/settings/sales", "/settings/sales/pipelines/" + strconv.FormatInt(f.pipe.ID, 10), "/reports/sales",
		"/contacts/" + strconv.FormatInt(f.deal.ContactID, 10), "/sales/deals/999999"} {
		add(p)
	}
	tok := c.csrf(deal)
	post := func(name, path string, v url.Values) {
		v.Set("csrf", tok)
		out = append(out, pageResponse{"POST " + name, c.post(path, "", v)})
	}
	post("/sales/deals", "/sales/deals", url.Values{"title": {""}, "value": {"x"}, "expected_close": {"nope"}, "person": {"nobody at all"}, "custom.floor": {"x"}})
	post(deal, deal, url.Values{"title": {"t"}, "custom.region": {"nope"}, "version": {"0"}})
	post(deal+"/lines", deal+"/lines", url.Values{"product_id": {strconv.FormatInt(f.product.ID, 10)}, "quantity": {"-2"}})
	post(deal+"/lose", deal+"/lose", url.Values{"version": {"0"}})
	post(deal+"/quotes", deal+"/quotes", url.Values{"valid_until": {"nope"}})
	post(deal+"/activities", deal+"/activities", url.Values{"kind": {"fax"}, "title": {""}})
	post("/sales/leads", "/sales/leads", url.Values{"email": {"bad"}, "status": {"new"}})
	post(lead+"/convert", lead+"/convert", url.Values{"create_deal": {"1"}, "deal_value": {"x"}})
	post("/sales/products", "/sales/products", url.Values{"name": {""}, "price": {"-"}, "currency": {"XX"}})
	post("/settings/sales", "/settings/sales", url.Values{"visibility": {"everyone"}, "quote_valid_days": {"0"}})
	post("/settings/sales/pipelines", "/settings/sales/pipelines", url.Values{"name": {""}, "currency": {"IRR"}})
	return out
}

func TestSalesPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range salesPages(t, db, l.Code) {
					if i := strings.Index(pr.r.body, locale.MissingMark); i >= 0 {
						t.Errorf("%s %s: missing catalog key near %q", l.Code, pr.path, pr.r.body[i:min(len(pr.r.body), i+60)])
					}
					if !strings.Contains(pr.r.body, `<html lang="`+l.Code+`"`) {
						t.Errorf("%s %s: status %d, not a page:\n%.400s", l.Code, pr.path, pr.r.status, pr.r.body)
						continue
					}
					want := http.StatusOK
					switch {
					case strings.HasPrefix(pr.path, "POST"), strings.Contains(pr.path, "nope"):
						want = http.StatusUnprocessableEntity
					case strings.HasSuffix(pr.path, "999999"):
						want = http.StatusNotFound
					}
					if pr.r.status != want {
						t.Errorf("%s %s: status %d, want %d", l.Code, pr.path, pr.r.status, want)
					}
				}
			})
		}
	})
}

// TestSalesPagesContent checks what the pages say: the board's totals in
// the user's digits, the deal's time in stages, the quote's business and
// totals, the forecast's Jalali months, escaping; on both engines.
func TestSalesPagesContent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "fa@example.com", crm.RoleAdmin, "fa")
		f := sa.seed(t, c, admin)
		ctx := crm.NewContextWithUser(context.Background(), admin)
		st := sales.DefaultSettings()
		st.BusinessName, st.QuotePrefix = "فروشگاه <پیوند>", "پ-"
		if _, err := sa.sales.SaveSettings(ctx, st); err != nil {
			t.Fatal(err)
		}
		board := c.get("/sales/board/" + strconv.FormatInt(f.pipe.ID, 10))
		mustStatus(t, board, http.StatusOK)
		// 3 × 1,200,000 − 100,000 = 3,500,000 rials at 60%: 2,100,000 weighted.
		mustContain(t, board, "۳٬۵۰۰٬۰۰۰ IRR", "۲٬۱۰۰٬۰۰۰ IRR", "۱ معامله", "میز و صندلی &lt;دفتر&gt;", `data-deal="`+strconv.FormatInt(f.deal.ID, 10)+`"`,
			`src="/static/`, `kanban.js"`, `action="/sales/deals/`+strconv.FormatInt(f.deal.ID, 10)+`/move"`)
		if strings.Contains(board.body, "style=") {
			t.Error("the board has an inline style")
		}
		deal := c.get("/sales/deals/" + strconv.FormatInt(f.deal.ID, 10))
		mustContain(t, deal, "زمان ماندن در هر مرحله", "۳٬۸۱۵٬۰۰۰ IRR", "تماس با سارا", "جلسهٔ معرفی", "پ-۱", "سارا &lt;کریمی&gt;")
		q := c.get("/sales/quotes/" + strconv.FormatInt(f.quote.ID, 10))
		mustContain(t, q, "فروشگاه &lt;پیوند&gt;", "پ-۱", "۳٬۸۱۵٬۰۰۰ IRR", "۳۱۵٬۰۰۰ IRR", "خیابان ولیعصر ۱۲", `quote.js"`)
		if !regexp.MustCompile(`تاریخ: [۰-۹]+ [^ ]+ ۱۴[۰-۹]{2}`).MatchString(q.body) {
			t.Error("the quote's date is not a Jalali date in Persian digits")
		}
		fc := c.get("/sales/forecast")
		mustStatus(t, fc, http.StatusOK)
		if !regexp.MustCompile(`(فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}`).MatchString(fc.body) {
			t.Error("the forecast's months are not Jalali")
		}
		csv := c.get("/sales/deals/export.csv?status=all")
		if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "\uFEFFid,title,") || !strings.Contains(csv.body, "میز و صندلی <دفتر>") {
			t.Fatalf("export: %d %.300s", csv.status, csv.body)
		}
		// A value typed without a currency is read in the pipeline's (rials
		// have no decimals: 12,000,000 stays 12,000,000).
		nd := c.post("/sales/deals", "/sales/deals/new", url.Values{"title": {"بی‌ارز"}, "value": {"۱۲٬۰۰۰٬۰۰۰"},
			"stage_id": {strconv.FormatInt(f.pipe.Stages[0].ID, 10)}, "custom.region": {"جنوب"}})
		mustStatus(t, nd, http.StatusSeeOther)
		ndID, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(nd.location(), "?", 2)[0], "/sales/deals/"), 10, 64)
		if d, err := sa.sales.Deal(ctx, ndID); err != nil || d.Value != 12_000_000 || d.Currency != "IRR" {
			t.Fatalf("a deal typed without a currency: %+v %v", d, err)
		}
		// A change of its fields is named in its history.
		if _, err := sa.sales.UpdateDeal(ctx, ndID, sales.DealUpdate{Custom: map[string]any{"region": "شمال"}}); err != nil {
			t.Fatal(err)
		}
		mustContain(t, c.get("/sales/deals/"+strconv.FormatInt(ndID, 10)), "فیلدهای سفارشی", "<dt>منطقه</dt><dd>شمال</dd>")
		act := c.get("/sales/activities")
		mustContain(t, act, "تماس با سارا", "دیرکردهای")
		// A move posted by the board's script answers JSON with the columns.
		tok := c.csrf("/sales/board/" + strconv.FormatInt(f.pipe.ID, 10))
		req, _ := http.NewRequest(http.MethodPost, sa.srv.URL+"/sales/deals/"+strconv.FormatInt(f.deal.ID, 10)+"/move",
			strings.NewReader(url.Values{"stage_id": {strconv.FormatInt(f.pipe.Stages[3].ID, 10)}, "version": {"1"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", tok)
		r := c.do(req)
		var ans moveAnswer
		if err := json.Unmarshal([]byte(r.body), &ans); err != nil {
			t.Fatalf("move answer %d %s: %v", r.status, r.body, err)
		}
		// Version 1 is stale (the seed moved it once): 409 with the deal where it is.
		if r.status != http.StatusConflict || !ans.Conflict || ans.Deal == nil || ans.Deal.StageID != f.pipe.Stages[2].ID || len(ans.Columns) != 4 {
			t.Fatalf("stale move: %d %s", r.status, r.body)
		}
		req, _ = http.NewRequest(http.MethodPost, sa.srv.URL+"/sales/deals/"+strconv.FormatInt(f.deal.ID, 10)+"/move",
			strings.NewReader(url.Values{"stage_id": {strconv.FormatInt(f.pipe.Stages[3].ID, 10)}, "version": {strconv.FormatInt(ans.Deal.Version, 10)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", tok)
		r = c.do(req)
		if err := json.Unmarshal([]byte(r.body), &ans); err != nil || r.status != http.StatusOK || !ans.OK || ans.Columns[3].Count != "۱ معامله" {
			t.Fatalf("move: %d %s", r.status, r.body)
		}
		// The move form without a script goes back to the board.
		r = c.post("/sales/deals/"+strconv.FormatInt(f.deal.ID, 10)+"/move", "", url.Values{"csrf": {tok}, "stage_id": {strconv.FormatInt(f.pipe.Stages[0].ID, 10)},
			"version": {strconv.FormatInt(ans.Deal.Version, 10)}, "back": {"/sales/board/" + strconv.FormatInt(f.pipe.ID, 10) + "?tag=x"}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/sales/board/"+strconv.FormatInt(f.pipe.ID, 10)+"?tag=x&notice=deal_moved") {
			t.Fatalf("form move: %d %s", r.status, r.location())
		}
		// The dashboard's sales panels.
		rep := c.get("/reports/sales")
		mustContain(t, rep, "قیف تبدیل", "نرخ برد و چرخهٔ فروش", "پیش‌بینی وزنی", "فعالیت هر کارشناس", "قیمت بالا")
		// Each panel draws its chart on the server (SVG, no script).
		if n := strings.Count(rep.body, "<svg "); n < 5 {
			t.Errorf("the sales dashboard has %d SVG charts", n)
		}
	})
}

// TestSalesCSSLogicalProperties keeps sales.css free of physical left and
// right, as TestCSSLogicalProperties does for app.css.
func TestSalesCSSLogicalProperties(t *testing.T) {
	css, err := fs.ReadFile(embedded, "static/sales.css")
	if err != nil {
		t.Fatal(err)
	}
	noComments := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	bad := regexp.MustCompile(`(?i)(margin|padding|border)-(left|right)|(^|[\s;{])(left|right)\s*:|text-align\s*:\s*(left|right)|float\s*:\s*(left|right)|clear\s*:\s*(left|right)|border-(top|bottom)-(left|right)-radius`)
	for i, line := range strings.Split(noComments, "\n") {
		if m := bad.FindString(line); m != "" {
			t.Errorf("sales.css line %d uses a physical property (%q): %s", i+1, m, strings.TrimSpace(line))
		}
	}
}

// TestSalesVisibilityOnTheWeb: with the team setting, a rep's board and
// list hold only their team's deals, and another team's deal is not found.
func TestSalesVisibilityOnTheWeb(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		ca, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
		sa.seed(t, ca, admin)
		ctx := crm.NewContextWithUser(context.Background(), admin)
		st := sales.DefaultSettings()
		st.Visibility = crm.SalesSeeTeam
		if _, err := sa.sales.SaveSettings(ctx, st); err != nil {
			t.Fatal(err)
		}
		cr, rep := sa.signedIn(t, "rep@example.com", crm.RoleSales, "en")
		v := int64(10)
		mine, err := sa.sales.CreateDeal(crm.NewContextWithUser(context.Background(), rep), sales.DealInput{Title: "Rep's own", Value: &v})
		if err != nil {
			t.Fatal(err)
		}
		list := cr.get("/sales/deals")
		mustContain(t, list, "Rep&#39;s own")
		if strings.Contains(list.body, "Lost one") || strings.Contains(list.body, "میز و صندلی") {
			t.Error("the rep sees another team's deals")
		}
		mustStatus(t, cr.get("/sales/deals/"+strconv.FormatInt(mine.ID, 10)), http.StatusOK)
		mustStatus(t, cr.get("/sales/deals/1"), http.StatusNotFound)
		mustStatus(t, cr.get("/settings/sales"), http.StatusForbidden)
	})
}
