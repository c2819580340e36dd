package activity

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

func TestParseMentions(t *testing.T) {
	type tok struct {
		Email, Name string
		Quoted      bool
		More        []string
	}
	tests := []struct {
		in   string
		want []tok
	}{
		{"", nil},
		{"no mentions here", nil},
		{"mail ali@example.com about it", nil}, // an @ inside a word is an address, not a mention
		{"@sara@example.com please call", []tok{{Email: "sara@example.com"}}},
		{"cc @Sara@Example.COM.", []tok{{Email: "sara@example.com"}}},
		{"ask @sara.", []tok{{Name: "sara"}}},
		{"ask @Sara Rezaei about it", []tok{{Name: "Sara", More: []string{"Rezaei", "about", "it"}}}},
		{`@"Sara Rezaei" and @«سارا  رضایی»`, []tok{{Name: "Sara Rezaei", Quoted: true}, {Name: "سارا رضایی", Quoted: true}}},
		{"“x” @“Ali Karimi”", []tok{{Name: "Ali Karimi", Quoted: true}}},
		{`@"unterminated name`, nil},
		{"@\"split\nline\"", nil},
		{`@""`, nil},
		{"@ alone", nil},
		{"@@double", nil},
		{"(@ali) and @ali_karimi,@bob", []tok{{Name: "ali"}, {Name: "ali_karimi"}, {Name: "bob"}}},
		{"سلام @سارا، لطفا", []tok{{Name: "سارا"}}},
		{"@محمد\u200cعلی", []tok{{Name: "محمد\u200cعلی"}}},
		{"@sara@", []tok{{Name: "sara"}}},
		{"@a@b@c.com", []tok{{Name: "a"}}},
		{"@x @y", []tok{{Name: "x"}, {Name: "y"}}},
	}
	for _, tt := range tests {
		var got []tok
		for _, m := range ParseMentions(tt.in) {
			if tt.in[m.Start] != '@' {
				t.Errorf("%q: token %+v does not start at an @", tt.in, m)
			}
			got = append(got, tok{m.Email, m.Name, m.Quoted, m.More})
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMentions(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseMentions_Limit(t *testing.T) {
	if n := len(ParseMentions(strings.Repeat("@a ", 500))); n != maxMentions {
		t.Fatalf("%d tokens, want at most %d", n, maxMentions)
	}
}

func TestResolveMentions(t *testing.T) {
	users := []store.UserRef{
		{ID: 1, Name: "سارا رضائي", Email: "sara@example.com", Active: true},
		{ID: 2, Name: "Ali Karimi", Email: "ali@example.com", Active: true},
		{ID: 3, Name: "Reza", Email: "reza1@example.com", Active: true},
		{ID: 4, Name: "reza", Email: "reza2@example.com", Active: true},
		{ID: 5, Name: "Ali", Email: "ali2@example.com", Active: true},
	}
	tests := []struct {
		in   string
		want []int64
	}{
		{`@"سارا رضایی"`, []int64{1}},    // ئ/ي and ی meet through text.Normalize
		{"@سارا رضایی لطفا", []int64{1}}, // unquoted: the longest run of words that names someone
		{"@ali karimi and @ali", []int64{2, 5}},
		{"@Ali_Karimi @ali.karimi", []int64{2}},
		{"@ALI@example.com @ali@example.com", []int64{2}},
		{"@reza", nil}, // two users share the name: no one
		{"@nobody@example.com @nobody", nil},
	}
	for _, tt := range tests {
		var got []int64
		for _, u := range resolveMentions(ParseMentions(tt.in), users) {
			got = append(got, u.ID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("resolve %q = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	if s, cut := excerpt("short", 10); s != "short" || cut {
		t.Fatalf("excerpt short = %q, %v", s, cut)
	}
	long := strings.Repeat("ب", 600)
	s, cut := excerpt(long, ExcerptLen)
	if !cut || utf8.RuneCountInString(s) != ExcerptLen || !strings.HasSuffix(s, "…") {
		t.Fatalf("excerpt of 600 runes: %d runes, cut %v", utf8.RuneCountInString(s), cut)
	}
	if got := oneLine("a\n\n b\tc", 10); got != "a b c" {
		t.Fatalf("oneLine = %q", got)
	}
}

func FuzzParseMentions(f *testing.F) {
	for _, s := range []string{
		"@sara@example.com", `@"Sara Rezaei"`, "@«سارا رضایی»", "ali@example.com @ali", "@a@b@c",
		"@\xff\xfe", "@“x", "@" + strings.Repeat("a", 100), "@x\u200c\u200dy @z.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms := ParseMentions(s)
		if len(ms) > maxMentions {
			t.Fatalf("%d tokens", len(ms))
		}
		last := 0
		for _, m := range ms {
			if m.Start < last || m.End <= m.Start || m.End > len(s) || s[m.Start] != '@' {
				t.Fatalf("bad span %d..%d (after %d) in %q", m.Start, m.End, last, s)
			}
			last = m.End
			if (m.Email == "") == (m.Name == "") {
				t.Fatalf("token %+v has not exactly one of email and name", m)
			}
			if m.Email != "" && !crm.ValidEmail(m.Email) {
				t.Fatalf("invalid email %q from %q", m.Email, s)
			}
			if !utf8.ValidString(m.Name) || !utf8.ValidString(m.Email) {
				t.Fatalf("invalid UTF-8 in %+v", m)
			}
			if m.Quoted && len(m.More) > 0 {
				t.Fatalf("quoted token with more words: %+v", m)
			}
			// The token's own text parses to the same token.
			again := ParseMentions(s[m.Start:m.End])
			if len(again) != 1 || again[0].Email != m.Email || again[0].Name != m.Name || again[0].Quoted != m.Quoted {
				t.Fatalf("token %q of %q reparses as %+v, want %+v", s[m.Start:m.End], s, again, m)
			}
		}
	})
}
