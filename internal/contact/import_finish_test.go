package contact

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestImportTimelineNoticeAndFile: every person an import creates or
// updates has a contact.imported entry on its timeline; the user who
// started an upload's import is notified when it finishes; the uploaded
// file is removed then (a dry run's file stays for the real run), and a
// file of the command line is never touched.
func TestImportTimelineNoticeAndFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		uid := createUser(t, db, "sara@example.com", "Sara", true)
		user := &crm.User{ID: uid, Role: crm.RoleAdmin, Active: true}
		uctx := crm.NewContextWithUser(ctx, user)
		ali := seedAli(t, s)
		r := jobs.NewRunner(db, nil, jobs.Options{})
		s.RegisterJobs(r)
		csv := "name,email,phone\nAli Rezaei,ali@example.com,\nSara Karimi,sara.k@example.com,09121112233\nReza Tehrani,,+971501234567\n"

		// A dry run of an upload: nothing on timelines, the file stays.
		upload := writeFile(t, "upload.csv", csv)
		dry, err := s.StartImport(uctx, upload, "people.csv", ImportOptions{DryRun: true, DuplicateMode: DuplicatesUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("run: %d %v", n, err)
		}
		if _, err := os.Stat(upload); err != nil {
			t.Fatalf("a dry run removed its file: %v", err)
		}
		// The real run of the same file.
		im, err := s.StartImport(uctx, upload, "people.csv", ImportOptions{DuplicateMode: DuplicatesUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("run: %d %v", n, err)
		}
		got, _ := s.FindImport(ctx, im.ID)
		if got.Status != store.ImportDone || got.Created != 2 || got.Updated != 1 {
			t.Fatalf("%+v", got)
		}
		if _, err := os.Stat(upload); !os.IsNotExist(err) {
			t.Errorf("the uploaded file is still there: %v", err)
		}

		// Timeline entries: one per person created or updated.
		type entry struct {
			contact int64
			actor   int64
			p       ImportedPayload
		}
		var entries []entry
		err = db.Read(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, `SELECT contact_id, actor_id, payload FROM events WHERE type = ? ORDER BY id`, EventContactImported)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					e       entry
					payload string
				)
				if err := rows.Scan(&e.contact, &e.actor, &payload); err != nil {
					return err
				}
				if err := json.Unmarshal([]byte(payload), &e.p); err != nil {
					return err
				}
				entries = append(entries, e)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 {
			t.Fatalf("%d contact.imported events: %+v", len(entries), entries)
		}
		actions := map[string]int{}
		for _, e := range entries {
			actions[e.p.Action]++
			if e.actor != uid || e.p.ImportID != im.ID || e.p.FileName != "people.csv" || e.p.Line < 2 || e.p.Line > 4 {
				t.Errorf("entry %+v", e)
			}
			if e.p.Action == "updated" && (e.contact != ali.ID || e.p.Line != 2) {
				t.Errorf("update entry %+v, want Ali %d on line 2", e, ali.ID)
			}
		}
		if actions["created"] != 2 || actions["updated"] != 1 {
			t.Errorf("actions %v", actions)
		}

		// Notifications: the dry run and the real run, linking to each.
		var ns []*crm.Notification
		err = db.Read(ctx, func(tx *store.Tx) error {
			ns, _, err = tx.ListNotifications(ctx, uid, false, crm.Page{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 || ns[0].Kind != "import_done" || ns[0].Title != "people.csv" || ns[0].Link != "/contacts/imports/"+itoa(im.ID) ||
			ns[1].Link != "/contacts/imports/"+itoa(dry.ID) {
			t.Errorf("notifications %+v", ns)
		}

		// The command line's file stays, and nobody is notified.
		own := writeFile(t, "mine.csv", "name\nNima Ahmadi\n")
		runImport(t, s, own, ImportOptions{})
		if _, err := os.Stat(own); err != nil {
			t.Errorf("an import removed the user's own file: %v", err)
		}

		// A dry run's file is removed by a later upload's sweep once it is
		// a week old.
		dry2 := writeFile(t, "dry2.csv", csv)
		if _, err := s.StartImport(uctx, dry2, "", ImportOptions{DryRun: true}); err != nil {
			t.Fatal(err)
		}
		r.RunOnce(ctx)
		db.Now = func() time.Time { return time.Now().Add(importFileKeep + time.Hour) }
		defer func() { db.Now = time.Now }()
		if _, err := s.StartImport(uctx, writeFile(t, "next.csv", csv), "", ImportOptions{DryRun: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dry2); !os.IsNotExist(err) {
			t.Errorf("an old dry run's file is still there: %v", err)
		}
		if _, err := os.Stat(own); err != nil {
			t.Errorf("the sweep removed the user's own file: %v", err)
		}
	})
}

func itoa(n int64) string { return string(mustJSON(n)) }
