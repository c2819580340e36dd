package leadform

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

func TestParseFields(t *testing.T) {
	good := `[{"key":"first_name","required":true,"labels":{"fa":" نام ","en":""}},{"key":"email","required":true},{"key":"custom.shoe_size"}]`
	fs, err := ParseFields([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].Labels["fa"] != "نام" || len(fs[0].Labels) != 1 || fs[1].Labels != nil || !fs[1].Required {
		t.Fatalf("parsed: %+v", fs)
	}
	for _, c := range []struct{ in, field string }{
		{`[{"key":"email","colour":"red"}]`, "fields"},
		{`{"key":"email"}`, "fields"},
		{`[]`, "fields"},
		{`[{"key":"first_name"}]`, "fields"},
		{`[{"key":"email"},{"key":"email"}]`, "fields[1].key"},
		{`[{"key":"email"},{"key":"shoe"}]`, "fields[1].key"},
		{`[{"key":"email"},{"key":"custom.Shoe"}]`, "fields[1].key"},
		{`[{"key":"email","labels":{"de":"E-Mail"}}]`, "fields[0].labels"},
		{`[{"key":"email"}] [1]`, "fields"},
	} {
		_, err := ParseFields([]byte(c.in))
		if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)[c.field] == "" {
			t.Errorf("%s: want a problem on %s, got %v %v", c.in, c.field, err, crm.ErrorFields(err))
		}
	}
	// Against the custom fields: an unknown key is named.
	_, errs := CheckFields([]crm.FormField{{Key: "email"}, {Key: "custom.size"}}, []*crm.CustomField{{Key: "budget"}})
	if errs["fields[1].key"] == "" {
		t.Fatalf("unknown custom field: %v", errs)
	}
}

// FuzzParseFields: no input panics; what is accepted checks again to the
// same fields and survives a JSON round trip.
func FuzzParseFields(f *testing.F) {
	for _, s := range []string{`[{"key":"email","required":true}]`, `[{"key":"phone","labels":{"ar":"الهاتف"}},{"key":"custom.a_1"}]`, `[]`, `null`, `[{"key":""}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseFields(data)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("error code %q: %v", crm.ErrorCode(err), err)
			}
			return
		}
		again, errs := CheckFields(fs, nil)
		if len(errs) > 0 || !reflect.DeepEqual(again, fs) {
			t.Fatalf("not stable: %+v → %+v %v", fs, again, errs)
		}
		b, err := json.Marshal(fs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseFields(b)
		if err != nil || !reflect.DeepEqual(back, fs) {
			t.Fatalf("round trip: %s → %+v %v", b, back, err)
		}
	})
}

func TestLimiter(t *testing.T) {
	l := newLimiter(time.Minute)
	now := time.Now()
	for i := range 3 {
		if !l.allow(now, "a", 3) {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if l.allow(now, "a", 3) || !l.allow(now, "b", 3) {
		t.Fatal("per-key counts")
	}
	if !l.allow(now.Add(time.Minute), "a", 3) {
		t.Fatal("a new window")
	}
}

func TestSigner(t *testing.T) {
	g := &signer{key: []byte("k")}
	tok := g.token(12345)
	if id, ok := g.check(tok); !ok || id != 12345 {
		t.Fatal(tok)
	}
	for _, bad := range []string{"", "x", tok + "a", "1." + tok[len(tok)-5:], "-1.abc"} {
		if _, ok := g.check(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, ok := (&signer{key: []byte("other")}).check(tok); ok {
		t.Fatal("another key accepted it")
	}
}
