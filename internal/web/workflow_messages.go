package web

import (
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
}

// wfSay reads a run's text with workflow.ParseMessage and says it through
// the catalog ("workflows.msg.<key>"): times and days in the reader's
// calendar, zone and digits, objects, fields and event types by their
// names, numbers in the reader's digits. Any other text is shown as it is.
func wfSay(p *locale.Printer, text string) wfText {
	key, args, ok := workflow.ParseMessage(text)
	if !ok || !p.Has("workflows.msg."+key) {
		return wfText{Text: text, English: text != "" && p.Lang() != "en"}
	}
	kv := make([]any, 0, 2*len(args))
	for name, v := range args {
		kv = append(kv, name, wfArg(p, name, v))
	}
	return wfText{Text: p.T("workflows.msg."+key, kv...)}
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
