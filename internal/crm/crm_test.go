package crm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestValidation(t *testing.T) {
	var v Validation
	if v.Err() != nil {
		t.Fatal("empty validation is an error")
	}
	v.Add("email", "first")
	v.Add("email", "second")
	err := v.Err()
	if ErrorCode(err) != EINVALID || ErrorFields(err)["email"] != "first" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "email: first") {
		t.Fatalf("Error() = %q", err.Error())
	}
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	if err := Authorize(ctx, PermUsersManage, true); err != nil {
		t.Fatalf("system context refused: %v", err)
	}
	sales := &User{ID: 2, Role: RoleSales, Active: true}
	if err := Authorize(NewContextWithUser(ctx, sales), PermUsersManage, true); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("sales managing users: %v", err)
	}
	if err := Authorize(NewContextWithUser(ctx, sales), PermContactsWrite, true); err != nil {
		t.Fatalf("sales writing contacts: %v", err)
	}
	readOnly := NewContextWithToken(NewContextWithUser(ctx, sales), &APIToken{Scopes: []string{ScopeRead}})
	if err := Authorize(readOnly, PermContactsWrite, true); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("read token writing: %v", err)
	}
	if err := Authorize(readOnly, PermContactsRead, false); err != nil {
		t.Fatalf("read token reading: %v", err)
	}
	off := &User{ID: 3, Role: RoleAdmin, Active: false}
	if err := Authorize(NewContextWithUser(ctx, off), PermContactsRead, false); ErrorCode(err) != EUNAUTHORIZED {
		t.Fatalf("inactive admin: %v", err)
	}
	for _, r := range Roles {
		if !r.Can(PermTokensOwn) {
			t.Errorf("role %s cannot own API tokens", r)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []int64{1, 42, 1 << 50} {
		got, err := DecodeIDCursor(EncodeIDCursor(id))
		if err != nil || got != id {
			t.Fatalf("round trip %d: %d %v", id, got, err)
		}
	}
	for _, bad := range []string{"!!", "LTE", "YWJj"} { // "-1", "abc"
		if _, err := DecodeIDCursor(bad); ErrorFields(err)["after"] == "" {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestRawJSON(t *testing.T) {
	b, _ := json.Marshal(struct {
		A RawJSON `json:"a"`
		B RawJSON `json:"b,omitempty"`
		C RawJSON `json:"c"`
	}{A: `{"x":1}`, C: "not json"})
	if string(b) != `{"a":{"x":1},"c":"not json"}` {
		t.Fatalf("marshal = %s", b)
	}
}

func TestPreferences(t *testing.T) {
	if err := DefaultPreferences("fa").Validate(); err != nil {
		t.Fatal(err)
	}
	err := Preferences{Language: "de", Calendar: "lunar", Digits: "roman", TimeZone: "Mars/Olympus"}.Validate()
	f := ErrorFields(err)
	for _, k := range []string{"language", "calendar", "digits", "time_zone"} {
		if f[k] == "" {
			t.Errorf("no error for %s: %v", k, err)
		}
	}
}
