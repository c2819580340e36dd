package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/chart"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// The campaign pages (internal/campaign): the list, the editor with a
// preview per person and language, test sends and the SMS counter, the
// campaign's page with sending controls and results, its deliveries, the
// campaign settings (SMTP server, SMS provider, limits), and the public
// ends of a message: the open pixel, click redirects and the unsubscribe
// page (campaignPublic, outside sessions and CSRF: the signed token is the
// authority). Installed when Options.Campaigns is set.

// Choice is an option of a select: a segment or list to send to.
type Choice struct {
	ID   int64
	Name string
}

func init() {
	webModules = append(webModules, webModule{
		on:          func(s *server) bool { return s.campaigns != nil },
		nav:         []navItem{{Key: "campaigns.nav", Href: "/campaigns", Perm: crm.PermMarketingRead, Prefix: "/campaigns/"}},
		settingsNav: []navItem{{Key: "campaigns.nav_settings", Href: "/settings/campaigns", Perm: crm.PermSettingsManage}},
		routes:      campaignRoutes,
	})
	for _, kind := range []string{"campaign.sent", "campaign.opened", "campaign.clicked", "campaign.unsubscribed", "campaign.bounced"} {
		registerTimeline(kind, timelineRenderer{Icon: "mail", Payload: func() any { return new(campaign.TimelinePayload) }})
	}
}

func campaignRoutes(s *server, mux *http.ServeMux) {
	read, write, manage := crm.PermMarketingRead, crm.PermMarketingWrite, crm.PermSettingsManage
	mux.HandleFunc("GET /campaigns", s.can(read, s.handleCampaigns))
	mux.HandleFunc("GET /campaigns/{$}", s.can(read, s.handleCampaigns))
	mux.HandleFunc("GET /campaigns/new", s.can(write, s.handleCampaignNew))
	mux.HandleFunc("POST /campaigns", s.can(write, s.handleCampaignCreate))
	mux.HandleFunc("GET /campaigns/{id}", s.can(read, s.handleCampaign))
	mux.HandleFunc("GET /campaigns/{id}/edit", s.can(write, s.handleCampaignEdit))
	mux.HandleFunc("POST /campaigns/{id}", s.can(write, s.handleCampaignUpdate))
	mux.HandleFunc("POST /campaigns/{id}/test", s.can(write, s.handleCampaignTest))
	mux.HandleFunc("POST /campaigns/{id}/schedule", s.can(write, s.handleCampaignSchedule))
	mux.HandleFunc("POST /campaigns/{id}/action/{action}", s.can(write, s.handleCampaignAction))
	mux.HandleFunc("GET /campaigns/{id}/preview.html", s.can(read, s.handleCampaignPreviewHTML))
	mux.HandleFunc("GET /campaigns/{id}/deliveries", s.can(read, s.handleCampaignDeliveries))
	mux.HandleFunc("GET /settings/campaigns", s.can(manage, s.handleCampaignSettings))
	mux.HandleFunc("POST /settings/campaigns", s.can(manage, s.handleCampaignSettingsSave))
}

// --- List ---

type campaignRow struct {
	C       *crm.Campaign
	Results *crm.CampaignResults
}

type campaignsPage struct {
	base
	Rows     []campaignRow
	Status   string
	Next     string
	CanWrite bool
	Statuses []string
}

func (s *server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &campaignsPage{base: s.page(r, "campaigns.title"), Status: r.URL.Query().Get("status"), CanWrite: state(r).user.Can(crm.PermMarketingWrite),
		Statuses: []string{crm.CampaignDraft, crm.CampaignScheduled, crm.CampaignSending, crm.CampaignWaiting, crm.CampaignPaused, crm.CampaignDone, crm.CampaignCancelled}}
	switch d.Status {
	case "", crm.CampaignDraft, crm.CampaignScheduled, crm.CampaignSending, crm.CampaignWaiting, crm.CampaignPaused, crm.CampaignDone, crm.CampaignCancelled:
	default:
		d.Status = ""
	}
	list, next, err := s.campaigns.List(ctx, d.Status, crm.Page{Limit: 50, After: r.URL.Query().Get("after")})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Next = next
	for _, c := range list {
		res, err := s.campaigns.Summary(ctx, c.ID)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Rows = append(d.Rows, campaignRow{C: c, Results: res})
	}
	s.render(w, r, http.StatusOK, "campaigns", d)
}

// --- Editor ---

type campaignLang struct {
	Code, Name string
	CountText  string // the SMS counter's text
}

// smsCountText says how an SMS travels, in the reader's language.
func smsCountText(p *locale.Printer, c campaign.SMSCount) string {
	enc := "GSM-7"
	if c.Encoding == "ucs2" {
		enc = "UCS-2"
	}
	return p.T("campaigns.sms_count", "units", p.Number(int64(c.Units)), "parts", p.Number(int64(c.Parts)), "encoding", enc)
}

type campaignFormPage struct {
	base
	Form         form
	ID           int64 // 0: new
	Version      int64
	ContentLangs []campaignLang
	Segments     []Choice
	Started      bool     // a paused campaign: channel, audience and A/B test are fixed
	Variants     []abSlot // the A/B variant slots shown (1 = B, …)
	Metrics      []string
}

var campaignLangNames = map[string]string{"en": "English", "fa": "فارسی", "ar": "العربية"}

func campaignFormValues(c *crm.Campaign) map[string]string {
	v := map[string]string{"name": c.Name, "channel": c.Channel, "audience_kind": c.AudienceKind, "audience_id": "",
		"from_name": c.FromName, "from_address": c.FromAddress, "default_language": c.DefaultLanguage,
		"coupon_batch_id": "", "attribution_days": strconv.Itoa(c.AttributionDays)}
	if c.AudienceID > 0 {
		v["audience_id"] = strconv.FormatInt(c.AudienceID, 10)
	}
	if c.CouponBatchID > 0 {
		v["coupon_batch_id"] = strconv.FormatInt(c.CouponBatchID, 10)
	}
	for lang, ct := range c.Content {
		v[lang+".subject"], v[lang+".html"], v[lang+".text"], v[lang+".sms"] = ct.Subject, ct.HTML, ct.Text, ct.SMS
	}
	v["ab_test_percent"], v["ab_metric"], v["ab_wait_hours"] = "20", crm.ABClickRate, "4"
	if ab := c.AB; ab != nil {
		v["ab"], v["ab_test_percent"], v["ab_metric"], v["ab_wait_hours"] = "on", strconv.Itoa(ab.TestPercent), ab.Metric, strconv.Itoa(ab.WaitHours)
		if ab.AutoSend {
			v["ab_auto_send"] = "on"
		}
		for i, vr := range ab.Variants {
			k := fmt.Sprintf("ab%d.", i+1)
			v[k+"name"] = vr.Name
			for lang, ct := range vr.Content {
				v[k+lang+".subject"], v[k+lang+".html"], v[k+lang+".text"], v[k+lang+".sms"] = ct.Subject, ct.HTML, ct.Text, ct.SMS
			}
		}
	}
	return v
}

// abSlot is a variant slot of the editor: its form prefix (ab1) and letter.
type abSlot struct {
	Key, Letter string
}

// abSlots are the variant slots the editor shows: the variants the form
// has and one empty one more, up to campaign.MaxVariants.
func abSlots(f form) []abSlot {
	n := 1
	for i := 1; i <= campaign.MaxVariants; i++ {
		k := fmt.Sprintf("ab%d.", i)
		for key, val := range f.Values {
			if strings.HasPrefix(key, k) && val != "" {
				n = i + 1
			}
		}
	}
	out := []abSlot{}
	for i := 1; i <= min(n, campaign.MaxVariants); i++ {
		out = append(out, abSlot{Key: fmt.Sprintf("ab%d", i), Letter: campaign.VariantName(nil, i)})
	}
	return out
}

func (s *server) handleCampaignNew(w http.ResponseWriter, r *http.Request) {
	c := &crm.Campaign{Channel: campaign.ChannelEmail, AudienceKind: campaign.AudienceAll, DefaultLanguage: state(r).p.Lang(), AttributionDays: 7,
		Content: map[string]crm.CampaignContent{}}
	if ch := r.URL.Query().Get("channel"); ch == campaign.ChannelSMS {
		c.Channel = ch
	}
	s.renderCampaignForm(w, r, http.StatusOK, 0, 0, false, form{Values: campaignFormValues(c)})
}

func (s *server) renderCampaignForm(w http.ResponseWriter, r *http.Request, status int, id, version int64, started bool, f form) {
	title := "campaigns.new"
	if id > 0 {
		title = "campaigns.edit"
	}
	d := &campaignFormPage{base: s.page(r, title), Form: f, ID: id, Version: version, Started: started, Variants: abSlots(f), Metrics: campaign.ABMetrics}
	for _, l := range campaign.Languages {
		d.ContentLangs = append(d.ContentLangs, campaignLang{Code: l, Name: campaignLangNames[l], CountText: smsCountText(state(r).p, campaign.CountSMS(f.V(l+".sms")))})
	}
	if s.segments != nil {
		var err error
		if d.Segments, err = s.segments(r.Context()); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "campaign_form", d)
}

func campaignFormNames() []string {
	names := []string{"name", "channel", "audience_kind", "audience_id", "from_name", "from_address", "default_language", "coupon_batch_id",
		"attribution_days", "version"}
	for _, l := range campaign.Languages {
		names = append(names, l+".subject", l+".html", l+".text", l+".sms")
	}
	names = append(names, "ab", "ab_test_percent", "ab_metric", "ab_wait_hours", "ab_auto_send")
	for i := 1; i <= campaign.MaxVariants; i++ {
		k := fmt.Sprintf("ab%d.", i)
		names = append(names, k+"name")
		for _, l := range campaign.Languages {
			names = append(names, k+l+".subject", k+l+".html", k+l+".text", k+l+".sms")
		}
	}
	return names
}

// campaignInput reads the editor's form; number fields it cannot read are
// marked on f.
func campaignInput(p *locale.Printer, r *http.Request, f *form) campaign.Input {
	in := campaign.Input{Name: f.V("name"), Channel: f.V("channel"), AudienceKind: f.V("audience_kind"), FromName: f.V("from_name"),
		FromAddress: f.V("from_address"), DefaultLanguage: f.V("default_language"), Content: map[string]crm.CampaignContent{}}
	num := func(name string) int64 {
		v := f.V(name)
		if v == "" {
			return 0
		}
		n, err := p.ParseInt(v)
		if err != nil {
			f.invalid(p, name, "campaigns.error.number")
		}
		return n
	}
	in.AudienceID = num("audience_id")
	in.CouponBatchID = num("coupon_batch_id")
	in.AttributionDays = int(num("attribution_days"))
	for _, l := range campaign.Languages {
		// Bodies keep their own spacing; only the subject is trimmed.
		ct := crm.CampaignContent{Subject: f.V(l + ".subject"), HTML: r.PostFormValue(l + ".html"), Text: r.PostFormValue(l + ".text"),
			SMS: r.PostFormValue(l + ".sms")}
		f.Values[l+".html"], f.Values[l+".text"], f.Values[l+".sms"] = ct.HTML, ct.Text, ct.SMS
		switch in.Channel {
		case campaign.ChannelSMS:
			ct.Subject, ct.HTML, ct.Text = "", "", ""
		default:
			ct.SMS = ""
		}
		if strings.TrimSpace(ct.Subject+ct.HTML+ct.Text+ct.SMS) != "" {
			in.Content[l] = ct
		}
	}
	if f.V("ab") != "" {
		in.AB = &crm.ABTest{Metric: f.V("ab_metric"), AutoSend: f.V("ab_auto_send") != "",
			TestPercent: int(num("ab_test_percent")), WaitHours: int(num("ab_wait_hours"))}
		for i := 1; i <= campaign.MaxVariants; i++ {
			k := fmt.Sprintf("ab%d.", i)
			vr := crm.ABVariant{Name: f.V(k + "name"), Content: map[string]crm.CampaignContent{}}
			for _, l := range campaign.Languages {
				ct := crm.CampaignContent{Subject: f.V(k + l + ".subject"), HTML: r.PostFormValue(k + l + ".html"),
					Text: r.PostFormValue(k + l + ".text"), SMS: r.PostFormValue(k + l + ".sms")}
				f.Values[k+l+".html"], f.Values[k+l+".text"], f.Values[k+l+".sms"] = ct.HTML, ct.Text, ct.SMS
				switch in.Channel {
				case campaign.ChannelSMS:
					ct.Subject, ct.HTML, ct.Text = "", "", ""
				default:
					ct.SMS = ""
				}
				if strings.TrimSpace(ct.Subject+ct.HTML+ct.Text+ct.SMS) != "" {
					vr.Content[l] = ct
				}
			}
			if len(vr.Content) > 0 || vr.Name != "" {
				in.AB.Variants = append(in.AB.Variants, vr)
			}
		}
	}
	return in
}

// campaignFieldKeys maps the service's fields to the editor's.
func campaignFieldKeys() map[string]string {
	m := map[string]string{}
	for _, n := range campaignFormNames() {
		m[n] = "campaigns.error.field"
	}
	for _, l := range campaign.Languages {
		for _, k := range []string{"subject", "html", "text", "sms"} {
			m["content."+l+"."+k] = "campaigns.error.field"
		}
		m["content."+l] = "campaigns.error.field"
	}
	for _, k := range []string{"ab_test", "ab_test.variants", "ab_test.test_percent", "ab_test.metric", "ab_test.wait_hours"} {
		m[k] = "campaigns.error.field"
	}
	for i := range campaign.MaxVariants {
		k := fmt.Sprintf("ab_test.variants[%d]", i)
		m[k+".name"], m[k+".content"] = "campaigns.error.field", "campaigns.error.field"
		for _, l := range campaign.Languages {
			m[k+".content."+l] = "campaigns.error.field"
			for _, x := range []string{"subject", "html", "text", "sms"} {
				m[k+".content."+l+"."+x] = "campaigns.error.field"
			}
		}
	}
	return m
}

// moveABErrors shows the A/B test's errors on the editor's fields:
// ab_test.variants[0].content.fa.subject on ab1.fa.subject.
func moveABErrors(f *form) {
	for k, v := range f.Errors {
		switch k {
		case "ab_test", "ab_test.variants":
			f.Errors["ab"] = v
		case "ab_test.test_percent", "ab_test.metric", "ab_test.wait_hours":
			f.Errors["ab_"+strings.TrimPrefix(k, "ab_test.")] = v
		}
		var i int
		var rest string
		if n, _ := fmt.Sscanf(k, "ab_test.variants[%d]%s", &i, &rest); n == 2 {
			slot := fmt.Sprintf("ab%d", i+1)
			switch rest = strings.TrimPrefix(rest, "."); {
			case rest == "name" || rest == "content":
				f.Errors[slot+".name"] = v
			case strings.Count(rest, ".") == 1: // content.fa
				f.Errors[slot+"."+strings.TrimPrefix(rest, "content.")+".subject"] = v
			default:
				f.Errors[slot+"."+strings.TrimPrefix(rest, "content.")] = v
			}
		}
	}
}

// moveContentErrors shows content.fa.subject on the field fa.subject.
func moveContentErrors(f *form) {
	for k, v := range f.Errors {
		if rest, ok := strings.CutPrefix(k, "content."); ok {
			if !strings.Contains(rest, ".") {
				rest += ".subject"
			}
			f.Errors[rest] = v
		}
	}
}

func (s *server) handleCampaignCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, campaignFormNames()...)
	in := campaignInput(p, r, &f)
	if f.ok() {
		c, err := s.campaigns.Create(r.Context(), in)
		if err == nil {
			redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), "campaign_saved")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, campaignFieldKeys())
		moveContentErrors(&f)
		moveABErrors(&f)
	}
	s.renderCampaignForm(w, r, http.StatusUnprocessableEntity, 0, 0, false, f)
}

func (s *server) campaignID(w http.ResponseWriter, r *http.Request) (*crm.Campaign, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return nil, false
	}
	c, err := s.campaigns.Get(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return nil, false
	}
	return c, true
}

func (s *server) handleCampaignEdit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	if c.Status != crm.CampaignDraft && c.Status != crm.CampaignScheduled && c.Status != crm.CampaignPaused {
		redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), "")
		return
	}
	s.renderCampaignForm(w, r, http.StatusOK, c.ID, c.Version, c.Status == crm.CampaignPaused, form{Values: campaignFormValues(c)})
}

func (s *server) handleCampaignUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, campaignFormNames()...)
	in := campaignInput(p, r, &f)
	version, _ := strconv.ParseInt(f.V("version"), 10, 64)
	if f.ok() {
		_, err := s.campaigns.Update(r.Context(), c.ID, version, in)
		if err == nil {
			redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), "campaign_saved")
			return
		}
		switch crm.ErrorCode(err) {
		case crm.EINVALID, crm.ECONFLICT:
			f.fail(p, err, campaignFieldKeys())
			moveContentErrors(&f)
			moveABErrors(&f)
		default:
			s.renderError(w, r, err)
			return
		}
	}
	s.renderCampaignForm(w, r, http.StatusUnprocessableEntity, c.ID, version, c.Status == crm.CampaignPaused, f)
}

// --- The campaign's page ---

type campaignPage struct {
	base
	C            *crm.Campaign
	Results      *crm.CampaignResults
	Rates        map[string]string // opened, clicked, unsubscribed, bounced as % of sent
	Skips        []campaignSkip
	Chart        template.HTML
	Preview      *campaign.Preview
	PreviewErr   *message
	PreviewQ     form // contact, lang
	Test         form
	Schedule     form // date, time: when a draft or scheduled campaign is to start
	ZoneName     string
	Segment      string
	CanWrite     bool
	ContentLangs []campaignLang
	SMSText      string   // the preview's SMS counter
	Revenue      []string // attributed revenue, one per currency
	Variants     []campaignVariantRow
	VariantNames []string // A, B, … for the selects
	RestDefault  int      // the variant "Send to the rest" offers first: the winner, else the leader
	Sig          *campaignSig
}

// campaignSig is an A/B test's significance in words.
type campaignSig struct {
	Best, RunnerUp string
	Confidence     string // "97.3%"
	Significant    bool
}

// campaignVariantRow is one A/B variant's line in the results.
type campaignVariantRow struct {
	Index                       int
	Name                        string
	Audience, Sent              int64
	Opened, Clicked, Orders     int64
	OpenRate, ClickRate, PerMsg string
	Revenue                     []string
	Winner                      bool
	Leading                     bool // the best so far, before the winner is picked
}

// revenueLines formats amounts per currency, sorted by currency; never
// added across currencies.
func revenueLines(p *locale.Printer, m map[string]int64) []string {
	curs := make([]string, 0, len(m))
	for c := range m {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	out := make([]string, 0, len(curs))
	for _, c := range curs {
		out = append(out, formatMoney(p, m[c], c))
	}
	return out
}

type campaignSkip struct {
	Reason string
	Count  int64
}

func (s *server) handleCampaign(w http.ResponseWriter, r *http.Request) {
	s.renderCampaign(w, r, http.StatusOK, form{}, form{})
}

func (s *server) renderCampaign(w http.ResponseWriter, r *http.Request, status int, test, sched form) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := state(r).p
	d := &campaignPage{base: s.page(r, "campaigns.campaign"), C: c, Test: test, Schedule: sched, ZoneName: p.Location().String(),
		CanWrite: state(r).user.Can(crm.PermMarketingWrite),
		PreviewQ: form{Values: map[string]string{"contact": r.URL.Query().Get("contact"), "lang": r.URL.Query().Get("lang"),
			"variant": r.URL.Query().Get("variant")}}}
	d.Title = c.Name
	if sched.Values == nil {
		// A scheduled campaign's time, else tomorrow at 10:00.
		at := p.In(nowFunc()).AddDate(0, 0, 1)
		at = time.Date(at.Year(), at.Month(), at.Day(), 10, 0, 0, 0, p.Location())
		if c.ScheduledAt != nil {
			at = p.In(*c.ScheduledAt)
		}
		d.Schedule.Values = map[string]string{"date": p.DateInput(at), "time": at.Format("15:04")}
	}
	if test.Values == nil {
		d.Test.Values = map[string]string{"to": state(r).user.Email}
		if c.Channel == campaign.ChannelSMS {
			d.Test.Values["to"] = ""
		}
	}
	for _, l := range campaign.Languages {
		if _, ok := c.Content[l]; ok {
			d.ContentLangs = append(d.ContentLangs, campaignLang{Code: l, Name: campaignLangNames[l]})
		}
	}
	var err error
	if d.Results, err = s.campaigns.Results(ctx, c.ID); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Rates = map[string]string{}
	rate := func(n, of int64) string {
		if of == 0 {
			return "–"
		}
		return percent(p, float64(n)/float64(of), 1)
	}
	pct := func(n int64) string { return rate(n, d.Results.Sent) }
	d.Rates["opened"], d.Rates["clicked"], d.Rates["unsubscribed"], d.Rates["bounced"] = pct(d.Results.Opened), pct(d.Results.Clicked),
		pct(d.Results.Unsubscribed), pct(d.Results.Bounced)
	d.Revenue = revenueLines(p, d.Results.Revenue)
	if c.AB != nil {
		for i := 0; i <= len(c.AB.Variants); i++ {
			d.VariantNames = append(d.VariantNames, campaign.VariantName(c.AB, i))
		}
	}
	for _, v := range d.Results.Variants {
		row := campaignVariantRow{Index: v.Variant, Name: v.Name, Audience: v.Audience, Sent: v.Sent, Opened: v.Opened, Clicked: v.Clicked,
			Orders: v.Orders, OpenRate: rate(v.Opened, v.Sent), ClickRate: rate(v.Clicked, v.Sent), Revenue: revenueLines(p, v.Revenue), Winner: v.Winner}
		d.Variants = append(d.Variants, row)
	}
	if c.AB != nil {
		d.RestDefault = c.ABWinner
		if c.ABWinner < 0 {
			d.RestDefault = campaign.PickWinner(c.AB.Metric, d.Results.Variants)
			for i := range d.Variants {
				d.Variants[i].Leading = d.Variants[i].Index == d.RestDefault && d.Results.Sent > 0
			}
		}
	}
	if sg := d.Results.ABSignificance; sg != nil && c.AB != nil {
		// Rounded down: 99.96% is not "100.0%".
		pc := percent(p, math.Floor(sg.Confidence*1000)/1000, 1)
		d.Sig = &campaignSig{Best: campaign.VariantName(c.AB, sg.Best), RunnerUp: campaign.VariantName(c.AB, sg.RunnerUp), Confidence: pc,
			Significant: sg.Significant}
	}
	for _, reason := range []string{"no_consent", "consent_withdrawn", "erased", "hard_bounce", "complaint", "do_not_contact", "frequency_cap",
		"no_address", "deleted", "no_coupon_left", "cancelled"} {
		if n := d.Results.SkipReasons[reason]; n > 0 {
			d.Skips = append(d.Skips, campaignSkip{Reason: reason, Count: n})
		}
	}
	if c.AudienceKind == campaign.AudienceSegment && s.segments != nil {
		if list, err := s.segments(ctx); err == nil {
			for _, sg := range list {
				if sg.ID == c.AudienceID {
					d.Segment = sg.Name
				}
			}
		}
	}
	series, err := s.campaigns.Series(ctx, c.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if len(series) > 1 { // one bucket is no line: the counts above say it
		lc := chart.Line{Common: chart.Common{ID: "campaign", Title: p.T("campaigns.chart.title"), Desc: p.T("campaigns.chart.desc"),
			RTL: p.Dir() == "rtl", Sep: p.Sep(), Format: func(v float64) string { return p.Number(int64(v)) }}}
		sent, opened, clicked := make([]float64, len(series)), make([]float64, len(series)), make([]float64, len(series))
		for i, pt := range series {
			if len(series) > 1 && series[len(series)-1].At.Sub(series[0].At) >= 48*60*60*1e9 {
				lc.Labels = append(lc.Labels, p.Date(pt.At))
			} else {
				lc.Labels = append(lc.Labels, p.DateTime(pt.At))
			}
			sent[i], opened[i], clicked[i] = float64(pt.Sent), float64(pt.Opened), float64(pt.Clicked)
		}
		lc.Series = []chart.Series{{Name: p.T("campaigns.results.sent"), Values: sent}, {Name: p.T("campaigns.results.opened"), Values: opened},
			{Name: p.T("campaigns.results.clicked"), Values: clicked}}
		d.Chart = template.HTML(lc.SVG() + chart.Legend(p.T("campaigns.results.sent"), p.T("campaigns.results.opened"), p.T("campaigns.results.clicked")))
	}
	var contactID int64
	if v := d.PreviewQ.V("contact"); v != "" {
		contactID, _ = strconv.ParseInt(text.ToASCIIDigits(v), 10, 64)
	}
	variant, _ := strconv.Atoi(d.PreviewQ.V("variant"))
	if d.Preview, err = s.campaigns.PreviewVariant(ctx, c.ID, contactID, d.PreviewQ.V("lang"), variant); err != nil {
		m := explain(p, err)
		d.PreviewErr = &m
		d.Preview = nil
	} else {
		d.SMSText = smsCountText(p, d.Preview.SMSCount)
	}
	s.render(w, r, status, "campaign", d)
}

func (s *server) handleCampaignPreviewHTML(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	contactID, _ := strconv.ParseInt(text.ToASCIIDigits(r.URL.Query().Get("contact")), 10, 64)
	variant, _ := strconv.Atoi(r.URL.Query().Get("variant"))
	pv, err := s.campaigns.PreviewVariant(r.Context(), id, contactID, r.URL.Query().Get("lang"), variant)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h := w.Header()
	// The email's own HTML, shown in a sandboxed frame of the campaign
	// page: no script, nothing it can reach, its own inline styles.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	body := pv.HTML
	if body == "" {
		body = "<pre>" + template.HTMLEscapeString(pv.Text) + "</pre>"
	}
	w.Write([]byte(body))
}

func (s *server) handleCampaignTest(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, "to", "contact", "lang")
	var contactID int64
	if v := f.V("contact"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil {
			f.invalid(p, "contact", "campaigns.error.number")
		}
		contactID = n
	}
	if f.ok() {
		err := s.campaigns.TestSend(r.Context(), c.ID, contactID, f.V("lang"), f.V("to"))
		if err == nil {
			redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), "campaign_test_sent")
			return
		}
		switch crm.ErrorCode(err) {
		case crm.EINVALID, crm.EUNAVAILABLE, crm.ENOTFOUND:
			f.fail(p, err, map[string]string{"to": "campaigns.error.to", "contact": "campaigns.error.number"})
		default:
			s.renderError(w, r, err)
			return
		}
	}
	s.renderCampaign(w, r, http.StatusUnprocessableEntity, f, form{})
}

// handleCampaignSchedule schedules a draft (or moves a scheduled
// campaign) to a date in the user's calendar and a time in their zone.
func (s *server) handleCampaignSchedule(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, "date", "time")
	at, ok := parseWhen(p, f.V("date"), f.V("time"), "10:00")
	switch {
	case !ok || at == nil:
		f.invalid(p, "date", "timeline.error.when", "example", p.DateInput(nowFunc()))
	case !at.After(nowFunc()):
		f.invalid(p, "date", "campaigns.schedule.error.past")
	case at.Sub(nowFunc()) > campaign.MaxScheduleAhead:
		f.invalid(p, "date", "campaigns.schedule.error.ahead")
	}
	if f.ok() {
		_, err := s.campaigns.Schedule(r.Context(), c.ID, *at)
		if err == nil {
			redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), "campaign_schedule")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"scheduled_at": "campaigns.schedule.error.past"})
	}
	s.renderCampaign(w, r, http.StatusUnprocessableEntity, form{}, f)
}

func (s *server) handleCampaignAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	path := "/campaigns/" + strconv.FormatInt(id, 10)
	action := r.PathValue("action")
	switch action {
	case "start":
		_, err = s.campaigns.Start(ctx, id)
	case "pause":
		_, err = s.campaigns.Pause(ctx, id)
	case "resume":
		_, err = s.campaigns.Resume(ctx, id)
	case "unschedule":
		_, err = s.campaigns.Unschedule(ctx, id)
	case "cancel":
		_, err = s.campaigns.Cancel(ctx, id)
	case "send_rest":
		v, perr := strconv.Atoi(r.PostFormValue("variant"))
		if perr != nil {
			v = -1 // the service names the field
		}
		_, err = s.campaigns.SendRest(ctx, id, v)
	case "delete":
		if err = s.campaigns.Delete(ctx, id); err == nil {
			redirect(w, r, "/campaigns", "campaign_deleted")
			return
		}
	default:
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, path, "campaign_"+action)
}

// --- Deliveries ---

type campaignDeliveriesPage struct {
	base
	C        *crm.Campaign
	Rows     []*crm.CampaignDelivery
	Status   string
	Next     string
	Statuses []string
	// VariantNames name an A/B test's variants (A, B, …).
	VariantNames []string
}

func (s *server) handleCampaignDeliveries(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignID(w, r)
	if !ok {
		return
	}
	d := &campaignDeliveriesPage{base: s.page(r, "campaigns.deliveries"), C: c, Status: r.URL.Query().Get("status"),
		Statuses: []string{crm.MessageSent, crm.MessageFailed, crm.MessageSkipped, crm.MessageQueued}}
	if c.AB != nil {
		d.Statuses = append(d.Statuses, crm.MessageHeld)
		for i := 0; i <= len(c.AB.Variants); i++ {
			d.VariantNames = append(d.VariantNames, campaign.VariantName(c.AB, i))
		}
	}
	var err error
	d.Rows, d.Next, err = s.campaigns.Deliveries(r.Context(), c.ID, d.Status, crm.Page{Limit: 100, After: r.URL.Query().Get("after")})
	if crm.ErrorCode(err) == crm.EINVALID {
		d.Status = ""
		d.Rows, d.Next, err = s.campaigns.Deliveries(r.Context(), c.ID, "", crm.Page{Limit: 100})
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "campaign_deliveries", d)
}

// --- Settings ---

type campaignSettingsPage struct {
	base
	Form        form
	TLS         []string
	DefaultBody string
}

func (s *server) campaignSettingsPage(r *http.Request, f form) *campaignSettingsPage {
	return &campaignSettingsPage{base: s.page(r, "campaigns.settings"), Form: f, TLS: []string{"starttls", "tls", "none"},
		DefaultBody: campaign.DefaultSMSBody}
}

var campaignSettingNames = []string{"smtp.host", "smtp.username", "smtp.password", "smtp.tls", "smtp.helo", "smtp.pool", "from_name", "from_address",
	"sms.url", "sms.auth_header", "sms.auth_value", "sms.content_type", "sms.body", "sms.from", "per_second", "per_hour", "frequency_cap",
	"frequency_days", "quiet_start", "quiet_end", "time_zone"}

func (s *server) handleCampaignSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.campaigns.Settings(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	n := func(v int) string { return p.Digits(strconv.Itoa(v)) }
	f := form{Values: map[string]string{"smtp.host": st.SMTP.Host, "smtp.username": st.SMTP.Username, "smtp.tls": st.SMTP.TLS, "smtp.helo": st.SMTP.Helo,
		"smtp.pool": n(st.SMTP.Pool), "from_name": st.FromName, "from_address": st.FromAddress, "sms.url": st.SMS.URL, "sms.auth_header": st.SMS.AuthHeader,
		"sms.content_type": st.SMS.ContentType, "sms.body": st.SMS.Body, "sms.from": st.SMS.From, "per_second": n(st.PerSecond), "per_hour": n(st.PerHour),
		"frequency_cap": n(st.FrequencyCap), "frequency_days": n(st.FrequencyDays), "quiet_start": n(st.QuietStart), "quiet_end": n(st.QuietEnd),
		"time_zone": st.TimeZone}}
	s.render(w, r, http.StatusOK, "campaign_settings", s.campaignSettingsPage(r, f))
}

func (s *server) handleCampaignSettingsSave(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, campaignSettingNames...)
	f.Values["sms.body"] = strings.TrimSpace(r.PostFormValue("sms.body"))
	num := func(name string) int {
		if f.V(name) == "" {
			return 0
		}
		n, err := p.ParseInt(f.V(name))
		if err != nil {
			f.invalid(p, name, "campaigns.error.number")
		}
		return int(n)
	}
	st := campaign.Settings{
		SMTP: campaign.SMTPConfig{Host: f.V("smtp.host"), Username: f.V("smtp.username"), Password: r.PostFormValue("smtp.password"), TLS: f.V("smtp.tls"),
			Helo: f.V("smtp.helo"), Pool: num("smtp.pool")},
		FromName: f.V("from_name"), FromAddress: f.V("from_address"),
		SMS: campaign.SMSConfig{URL: f.V("sms.url"), AuthHeader: f.V("sms.auth_header"), AuthValue: r.PostFormValue("sms.auth_value"),
			ContentType: f.V("sms.content_type"), Body: f.V("sms.body"), From: f.V("sms.from")},
		PerSecond: num("per_second"), PerHour: num("per_hour"), FrequencyCap: num("frequency_cap"), FrequencyDays: num("frequency_days"),
		QuietStart: num("quiet_start"), QuietEnd: num("quiet_end"), TimeZone: f.V("time_zone"),
	}
	delete(f.Values, "smtp.password")
	delete(f.Values, "sms.auth_value")
	if f.ok() {
		_, err := s.campaigns.SaveSettings(r.Context(), st)
		if err == nil {
			redirect(w, r, "/settings/campaigns", "campaign_settings_saved")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		keys := map[string]string{}
		for _, n := range campaignSettingNames {
			keys[n] = "campaigns.error.field"
		}
		f.fail(p, err, keys)
	}
	s.render(w, r, http.StatusUnprocessableEntity, "campaign_settings", s.campaignSettingsPage(r, f))
}

// --- Public ends: pixel, clicks, unsubscribe ---

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// campaignPublic serves /c/o/, /c/c/ and /c/u/ before the session and
// CSRF layers: mail clients fetch and post them without cookies, and
// RFC 8058's one-click POST comes from the mailbox provider, not a
// browser. Everything else goes to next.
func (s *server) campaignPublic(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /c/o/{token}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.campaigns.Open(r.Context(), r.PathValue("token")); err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
			s.log.WarnContext(r.Context(), "campaign: open", "err", err)
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Header().Set("Cache-Control", "no-store, private")
		w.Write(pixel)
	})
	mux.HandleFunc("GET /c/c/{token}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		target, err := s.campaigns.Click(r.Context(), r.PathValue("token"), q.Get("u"), q.Get("s"))
		if err != nil {
			r = r.WithContext(contextWithState(r, &reqState{p: publicPrinter(r, "")}))
			s.renderError(w, r, err)
			return
		}
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, target, http.StatusFound)
	})
	mux.HandleFunc("GET /c/u/{token}", s.handleUnsubscribePage)
	mux.HandleFunc("POST /c/u/{token}", s.handleUnsubscribe)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/c/") {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type unsubscribePage struct {
	base
	U     *campaign.UnsubscribePage
	Token string
	Done  bool
}

func (s *server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	u, err := s.campaigns.Unsubscription(r.Context(), r.PathValue("token"))
	s.renderUnsubscribe(w, r, u, err, false)
}

func (s *server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	u, err := s.campaigns.Unsubscribe(r.Context(), r.PathValue("token"))
	if err == nil && r.PostFormValue("List-Unsubscribe") == "One-Click" {
		// RFC 8058: the mailbox provider posts; nobody reads the page.
		w.WriteHeader(http.StatusOK)
		return
	}
	s.renderUnsubscribe(w, r, u, err, true)
}

func (s *server) renderUnsubscribe(w http.ResponseWriter, r *http.Request, u *campaign.UnsubscribePage, err error, done bool) {
	lang := ""
	if u != nil {
		lang = u.Language
	}
	p := publicPrinter(r, lang)
	r = r.WithContext(contextWithState(r, &reqState{p: p}))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &unsubscribePage{base: base{L: p, Title: p.T("campaigns.unsubscribe.title"), Path: r.URL.Path, Languages: locale.Languages, Version: s.version},
		U: u, Token: r.PathValue("token"), Done: done || u.Unsubscribed}
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, http.StatusOK, "campaign_unsubscribe", d)
}
