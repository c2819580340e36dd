package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestTx_IdempotencyKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 3, 21, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }

		insert := func(userID int64, key string) bool {
			t.Helper()
			var ok bool
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = tx.InsertIdempotencyKey(ctx, &store.IdempotencyKey{
					UserID: userID, Key: key, Method: "POST", Path: "/api/v1/teams", RequestHash: "h-" + key,
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		find := func(userID int64, key string) (*store.IdempotencyKey, error) {
			var k *store.IdempotencyKey
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				k, err = tx.FindIdempotencyKey(ctx, userID, key)
				return err
			})
			return k, err
		}

		t.Run("InsertOnce", func(t *testing.T) {
			if !insert(1, "a") {
				t.Fatal("first insert did not claim the key")
			}
			if insert(1, "a") {
				t.Fatal("second insert claimed a taken key")
			}
			if !insert(2, "a") {
				t.Fatal("another user's key collided")
			}
			k, err := find(1, "a")
			if err != nil {
				t.Fatal(err)
			}
			if k.Status != 0 || k.Method != "POST" || k.Path != "/api/v1/teams" || k.RequestHash != "h-a" || !k.CreatedAt.Equal(now) {
				t.Fatalf("in-flight key = %+v", k)
			}
		})

		t.Run("Complete", func(t *testing.T) {
			body := []byte(`{"name":"فروش"}`)
			err := db.Write(ctx, func(tx *store.Tx) error {
				return tx.CompleteIdempotencyKey(ctx, 1, "a", 201, "application/json", body)
			})
			if err != nil {
				t.Fatal(err)
			}
			k, err := find(1, "a")
			if err != nil {
				t.Fatal(err)
			}
			if k.Status != 201 || k.ContentType != "application/json" || string(k.Body) != string(body) {
				t.Fatalf("completed key = %+v", k)
			}
		})

		t.Run("DeleteAndNotFound", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteIdempotencyKey(ctx, 2, "a") })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := find(2, "a"); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("find deleted key: err = %v, want not found", err)
			}
		})

		t.Run("Purge", func(t *testing.T) {
			now = now.Add(time.Hour)
			insert(1, "b")
			var n int64
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				n, err = tx.PurgeIdempotencyKeys(ctx, now.Add(-time.Minute))
				return err
			})
			if err != nil || n != 1 {
				t.Fatalf("purged %d, %v; want 1", n, err)
			}
			if _, err := find(1, "a"); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("old key survived the purge: %v", err)
			}
			if _, err := find(1, "b"); err != nil {
				t.Fatalf("new key was purged: %v", err)
			}
		})
	})
}
