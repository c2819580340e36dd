package api

import (
	"net/http"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
)

// Campaigns (internal/campaign): CRUD, sending controls, deliveries,
// results, preview, test send and the settings.

func init() {
	moduleRoutes = append(moduleRoutes, campaignRoutes)
	tagDescriptions["campaigns"] = "Email and SMS campaigns: templated messages in en/fa/ar to everyone or a segment or list, sent by durable jobs with consent, suppression, a frequency cap and quiet hours checked for each person at sending; one delivery record per person; tracking and results."
	for k, v := range map[string]string{
		"Campaign":            "A campaign. channel: email or sms; status: draft, sending, paused, waiting (an A/B test's variants are sent and the rest waits for the winner), done, cancelled; audience_kind: all or segment (audience_id: a segment or static list). content holds the message per language (en, fa, ar): subject, html and text for email, sms for SMS, each a template over .FirstName, .LastName, .Name, .Email, .Phone, .Points, .Coupon and .UnsubscribeURL. A person gets their own language's content, else default_language's. coupon_batch_id gives each person a code of that club batch as .Coupon. audience_count is set when sending starts. ab_test, when set, makes it an A/B test; ab_winner is the chosen variant (0 = A, -1 until chosen), ab_decide_at when the winner is to be picked, ab_decided_at when it was.",
		"CampaignInput":       "A campaign's editable fields (all of them: absent ones are empty). Only drafts can be edited, and paused campaigns except their channel, audience and A/B test. version, in the query, must be the campaign's current one when sent.",
		"AbTestInput":         "An A/B test: variants B, C, … (1 to 4; A is the campaign's own content), test_percent of the audience (1–100) split between A and the variants by a hash of campaign and person, metric (open_rate, click_rate or revenue: attributed revenue per message in the currency that earned most) and wait_hours (1–720) after the test messages are all sent, when the job picks the winner; auto_send sends it to the rest then. A tie goes to the earlier variant.",
		"AbVariantInput":      "A variant: a name (default B, C, …) and, per language, the fields that replace A's (empty fields are A's); at least one field must differ.",
		"ABTest":              "A campaign's A/B test (see AbTestInput).",
		"ABVariant":           "An A/B variant: its name and the fields that replace A's per language.",
		"VariantResults":      "One variant's figures over its test group (the rest of the audience is not counted): audience, sent, opened, clicked (people), open_rate and click_rate (of sent), orders and revenue per currency attributed to them; winner marks the chosen variant.",
		"CampaignFeedbackIn":  "A bounce or complaint report as received: message is the whole raw email (headers and body) of a delivery status notification (RFC 3464, multipart/report; report-type=delivery-status) or of a feedback-loop abuse report (ARF, RFC 5965).",
		"FeedbackResult":      "What a report did: kind (bounce: a permanent failure, Status 5.x.x; delay: temporary, nothing done; complaint: an abuse report), the recipient and status it names, the delivery and campaign found by the signed unsubscribe token the report quotes (0 when none), and the address put on the suppression list (empty when none).",
		"CampaignSendRest":    "The variant (0 = A, 1 = B, …) to send to the rest of a waiting A/B test's audience; it becomes the winner when none was picked yet.",
		"CampaignDelivery":    "The one record of a campaign's message to one person: status queued, sending, sent, failed, skipped or held (the rest of an A/B test, waiting for the winner), with the reason (skipped: no_consent, consent_withdrawn, erased, hard_bounce, complaint, do_not_contact, frequency_cap, no_address, deleted, no_coupon_left, cancelled; failed: the server's answer, or interrupted when the sender died before recording whether the server took it). opened_at, clicked_at, unsubscribed_at and bounced_at are the first such events. variant is the A/B variant sent (0 = A; -1 while held), ab_rest marks the rest of an A/B test's audience; attribution_until ends the window in which the person's orders count as the campaign's revenue (the send or the first click plus attribution_days).",
		"CampaignResults":     "A campaign's counts: audience = sent + failed + skipped + pending + held; opened, clicked, unsubscribed and bounced count people; skip_reasons count skipped deliveries by reason. orders and revenue (per currency, minor units, never added across currencies) are the orders of people sent the message placed from the send until attribution_until, fully returned ones left out and the rest net of returns, read from the orders as they are now. variants, for an A/B test, are the figures of each variant's test group.",
		"CampaignPreview":     "A campaign's message as one person (contact_id) or sample data (0) would get it, in language; sms_count says how an SMS travels (gsm7: 160, or 153 per part; ucs2: 70, or 67 per part); reason, when set, is why this person would be skipped now.",
		"TestSend":            "Send the preview to one address (email) or international number (SMS) now, without consent checks or a delivery record.",
		"CampaignSettingsOut": "The campaign settings as read back: secrets (the SMTP password, the SMS auth value) are never returned.",
		"CampaignSettingsIn":  "The campaign settings: the SMTP server (host:port, username, password, tls: starttls, tls or none, pool of connections), the default sender, the HTTP SMS provider (url, auth_header and auth_value, content_type, body template over .To, .From and .Text, from), per_second and per_hour limits (0: none), frequency_cap messages per frequency_days days per person, quiet_start to quiet_end hours in the person's time zone (their time_zone custom field, else time_zone). Secrets are never returned; an empty one keeps the stored one.",
		"SMSCount":            "How an SMS travels: encoding (gsm7 or ucs2), units (septets or UTF-16 units), parts, per_part and the units remaining in the last part.",
		"CampaignReport":      "A campaign's results and its series over time (for a chart).",
		"SmtpIn":              "The SMTP server campaigns send through.",
		"SmsIn":               "The HTTP SMS provider.",
		"SmtpOut":             "The SMTP server, without its password.",
		"SmsOut":              "The SMS provider, without its auth value.",
		"CampaignPoint":       "Messages sent and first opens and clicks in one hour (a day for campaigns over two days) from the start.",
	} {
		schemaDescriptions[k] = v
	}
}

var campaignListParams = []param{{Name: "status", Enum: []string{"draft", "scheduled", "sending", "waiting", "paused", "done", "cancelled"}, Description: "Only campaigns in this status."}}

var deliveryListParams = []param{{Name: "status", Enum: []string{"queued", "sending", "sent", "failed", "skipped", "held"}, Description: "Only deliveries in this status."}}

var previewParams = []param{{Name: "contact_id", Type: "integer", Description: "Render for this person (absent: sample data)."},
	{Name: "language", Enum: []string{"en", "fa", "ar"}, Description: "Render this language (absent: the person's, else the default)."},
	{Name: "variant", Type: "integer", Description: "Render this A/B variant (0 = A, the default)."}}

// campaignContentInput and campaignInput are the request forms of a campaign's
// fields (the OpenAPI document gives requests and responses their own
// types).
type campaignContentInput struct {
	Subject string `json:"subject,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
	SMS     string `json:"sms,omitempty"`
}

type campaignInput struct {
	Name            string                          `json:"name"`
	Channel         string                          `json:"channel"`
	AudienceKind    string                          `json:"audience_kind"`
	AudienceID      int64                           `json:"audience_id"`
	FromName        string                          `json:"from_name"`
	FromAddress     string                          `json:"from_address"`
	DefaultLanguage string                          `json:"default_language"`
	Content         map[string]campaignContentInput `json:"content"`
	CouponBatchID   int64                           `json:"coupon_batch_id"`
	AttributionDays int                             `json:"attribution_days"`
	AB              *abTestInput                    `json:"ab_test"`
}

type abTestInput struct {
	Variants    []abVariantInput `json:"variants"`
	TestPercent int              `json:"test_percent"`
	Metric      string           `json:"metric"`
	WaitHours   int              `json:"wait_hours"`
	AutoSend    bool             `json:"auto_send"`
}

type abVariantInput struct {
	Name    string                          `json:"name"`
	Content map[string]campaignContentInput `json:"content"`
}

type campaignFeedbackIn struct {
	Message string `json:"message"`
}

type campaignSendRest struct {
	Variant *int `json:"variant"`
}

type campaignScheduleIn struct {
	ScheduledAt *time.Time `json:"scheduled_at"`
}

func (in campaignInput) input() campaign.Input {
	out := campaign.Input{Name: in.Name, Channel: in.Channel, AudienceKind: in.AudienceKind, AudienceID: in.AudienceID, FromName: in.FromName,
		FromAddress: in.FromAddress, DefaultLanguage: in.DefaultLanguage, CouponBatchID: in.CouponBatchID, AttributionDays: in.AttributionDays,
		Content: map[string]crm.CampaignContent{}}
	for k, c := range in.Content {
		out.Content[k] = crm.CampaignContent(c)
	}
	if in.AB != nil {
		out.AB = &crm.ABTest{TestPercent: in.AB.TestPercent, Metric: in.AB.Metric, WaitHours: in.AB.WaitHours, AutoSend: in.AB.AutoSend}
		for _, v := range in.AB.Variants {
			vr := crm.ABVariant{Name: v.Name, Content: map[string]crm.CampaignContent{}}
			for k, c := range v.Content {
				vr.Content[k] = crm.CampaignContent(c)
			}
			out.AB.Variants = append(out.AB.Variants, vr)
		}
	}
	return out
}

// campaignSettingsIn is the settings to save (names of its own: other
// modules have a Settings schema).
type smtpIn struct {
	Host     string `json:"host"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	TLS      string `json:"tls"`
	Helo     string `json:"helo"`
	Pool     int    `json:"pool"`
}

type smsIn struct {
	URL         string `json:"url"`
	AuthHeader  string `json:"auth_header"`
	AuthValue   string `json:"auth_value,omitempty"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	From        string `json:"from"`
}

type campaignSettingsIn struct {
	SMTP          smtpIn `json:"smtp"`
	FromName      string `json:"from_name"`
	FromAddress   string `json:"from_address"`
	SMS           smsIn  `json:"sms"`
	PerSecond     int    `json:"per_second"`
	PerHour       int    `json:"per_hour"`
	FrequencyCap  int    `json:"frequency_cap"`
	FrequencyDays int    `json:"frequency_days"`
	QuietStart    int    `json:"quiet_start"`
	QuietEnd      int    `json:"quiet_end"`
	TimeZone      string `json:"time_zone"`
}

func (in campaignSettingsIn) settings() campaign.Settings {
	return campaign.Settings{SMTP: campaign.SMTPConfig(in.SMTP), FromName: in.FromName, FromAddress: in.FromAddress, SMS: campaign.SMSConfig(in.SMS),
		PerSecond: in.PerSecond, PerHour: in.PerHour, FrequencyCap: in.FrequencyCap, FrequencyDays: in.FrequencyDays, QuietStart: in.QuietStart,
		QuietEnd: in.QuietEnd, TimeZone: in.TimeZone}
}

// campaignSettingsOut is the settings as read back (no secrets).
type smtpOut struct {
	Host     string `json:"host"`
	Username string `json:"username"`
	TLS      string `json:"tls"`
	Helo     string `json:"helo"`
	Pool     int    `json:"pool"`
}

type smsOut struct {
	URL         string `json:"url"`
	AuthHeader  string `json:"auth_header"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	From        string `json:"from"`
}

type campaignSettingsOut struct {
	SMTP          smtpOut `json:"smtp"`
	FromName      string  `json:"from_name"`
	FromAddress   string  `json:"from_address"`
	SMS           smsOut  `json:"sms"`
	PerSecond     int     `json:"per_second"`
	PerHour       int     `json:"per_hour"`
	FrequencyCap  int     `json:"frequency_cap"`
	FrequencyDays int     `json:"frequency_days"`
	QuietStart    int     `json:"quiet_start"`
	QuietEnd      int     `json:"quiet_end"`
	TimeZone      string  `json:"time_zone"`
}

func settingsOut(st campaign.Settings) campaignSettingsOut {
	var o campaignSettingsOut
	o.SMTP.Host, o.SMTP.Username, o.SMTP.TLS, o.SMTP.Helo, o.SMTP.Pool = st.SMTP.Host, st.SMTP.Username, st.SMTP.TLS, st.SMTP.Helo, st.SMTP.Pool
	o.FromName, o.FromAddress = st.FromName, st.FromAddress
	o.SMS.URL, o.SMS.AuthHeader, o.SMS.ContentType, o.SMS.Body, o.SMS.From = st.SMS.URL, st.SMS.AuthHeader, st.SMS.ContentType, st.SMS.Body, st.SMS.From
	o.PerSecond, o.PerHour, o.FrequencyCap, o.FrequencyDays = st.PerSecond, st.PerHour, st.FrequencyCap, st.FrequencyDays
	o.QuietStart, o.QuietEnd, o.TimeZone = st.QuietStart, st.QuietEnd, st.TimeZone
	return o
}

// campaignPreview is campaign.Preview under a name of its own (the
// segments have a Preview schema).
type campaignPreview campaign.Preview

type campaignTestSend struct {
	To        string `json:"to"`
	ContactID int64  `json:"contact_id,omitempty"`
	Language  string `json:"language,omitempty"`
}

type campaignReport struct {
	Results *crm.CampaignResults `json:"results"`
	Series  []crm.CampaignPoint  `json:"series"`
}

func campaignRoutes(a *API) []route {
	if a.campaign == nil {
		return nil
	}
	read, write, manage := crm.PermMarketingRead, crm.PermMarketingWrite, crm.PermSettingsManage
	action := func(id, summary, desc string, fn http.HandlerFunc) route {
		return route{"POST /api/v1/campaigns/{id}/" + id, fn, op{ID: id + "Campaign", Tag: "campaigns", Perm: write,
			Summary: summary, Description: desc, Out: &crm.Campaign{}}}
	}
	return []route{
		{"GET /api/v1/campaigns", a.handleCampaignList, op{ID: "listCampaigns", Tag: "campaigns", Perm: read, Paged: true, Query: campaignListParams,
			Summary: "List campaigns, newest first", Out: list[*crm.Campaign]{}}},
		{"POST /api/v1/campaigns", a.handleCampaignCreate, op{ID: "createCampaign", Tag: "campaigns", Perm: write, Status: http.StatusCreated,
			Summary: "Create a draft campaign", In: campaignInput{}, Out: &crm.Campaign{},
			Description: "Templates are checked here: a bad one is a 422 naming content.<language>.<field> and the line."}},
		{"GET /api/v1/campaigns/{id}", a.handleCampaignGet, op{ID: "getCampaign", Tag: "campaigns", Perm: read,
			Summary: "Read a campaign", Out: &crm.Campaign{}}},
		{"PUT /api/v1/campaigns/{id}", a.handleCampaignUpdate, op{ID: "updateCampaign", Tag: "campaigns", Perm: write,
			Query:   []param{{Name: "version", Type: "integer", Description: "The version you read; 409 when the campaign changed since."}},
			Summary: "Replace a draft's (or a scheduled or paused campaign's) fields", In: campaignInput{}, Out: &crm.Campaign{}}},
		{"DELETE /api/v1/campaigns/{id}", a.handleCampaignDelete, op{ID: "deleteCampaign", Tag: "campaigns", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a draft (a started campaign is a record: cancel it)"}},
		{"POST /api/v1/campaigns/{id}/schedule", a.handleCampaignSchedule, op{ID: "scheduleCampaign", Tag: "campaigns", Perm: write,
			Summary: "Schedule a draft to start sending at a time (or move a scheduled campaign)", In: campaignScheduleIn{}, Out: &crm.Campaign{},
			Description: "scheduled_at is RFC 3339 with its offset, in the future and at most a year ahead (422 names scheduled_at). The campaign is checked as send checks it; its status becomes scheduled, and at that time it starts like send: the audience is read then. If it can no longer start then (its segment deleted, no sender), it becomes a draft again and the audit log says why. send starts a scheduled campaign now; cancel cancels it."}},
		action("unschedule", "Turn a scheduled campaign back into a draft", "", a.handleCampaignUnschedule),
		action("send", "Start sending a draft", "The audience is fixed when the sending job starts: one delivery row per person. Each person is checked (consent, suppression, do-not-contact, frequency cap, quiet hours) when their message goes.", a.handleCampaignSend),
		action("pause", "Pause sending after the batch in flight", "", a.handleCampaignPause),
		action("resume", "Resume a paused campaign", "", a.handleCampaignResume),
		action("cancel", "Cancel: nobody else gets the campaign", "Deliveries still queued, or held for an A/B test's winner, become skipped (cancelled).", a.handleCampaignCancel),
		{"POST /api/v1/campaigns/{id}/send-rest", a.handleCampaignSendRest, op{ID: "sendRestCampaign", Tag: "campaigns", Perm: write,
			Summary: "Send a variant to the rest of a waiting A/B test", In: campaignSendRest{}, Out: &crm.Campaign{},
			Description: "Only while the campaign is waiting (409 otherwise). The held people are queued with the variant and sent like any others; each still gets one message at most."}},
		{"POST /api/v1/campaign-feedback", a.handleCampaignFeedback, op{ID: "postCampaignFeedback", Tag: "campaigns", Perm: write,
			Summary: "Apply a bounce or complaint report that arrived by mail", In: campaignFeedbackIn{}, Out: &campaign.FeedbackResult{},
			Description: "For the mail system that receives bounces and feedback-loop reports: post each one here. A permanent bounce or a complaint puts the address on the campaign suppression list (later campaigns skip it: hard_bounce, complaint); a bounce also marks its delivery bounced. 422 names message when it is not a report or names no recipient."}},
		{"GET /api/v1/campaigns/{id}/deliveries", a.handleCampaignDeliveries, op{ID: "listCampaignDeliveries", Tag: "campaigns", Perm: read, Paged: true,
			Query: deliveryListParams, Summary: "A campaign's delivery records, in id order", Out: list[*crm.CampaignDelivery]{}}},
		{"GET /api/v1/campaigns/{id}/results", a.handleCampaignResults, op{ID: "getCampaignResults", Tag: "campaigns", Perm: read,
			Summary: "A campaign's counts and its activity over time", Out: campaignReport{}}},
		{"GET /api/v1/campaigns/{id}/preview", a.handleCampaignPreview, op{ID: "previewCampaign", Tag: "campaigns", Perm: read, Query: previewParams,
			Summary: "Render a campaign for a person or sample data", Out: &campaignPreview{}}},
		{"POST /api/v1/campaigns/{id}/test", a.handleCampaignTest, op{ID: "testCampaign", Tag: "campaigns", Perm: write, Status: http.StatusNoContent,
			Summary: "Send a test message to one address now", In: campaignTestSend{}}},
		{"GET /api/v1/campaign-settings", a.handleCampaignSettings, op{ID: "getCampaignSettings", Tag: "campaigns", Perm: read,
			Summary: "The campaign settings (without secrets)", Out: campaignSettingsOut{}}},
		{"PUT /api/v1/campaign-settings", a.handleCampaignSettingsSave, op{ID: "saveCampaignSettings", Tag: "campaigns", Perm: manage,
			Summary: "Replace the campaign settings", In: campaignSettingsIn{}, Out: campaignSettingsOut{}}},
		{"GET /api/v1/sms-count", a.handleSMSCount, op{ID: "countSMS", Tag: "campaigns", Perm: read,
			Query:   []param{{Name: "text", Description: "The text of an SMS."}},
			Summary: "Count the parts of an SMS text", Out: campaign.SMSCount{}}},
	}
}

func (a *API) handleCampaignList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	p := readPage(r, &v)
	status := r.URL.Query().Get("status")
	switch status {
	case "", crm.CampaignDraft, crm.CampaignScheduled, crm.CampaignSending, crm.CampaignWaiting, crm.CampaignPaused, crm.CampaignDone, crm.CampaignCancelled:
	default:
		v.Add("status", "Use draft, scheduled, sending, waiting, paused, done or cancelled.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.campaign.List(r.Context(), status, p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleCampaignCreate(w http.ResponseWriter, r *http.Request) {
	var in campaignInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.campaign.Create(r.Context(), in.input())
	a.answer(w, r, http.StatusCreated, c, err)
}

func (a *API) handleCampaignGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.campaign.Get(r.Context(), id)
	a.answer(w, r, http.StatusOK, c, err)
}

func (a *API) handleCampaignUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	version := queryInt64(r, "version", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	var in campaignInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.campaign.Update(r.Context(), id, version, in.input())
	a.answer(w, r, http.StatusOK, c, err)
}

func (a *API) handleCampaignDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.campaign.Delete(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) campaignAction(w http.ResponseWriter, r *http.Request, which string) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	var c *crm.Campaign
	switch which {
	case "send":
		c, err = a.campaign.Start(ctx, id)
	case "unschedule":
		c, err = a.campaign.Unschedule(ctx, id)
	case "pause":
		c, err = a.campaign.Pause(ctx, id)
	case "resume":
		c, err = a.campaign.Resume(ctx, id)
	case "cancel":
		c, err = a.campaign.Cancel(ctx, id)
	}
	a.answer(w, r, http.StatusOK, c, err)
}

func (a *API) handleCampaignSend(w http.ResponseWriter, r *http.Request) {
	a.campaignAction(w, r, "send")
}
func (a *API) handleCampaignUnschedule(w http.ResponseWriter, r *http.Request) {
	a.campaignAction(w, r, "unschedule")
}

func (a *API) handleCampaignSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in campaignScheduleIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.ScheduledAt == nil {
		a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"scheduled_at": "Required."}})
		return
	}
	c, err := a.campaign.Schedule(r.Context(), id, *in.ScheduledAt)
	a.answer(w, r, http.StatusOK, c, err)
}

func (a *API) handleCampaignPause(w http.ResponseWriter, r *http.Request) {
	a.campaignAction(w, r, "pause")
}
func (a *API) handleCampaignResume(w http.ResponseWriter, r *http.Request) {
	a.campaignAction(w, r, "resume")
}
func (a *API) handleCampaignCancel(w http.ResponseWriter, r *http.Request) {
	a.campaignAction(w, r, "cancel")
}

func (a *API) handleCampaignSendRest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in campaignSendRest
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Variant == nil {
		a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"variant": "Required."}})
		return
	}
	c, err := a.campaign.SendRest(r.Context(), id, *in.Variant)
	a.answer(w, r, http.StatusOK, c, err)
}

func (a *API) handleCampaignFeedback(w http.ResponseWriter, r *http.Request) {
	var in campaignFeedbackIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.campaign.HandleFeedback(r.Context(), []byte(in.Message))
	a.answer(w, r, http.StatusOK, res, err)
}

func (a *API) handleCampaignDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	p := readPage(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.campaign.Deliveries(r.Context(), id, r.URL.Query().Get("status"), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleCampaignResults(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.campaign.Results(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	series, err := a.campaign.Series(r.Context(), id)
	if series == nil {
		series = []crm.CampaignPoint{}
	}
	a.answer(w, r, http.StatusOK, campaignReport{Results: res, Series: series}, err)
}

func (a *API) handleCampaignPreview(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	contactID := queryInt64(r, "contact_id", &v)
	lang := r.URL.Query().Get("language")
	if lang != "" && lang != "en" && lang != "fa" && lang != "ar" {
		v.Add("language", "Use en, fa or ar.")
	}
	variant := int(queryInt64(r, "variant", &v))
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.campaign.PreviewVariant(r.Context(), id, contactID, lang, variant)
	a.answer(w, r, http.StatusOK, (*campaignPreview)(p), err)
}

func (a *API) handleCampaignTest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in campaignTestSend
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.campaign.TestSend(r.Context(), id, in.ContactID, in.Language, in.To); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleCampaignSettings(w http.ResponseWriter, r *http.Request) {
	st, err := a.campaign.Settings(r.Context())
	a.answer(w, r, http.StatusOK, settingsOut(st), err)
}

func (a *API) handleCampaignSettingsSave(w http.ResponseWriter, r *http.Request) {
	var in campaignSettingsIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.campaign.SaveSettings(r.Context(), in.settings())
	a.answer(w, r, http.StatusOK, settingsOut(st), err)
}

func (a *API) handleSMSCount(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, campaign.CountSMS(r.URL.Query().Get("text")))
}
