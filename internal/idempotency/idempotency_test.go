package idempotency_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"a", true},
		{"", false},
		{"has space", false},
		{"کلید", false},
		{strings.Repeat("k", idempotency.MaxKeyLength), true},
		{strings.Repeat("k", idempotency.MaxKeyLength+1), false},
	}
	for _, tt := range tests {
		err := idempotency.ValidKey(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("ValidKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
		if err != nil && crm.ErrorFields(err)[idempotency.Header] == "" {
			t.Errorf("ValidKey(%q) error does not name the header: %v", tt.key, err)
		}
	}
}

func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 3, 21, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		s := idempotency.New(db)
		req := idempotency.Request{UserID: 1, Key: "k1", Method: "POST", Path: "/api/v1/teams", Body: []byte(`{"name":"a"}`)}
		created := idempotency.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"id":7}`)}

		begin := func(req idempotency.Request) (*idempotency.Response, error) {
			t.Helper()
			return s.Begin(ctx, req)
		}

		t.Run("FirstRequestGoesAhead", func(t *testing.T) {
			if r, err := begin(req); r != nil || err != nil {
				t.Fatalf("Begin = %v, %v; want nil, nil", r, err)
			}
		})
		t.Run("InFlightDuplicateConflicts", func(t *testing.T) {
			if _, err := begin(req); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("err = %v, want conflict", err)
			}
		})
		t.Run("DifferentRequestIsInvalid", func(t *testing.T) {
			other := req
			other.Body = []byte(`{"name":"b"}`)
			_, err := begin(other)
			if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)[idempotency.Header] == "" {
				t.Fatalf("err = %v, want invalid naming %s", err, idempotency.Header)
			}
			other = req
			other.Path = "/api/v1/users"
			if _, err := begin(other); crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("other path: err = %v, want invalid", err)
			}
		})
		t.Run("ReplayReturnsStoredResponse", func(t *testing.T) {
			if err := s.Complete(ctx, req, created); err != nil {
				t.Fatal(err)
			}
			r, err := begin(req)
			if err != nil || r == nil {
				t.Fatalf("Begin = %v, %v; want the stored response", r, err)
			}
			if r.Status != 201 || r.ContentType != "application/json" || string(r.Body) != `{"id":7}` {
				t.Fatalf("replay = %+v", r)
			}
		})
		t.Run("KeysArePerUser", func(t *testing.T) {
			other := req
			other.UserID = 2
			if r, err := begin(other); r != nil || err != nil {
				t.Fatalf("Begin = %v, %v; want nil, nil", r, err)
			}
		})
		t.Run("ReleaseFreesTheKey", func(t *testing.T) {
			r2 := req
			r2.Key = "k2"
			if _, err := begin(r2); err != nil {
				t.Fatal(err)
			}
			if err := s.Release(ctx, r2); err != nil {
				t.Fatal(err)
			}
			if r, err := begin(r2); r != nil || err != nil {
				t.Fatalf("after release Begin = %v, %v; want nil, nil", r, err)
			}
		})
		t.Run("AbandonedInFlightKeyIsReclaimed", func(t *testing.T) {
			now = now.Add(idempotency.DefaultInFlightTimeout)
			r2 := req
			r2.Key = "k2"
			if r, err := begin(r2); r != nil || err != nil {
				t.Fatalf("Begin = %v, %v; want nil, nil", r, err)
			}
		})
		t.Run("ExpiredKeyIsFree", func(t *testing.T) {
			now = now.Add(idempotency.DefaultTTL)
			other := req
			other.Body = []byte(`{"name":"new"}`)
			if r, err := begin(other); r != nil || err != nil {
				t.Fatalf("Begin = %v, %v; want nil, nil", r, err)
			}
		})
		t.Run("Purge", func(t *testing.T) {
			now = now.Add(idempotency.DefaultTTL + time.Second)
			n, err := s.Purge(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 { // k1 (reclaimed at the previous step), user 2's k1, k2
				t.Fatalf("purged %d keys, want 3", n)
			}
			if n, _ := s.Purge(ctx); n != 0 {
				t.Fatalf("second purge removed %d keys", n)
			}
		})
		t.Run("LazyPurge", func(t *testing.T) {
			s := idempotency.New(db)
			r3 := req
			r3.Key = "k3"
			if _, err := s.Begin(ctx, r3); err != nil {
				t.Fatal(err)
			}
			now = now.Add(idempotency.DefaultTTL + time.Second)
			s.PurgeEvery = 0
			r4 := req
			r4.Key = "k4"
			if _, err := s.Begin(ctx, r4); err != nil {
				t.Fatal(err)
			}
			// k3 expired and was purged by Begin; a fresh Purge finds nothing old.
			if n, err := s.Purge(ctx); err != nil || n != 0 {
				t.Fatalf("purge after lazy purge removed %d, %v; want 0", n, err)
			}
			if r, err := s.Begin(ctx, r4); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("k4 should still be in flight: %v, %v", r, err)
			}
		})
	})
}
