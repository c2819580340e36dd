package workflow

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Messages are what a run records about itself: why it started, what a
// step did or why it was skipped, how it ended. They are stored as the
// English text (the API returns it, and old runs keep theirs); the web UI
// reads a text back into its key and arguments with ParseMessage and says
// it in the reader's language (catalog keys "workflows.msg.<key>", with
// the same {names}). Both directions use this one table, so the text and
// its reading cannot drift apart.
//
// Argument names with a meaning for the reader: "time" is an RFC 3339
// instant and "day" a date (shown in the reader's calendar and zone),
// "detail" is itself a message, "event" an event type.
var messages = map[string]string{
	// Why a run started.
	"started_event":    "{event} (event {id})",
	"started_by_hand":  "Started by hand by {who}",
	"started_schedule": "Schedule: every day at {at} ({day})",
	"started_weekly":   "Schedule: every week at {at} ({day})",
	"started_monthly":  "Schedule: every month on day {n} at {at} ({day})",
	"started_date_on":  "Date: on {field} ({day})",
	"started_after":    "Date: {n} days after {field} ({day})",
	"started_before":   "Date: {n} days before {field} ({day})",

	// Steps.
	"condition_yes":     "The condition is met: the then side.",
	"condition_no":      "The condition is not met: the else side.",
	"no_longer_meets":   "The person no longer meets the workflow's conditions.",
	"stopped":           "Stopped here.",
	"waiting_until":     "Waiting until {time}.",
	"waiting_condition": "Waiting for the condition, at most until {time}.",
	"date_passed":       "The date had passed; no wait.",
	"wait_met":          "The condition was met.",
	"wait_not_met":      "The condition was not met in time; going on.",
	"waited_until":      "Waited until {time}.",
	"attempt_failed":    "Attempt {n} failed; trying again.",
	"quiet_until":       "The person's quiet hours: sending at {time}.",
	"failed_for_good":   "Failed for good; retry the run to try again.",
	"completed":         "Completed.",
	"exited":            "Exited: {detail}",
	"cancelled":         "Cancelled by hand.",

	// Actions (internal/app carries them out).
	"task_exists":     "Task {id} “{title}” was already made.",
	"task_made":       "Task {id} “{title}” for user {user}.",
	"task_unassigned": "Task {id} “{title}”, for nobody yet.",
	"assigned":        "Assigned the {object} to user {id}.",
	"field_set":       "Set {field} to “{value}”.",
	"message_sent":    "Sent the {channel} to {to}.",
	"list_added":      "Added to list {id}.",
	"tag_added":       "Added the tag \"{tag}\".",
	"tag_removed":     "Removed the tag \"{tag}\".",
	"points_awarded":  "Awarded {n} points (member {member}; {available} available).",
	"points_deducted": "Took {n} points (member {member}; {available} available).",
	"ticket_made":     "Ticket {id} “{subject}”.",
	"webhook_queued":  "Queued delivery {id} to webhook {webhook}.",

	// Why a step was skipped.
	"skip_nobody":         "nobody to assign to",
	"skip_team_empty":     "the team has nobody",
	"skip_no_person":      "the record has no person",
	"skip_no_person_tag":  "the record has no person to tag",
	"skip_no_person_note": "the record has no person to write to",
	"skip_no_owner":       "a {object} has no owner",
	"skip_tag_same":       "the tag was already so",
	"skip_on_list":        "already on the list",
	"skip_not_member":     "the person is not an active club member",
}

// shapes are the patterns of the arguments that have one (ids and counts,
// days, clock times, instants), so that a text reads back the one way.
var shapes = map[string]string{
	"id": `-?[0-9]+`, "n": `-?[0-9]+`, "user": `-?[0-9]+`, "available": `-?[0-9]+`, "webhook": `-?[0-9]+`,
	"day": `[0-9]{4}-[0-9]{2}-[0-9]{2}`, "at": `[0-9]{1,2}:[0-9]{2}`, "time": `[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2})`,
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Say writes message key in English with its arguments (name, value
// pairs). An unknown key or a missing argument is a programming error:
// it panics, so tests catch it.
func Say(key string, args ...any) string {
	format, ok := messages[key]
	if !ok {
		panic("workflow: no message " + key)
	}
	if len(args)%2 != 0 {
		panic("workflow: message " + key + ": odd arguments")
	}
	vals := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		vals[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
	}
	return placeholder.ReplaceAllStringFunc(format, func(m string) string {
		v, ok := vals[m[1:len(m)-1]]
		if !ok {
			panic("workflow: message " + key + ": no value for " + m)
		}
		return v
	})
}

type parser struct {
	key   string
	re    *regexp.Regexp
	names []string
}

// parsers try the longest formats first, so that a text matching a
// general one ("Exited: {detail}") and a longer one is read as the
// longer.
var parsers = func() []parser {
	var out []parser
	for key, format := range messages {
		var b strings.Builder
		var names []string
		b.WriteString("^")
		last := 0
		for _, m := range placeholder.FindAllStringSubmatchIndex(format, -1) {
			b.WriteString(regexp.QuoteMeta(format[last:m[0]]))
			name := format[m[2]:m[3]]
			if shape, ok := shapes[name]; ok {
				b.WriteString("(" + shape + ")")
			} else {
				b.WriteString("(.*?)")
			}
			names = append(names, name)
			last = m[1]
		}
		b.WriteString(regexp.QuoteMeta(format[last:]))
		b.WriteString("$")
		out = append(out, parser{key: key, re: regexp.MustCompile(b.String()), names: names})
	}
	slices.SortFunc(out, func(a, b parser) int {
		if d := len(messages[b.key]) - len(messages[a.key]); d != 0 {
			return d
		}
		return strings.Compare(a.key, b.key)
	})
	return out
}()

// ParseMessage reads a text written by Say back into its key and
// arguments; ok is false for any other text (an error's message, a
// campaign's reason for not sending, a text from before this table).
func ParseMessage(text string) (key string, args map[string]string, ok bool) {
	for _, p := range parsers {
		m := p.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		args = make(map[string]string, len(p.names))
		for i, n := range p.names {
			args[n] = m[i+1]
		}
		return p.key, args, true
	}
	return "", nil, false
}

// MessageKeys lists every message key, sorted (for the catalogs' test).
func MessageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
