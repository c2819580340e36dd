package api

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newServiceEnv is newEnv with the service desk installed, finding and
// creating customers through the contact service as internal/app does.
func newServiceEnv(t *testing.T, db *store.DB) (*env, *desk.Service) {
	t.Helper()
	e := newEnv(t, db)
	svc := desk.New(db, desk.Options{Resolve: e.contacts.ResolveCustomer, BaseURL: "https://crm.example.com"})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Desk: svc,
		Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e, svc
}

func TestServiceRoutesDocumented(t *testing.T) {
	e, _ := newServiceEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range serviceRoutes(e.api) {
		rel := strings.TrimPrefix(rt.path(), apiBase)
		item := e.doc.Paths.Value(rel)
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not in the OpenAPI document", rt.pattern)
		}
		n++
	}
	if n < 45 {
		t.Fatalf("only %d service routes", n)
	}
	for _, name := range []string{"Ticket", "TicketMessage", "SLATimer", "SLAPolicy", "BusinessCalendar", "EscalationRule", "CannedReply",
		"Survey", "ReturnRequest", "Agent", "ServiceReport"} {
		if e.doc.Components.Schemas[name] == nil {
			t.Errorf("component schema %s is missing", name)
		}
	}
}

func TestServiceAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _ := newServiceEnv(t, db)
		// A calendar and a policy.
		res := e.do("POST", "/api/v1/calendars", e.rw, `{"name":"دفتر تهران","time_zone":"Asia/Tehran","hours":[{"day":6,"start":"08:00","end":"16:00"},{"day":0,"start":"08:00","end":"16:00"}],"holidays":[{"date":"2026-03-21","name":"نوروز"}]}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("calendar: %d %s", res.Status, res.Body)
		}
		var cal crm.BusinessCalendar
		res.JSON(t, &cal)
		bad := e.do("POST", "/api/v1/calendars", e.rw, `{"name":"x","time_zone":"Mars/Base","hours":[{"day":9,"start":"8","end":"16:00"}]}`)
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.Body), "time_zone") || !strings.Contains(string(bad.Body), "hours[0].day") {
			t.Errorf("bad calendar: %d %s", bad.Status, bad.Body)
		}
		res = e.do("POST", "/api/v1/sla-policies", e.rw, fmt.Sprintf(`{"name":"Urgent","calendar_id":%d,"first_response_minutes":30,"resolution_minutes":240,"warn_minutes":10,"conditions":{"priorities":["urgent"]}}`, cal.ID))
		if res.Status != http.StatusCreated {
			t.Fatalf("policy: %d %s", res.Status, res.Body)
		}
		// A ticket with an attachment.
		img := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nfake"))
		res = e.do("POST", "/api/v1/tickets", e.rw, `{"subject":"چاپگر کار نمی‌کند","body":"کاغذ گیر می‌کند","customer":{"email":"sara@example.com","first_name":"سارا"},"channel":"email","priority":"urgent","tags":["printer"],"attachments":[{"filename":"photo.png","data":"`+img+`"}]}`)
		if res.Status != http.StatusCreated || res.Header.Get("Location") == "" {
			t.Fatalf("create ticket: %d %s", res.Status, res.Body)
		}
		var tk crm.Ticket
		res.JSON(t, &tk)
		if tk.SLAPolicyID == 0 || len(tk.SLA) != 2 || tk.Status != crm.TicketNew {
			t.Fatalf("ticket %+v", tk)
		}
		id := fmt.Sprint(tk.ID)
		bad = e.do("POST", "/api/v1/tickets", e.rw, `{"subject":"","channel":"fax","customer":{}}`)
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.Body), `"subject"`) || !strings.Contains(string(bad.Body), `"channel"`) {
			t.Errorf("bad ticket: %d %s", bad.Status, bad.Body)
		}
		// Illegal transition: 409 naming it.
		res = e.do("POST", "/api/v1/tickets/"+id+"/status", e.rw, `{"status":"closed"}`)
		if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "from new to closed") {
			t.Errorf("illegal transition: %d %s", res.Status, res.Body)
		}
		// Reply, then read the conversation and download the attachment.
		res = e.do("POST", "/api/v1/tickets/"+id+"/replies", e.rw, `{"body":"مدل چاپگر؟","status":"pending"}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("reply: %d %s", res.Status, res.Body)
		}
		var msgs list[*crm.TicketMessage]
		e.do("GET", "/api/v1/tickets/"+id+"/messages", e.ro, "").JSON(t, &msgs)
		if len(msgs.Data) != 2 || len(msgs.Data[0].Attachments) != 1 || msgs.Data[1].Delivery != crm.DeliveryQueued {
			t.Fatalf("messages %+v", msgs.Data)
		}
		att := e.do("GET", fmt.Sprintf("/api/v1/attachments/%d", msgs.Data[0].Attachments[0].ID), e.ro, "")
		if att.Status != http.StatusOK || att.Header.Get("Content-Type") != "application/octet-stream" || msgs.Data[0].Attachments[0].ContentType != "image/png" || !strings.HasPrefix(att.Header.Get("Content-Disposition"), "attachment") ||
			att.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("attachment: %d %v", att.Status, att.Header)
		}
		// Customer message reopens the pending ticket.
		res = e.do("POST", "/api/v1/tickets/"+id+"/customer-messages", e.rw, `{"body":"HP 1020"}`)
		var cm customerMessageOut
		res.JSON(t, &cm)
		if res.Status != http.StatusCreated || cm.Ticket.Status != crm.TicketOpen {
			t.Errorf("customer message: %d %s", res.Status, res.Body)
		}
		// Lists and queues.
		var page list[*crm.Ticket]
		e.do("GET", "/api/v1/tickets?queue=unassigned&status=open&q=%DA%86%D8%A7%D9%BE%DA%AF%D8%B1", e.ro, "").JSON(t, &page)
		if len(page.Data) != 1 {
			t.Errorf("queue list %+v", page.Data)
		}
		if r := e.do("GET", "/api/v1/tickets?queue=nope&status=x", e.ro, ""); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "queue") {
			t.Errorf("bad filter: %d %s", r.Status, r.Body)
		}
		var queues map[string]int
		e.do("GET", "/api/v1/service/queues", e.ro, "").JSON(t, &queues)
		if queues["unassigned"] != 1 || queues["all"] != 1 {
			t.Errorf("queues %v", queues)
		}
		// Assign beyond capacity.
		if r := e.do("PUT", fmt.Sprintf("/api/v1/service/agents/%d", e.admin.ID), e.rw, `{"capacity":0,"away":false}`); r.Status != http.StatusOK {
			t.Fatalf("agent: %d %s", r.Status, r.Body)
		}
		if r := e.do("POST", "/api/v1/tickets/"+id+"/assign", e.rw, fmt.Sprintf(`{"assignee_id":%d}`, e.admin.ID)); r.Status != http.StatusConflict ||
			!strings.Contains(string(r.Body), "assignee_id") {
			t.Errorf("over capacity: %d %s", r.Status, r.Body)
		}
		// Escalate, history.
		if r := e.do("POST", "/api/v1/tickets/"+id+"/escalate", e.rw, `{"reason":"vendor"}`); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"tier2"`) {
			t.Errorf("escalate: %d %s", r.Status, r.Body)
		}
		var h ticketHistory
		e.do("GET", "/api/v1/tickets/"+id+"/history", e.ro, "").JSON(t, &h)
		if len(h.Escalations) != 1 || len(h.Changes) < 3 {
			t.Errorf("history %+v", h)
		}
		// A return, a canned reply, settings, report.
		if r := e.do("POST", "/api/v1/tickets/"+id+"/returns", e.rw, `{"product":"کارتریج","reason":"defect","quantity":2}`); r.Status != http.StatusCreated {
			t.Errorf("return: %d %s", r.Status, r.Body)
		}
		res = e.do("POST", "/api/v1/canned-replies", e.rw, `{"name":"Thanks","bodies":{"fa":"سلام {customer_name}، درخواست {ticket_number}","en":"Hi {customer_name}"}}`)
		var c crm.CannedReply
		res.JSON(t, &c)
		var rendered cannedRendered
		e.do("GET", fmt.Sprintf("/api/v1/canned-replies/%d/render?ticket_id=%d&lang=fa", c.ID, tk.ID), e.ro, "").JSON(t, &rendered)
		if rendered.Language != "fa" || !strings.HasPrefix(rendered.Body, "سلام سارا، درخواست #") {
			t.Errorf("rendered %+v", rendered)
		}
		if r := e.do("PUT", "/api/v1/service/settings", e.rw, `{"support_address":"not an address","reopen_days":7,"survey_days":0,"acknowledge":true,"surveys":true}`); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.Body), "support_address") || !strings.Contains(string(r.Body), "survey_days") {
			t.Errorf("bad settings: %d %s", r.Status, r.Body)
		}
		var rep serviceReport
		r := e.do("GET", "/api/v1/service/report?from=2020-01-01", e.ro, "")
		r.JSON(t, &rep)
		if r.Status != http.StatusOK || rep.Active != 1 || len(rep.Returns) != 1 {
			t.Errorf("report: %d %s", r.Status, r.Body)
		}
		// Read-only tokens cannot write.
		if r := e.do("POST", "/api/v1/tickets/"+id+"/status", e.ro, `{"status":"solved"}`); r.Status != http.StatusForbidden {
			t.Errorf("read-only token wrote: %d", r.Status)
		}
	})
}
