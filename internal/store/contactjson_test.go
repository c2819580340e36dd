package store

import (
	"encoding/json"
	"testing"
)

// FuzzAppendJSONString: the string encoder of the one-person JSON writes
// exactly what encoding/json writes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "سارا رضایی", `"quoted" \ back`, "<b>&amp;</b>", "tab\tnew\nline\r\x00\x1f",
		"\u2028\u2029", "bad \xff utf-8 \xe2\x82", "emoji 😀", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	})
}
