package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/workflow"
)

// wfText is a text a run recorded (why it started, what a step did, how
// it ended), in the reader's words: English says it is still English
// (an error's message, a text from before the message table), so the
// page can mark it lang="en".
type wfText struct {
	Text    string
	English bool
	Href    string // the page of what the text is about (a task, a ticket …), when it has one
}

// wfSay reads a run's text with workflow.ParseMessage and says it through
// the catalog ("workflows.msg.<key>"): times and days in the reader's
// calendar, zone and digits, objects, fields and event types by their
// names, numbers in the reader's digits. Any other text is shown as it is.
func wfSay(p *locale.Printer, text string) wfText { return wfSayNamed(p, text, nil) }

// wfSayNamed is wfSay with the ids a text holds said as what they name
// (n's users, webhooks and lists; "user 4" when n is nil or does not
// know the id) and a link to the task, ticket, list or webhook it made
// or used. Old texts, which hold only ids, read the same way.
func wfSayNamed(p *locale.Printer, text string, n *wfNames) wfText {
	key, args, ok := workflow.ParseMessage(text)
	if !ok || !p.Has("workflows.msg."+key) {
		return wfText{Text: text, English: text != "" && p.Lang() != "en"}
	}
	if k := "workflows.msg." + key + "_one"; args["n"] == "1" && p.Has(k) {
		key += "_one" // "1 day", not "1 days"
	}
	var out wfText
	named := map[string]string{} // arguments said here: ids read as names
	idOf := func(name string) int64 {
		id, _ := strconv.ParseInt(args[name], 10, 64)
		return id
	}
	say := func(m map[int64]string, id int64, fallback string) string {
		if n != nil {
			if v := m[id]; v != "" {
				return "«" + v + "»"
			}
		}
		return p.T(fallback, "id", p.Digits(strconv.FormatInt(id, 10)))
	}
	var users, subs, segments map[int64]string
	if n != nil {
		users, subs, segments = n.users, n.subs, n.segments
	}
	switch strings.TrimSuffix(key, "_one") {
	case "task_made":
		named["user"] = say(users, idOf("user"), "workflows.user_n")
		out.Href = "/tasks/" + args["id"]
	case "task_exists", "task_unassigned":
		out.Href = "/tasks/" + args["id"]
	case "assigned":
		named["id"] = say(users, idOf("id"), "workflows.user_n")
	case "ticket_made":
		out.Href = "/service/tickets/" + args["id"]
	case "list_added":
		named["id"] = say(segments, idOf("id"), "workflows.list_n")
		out.Href = "/segments/" + args["id"]
	case "webhook_queued":
		named["webhook"] = say(subs, idOf("webhook"), "workflows.webhook_n")
		if n != nil && subs[idOf("webhook")] != "" { // only administrators see webhooks
			out.Href = "/settings/webhooks/" + args["webhook"] + "#log"
		}
	}
	if n == nil {
		out.Href = ""
	}
	kv := make([]any, 0, 2*len(args))
	for name, v := range args {
		if s, ok := named[name]; ok {
			kv = append(kv, name, s)
			continue
		}
		kv = append(kv, name, wfArg(p, name, v))
	}
	out.Text = p.T("workflows.msg."+key, kv...)
	return out
}

func wfArg(p *locale.Printer, name, v string) string {
	switch name {
	case "time":
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return p.DateTime(t)
		}
	case "day":
		if t, err := time.ParseInLocation(time.DateOnly, v, p.Location()); err == nil {
			return p.Date(t)
		}
	case "detail":
		return wfSay(p, v).Text
	case "event":
		if k := "workflows.event." + v; p.Has(k) {
			return p.T(k)
		}
		if k := "workflows.trigger." + strings.ReplaceAll(v, ".", "_"); p.Has(k) {
			return p.T(k)
		}
		return v
	case "object":
		if k := "workflows.object." + v; p.Has(k) {
			return p.T(k)
		}
		return v
	case "field":
		return fieldName(p, v)
	case "channel":
		if k := "campaigns.channel." + v; p.Has(k) {
			return p.T(k)
		}
		return v
	case "title", "subject", "value", "who", "to", "member", "tag":
		return v // as typed
	}
	return p.Digits(v)
}
