package workflow

import (
	"regexp"
	"strings"
	"testing"
)

// samples are values of the arguments with a shape.
var samples = map[string]string{"id": "42", "n": "-3", "user": "7", "available": "1200", "webhook": "2",
	"day": "2026-12-05", "at": "09:00", "time": "2026-12-05T09:00:00Z"}

// Every message said with arguments reads back as itself.
func TestMessagesRoundTrip(t *testing.T) {
	for _, key := range MessageKeys() {
		var args []any
		want := map[string]string{}
		for _, m := range placeholder.FindAllStringSubmatch(messages[key], -1) {
			v := "v-" + m[1] + " (x) “y”."
			if v2, ok := samples[m[1]]; ok {
				v = v2
			}
			args = append(args, m[1], v)
			want[m[1]] = v
		}
		text := Say(key, args...)
		got, gotArgs, ok := ParseMessage(text)
		if !ok || got != key {
			t.Errorf("%s: %q read as %q (%v)", key, text, got, ok)
			continue
		}
		for n, v := range want {
			if gotArgs[n] != v {
				t.Errorf("%s: %s = %q, want %q", key, n, gotArgs[n], v)
			}
		}
	}
	// Messages inside messages, and texts that are none.
	if k, a, ok := ParseMessage(Say("exited", "detail", Say("skip_no_person"))); !ok || k != "exited" || a["detail"] != "the record has no person" {
		t.Errorf("nested: %s %v", k, a)
	}
	for _, s := range []string{"", "boom: connection refused", "Completed", "Waiting until"} {
		if k, _, ok := ParseMessage(s); ok {
			t.Errorf("%q read as %s", s, k)
		}
	}
}

func TestSayPanicsOnMistakes(t *testing.T) {
	for _, f := range []func(){
		func() { Say("no such message") },
		func() { Say("waiting_until") },
		func() { Say("waiting_until", "time") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

// FuzzParseMessage: any text read as a message says itself again.
func FuzzParseMessage(f *testing.F) {
	for _, key := range MessageKeys() {
		f.Add(messages[key])
	}
	f.Add("Task 3 “Call” for user 2.")
	f.Add("Exited: Exited: nobody to assign to")
	f.Fuzz(func(t *testing.T, s string) {
		key, args, ok := ParseMessage(s)
		if !ok {
			return
		}
		var kv []any
		for n, v := range args {
			kv = append(kv, n, v)
		}
		if again := Say(key, kv...); again != s {
			t.Fatalf("%q read as %s %v says %q", s, key, args, again)
		}
		if strings.Count(messages[key], "{") != len(args) {
			t.Fatalf("%s: %d arguments", key, len(args))
		}
	})
}

// Every shaped argument has a sample that fits it.
func TestSamplesFitShapes(t *testing.T) {
	for name, shape := range shapes {
		if !regexp.MustCompile("^" + shape + "$").MatchString(samples[name]) {
			t.Errorf("%s: sample %q does not fit %s", name, samples[name], shape)
		}
	}
}
