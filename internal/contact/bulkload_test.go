package contact

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// bulkCSV is a file whose duplicates span batches (of 20 rows), so that a
// bulk load must find earlier rows of the file through its staged keys,
// stored people through contact_keys, and rows of the same batch in
// memory. Line numbers are those of the file (the header is line 1).
func bulkCSV() string {
	var b strings.Builder
	b.WriteString("First Name,Last Name,Email,Phone,Company,Tags\n")
	for i := range 150 {
		line := i + 2
		switch {
		case i == 5:
			b.WriteString("Ali,Rezaei,ALI@example.com,,,dup-of-stored\n") // the stored person's email
		case i == 9:
			b.WriteString("Sara,Stored,,۰۹۱۲۳۴۵۶۷۸۹,,dup-of-stored\n") // the stored person's phone
		case i%30 == 25 && i > 30:
			// the email of the row 30 lines up: an earlier batch
			fmt.Fprintf(&b, "Again,Person,p%d@example.com,,Acme %d,again\n", i-30, (i-30)%4)
		case i%40 == 13:
			// the phone of the previous row: the same batch
			fmt.Fprintf(&b, "Same,Batch,,+9891200%05d,,\n", i-1)
		case i%50 == 17:
			fmt.Fprintf(&b, "Name%d,Only,,,,\n", i-50) // a name-only row: matches "Name<i-50> Only" when that exists
		case i == 77:
			b.WriteString("Bad,Row,not-an-email,,,\n")
		default:
			fmt.Fprintf(&b, "Name%d,Only,p%d@example.com,+9891200%05d,Acme %d,t%d\n", i, i, i, i%4, i%3)
		}
		_ = line
	}
	return b.String()
}

// importOutcome is what an import did, comparable between runs.
type importOutcome struct {
	counts   [6]int64
	problems []string
	people   []string
}

func outcome(t *testing.T, s *Service, im *Import) importOutcome {
	t.Helper()
	o := importOutcome{counts: [6]int64{im.Rows, im.Created, im.Updated, im.Skipped, im.Duplicates, im.Errors}}
	ids := map[int64]string{}
	for _, c := range allContacts(t, s) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s|", c.FirstName, c.LastName)
		for _, e := range c.Emails {
			b.WriteString(e.Value + " ")
		}
		for _, p := range c.Phones {
			b.WriteString(p.Value + " ")
		}
		fmt.Fprintf(&b, "|%v|%d companies", c.Tags, len(c.CompanyIDs))
		o.people = append(o.people, b.String())
		ids[c.ID] = c.FirstName + " " + c.LastName
	}
	slices.Sort(o.people)
	for _, p := range problems(t, s, im.ID) {
		// Name the matched person rather than its id: ids differ between runs.
		o.problems = append(o.problems, fmt.Sprintf("%d %s %s %s", p.Line, p.Kind, p.Field, ids[p.ContactID]))
	}
	return o
}

// schemaObjects returns the SQL of the objects bulk loads drop and restore.
func schemaObjects(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT name, sql FROM sqlite_master WHERE name IN
			('contacts_fts_insert', 'contacts_fts_delete', 'contacts_fts_update', 'contacts_sort_name', 'contact_keys_contact',
			'contact_companies_company')`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n, q string
			if err := rows.Scan(&n, &q); err != nil {
				return err
			}
			out[n] = q
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkIndexed checks that the schema is whole and that every person is
// found by search and by each of its keys.
func checkIndexed(t *testing.T, db *store.DB, s *Service, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	err := db.Read(ctx, func(tx *store.Tx) error {
		ok, err := tx.ContactSchemaIntact(ctx)
		if err != nil || !ok {
			return fmt.Errorf("schema not intact (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := schemaObjects(t, db); len(want) > 0 && !mapsEqual(got, want) {
		t.Errorf("restored schema differs:\n got %q\nwant %q", got, want)
	}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('integrity-check', 1)`)
		return err
	}); err != nil {
		t.Fatalf("full-text index: %v", err)
	}
	for _, c := range allContacts(t, s) {
		// The person's own search text, every token exact, finds it.
		err := db.Read(ctx, func(tx *store.Tx) error {
			var st string
			if err := tx.QueryRow(ctx, `SELECT search_text FROM contacts WHERE id = ?`, c.ID).Scan(&st); err != nil {
				return err
			}
			var q []string
			for _, tok := range strings.Fields(st) {
				q = append(q, `"`+tok+`"`)
			}
			var n int
			err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contacts_fts WHERE contacts_fts MATCH ? AND rowid = ?`, strings.Join(q, " "), c.ID).Scan(&n)
			if err == nil && n != 1 {
				t.Errorf("the full-text index does not find person %d by %q", c.ID, st)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var keys []store.ContactKey
		for _, e := range c.Emails {
			keys = append(keys, store.ContactKey{Kind: "email", Value: e.Value})
		}
		for _, p := range c.Phones {
			keys = append(keys, store.ContactKey{Kind: "phone", Value: p.Value})
		}
		db.Read(ctx, func(tx *store.Tx) error {
			dups, err := tx.FindDuplicateContacts(ctx, keys, nil)
			if err != nil {
				return err
			}
			if _, ok := dups[c.ID]; !ok && len(keys) > 0 {
				t.Errorf("the keys of person %d (%v) are not in contact_keys", c.ID, keys)
			}
			return nil
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func bulkLoads(t *testing.T, db *store.DB) []store.BulkLoad {
	t.Helper()
	var out []store.BulkLoad
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		var err error
		out, err = tx.BulkLoads(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBulkLoadMatchesPlainImport imports the same file with and without
// bulk mode, in each duplicate mode, with a crash in the middle of the
// bulk load, and wants the same people, totals and problems.
func TestBulkLoadMatchesPlainImport(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{DuplicatesSkip, DuplicatesUpdate, DuplicatesCreate} {
		t.Run(mode, func(t *testing.T) {
			path := writeFile(t, "people.csv", bulkCSV())
			var plain importOutcome
			{
				db := storetest.Open(t, store.SQLite)
				s := New(db, Options{DefaultRegion: "IR"})
				seedAli(t, s)
				im := runImport(t, s, path, ImportOptions{DuplicateMode: mode, BatchSize: 20, BulkLoad: "off"})
				plain = outcome(t, s, im)
			}
			db := storetest.Open(t, store.SQLite)
			s := New(db, Options{DefaultRegion: "IR"})
			seedAli(t, s)
			before := schemaObjects(t, db)
			im, err := s.CreateImport(ctx, path, "", ImportOptions{DuplicateMode: mode, BatchSize: 20, BulkLoad: "on"})
			if err != nil {
				t.Fatal(err)
			}
			// The fifth batch transaction fails after writing its rows.
			batches := 0
			testHookBatch = func(int64, contactfile.Checkpoint) error {
				if batches++; batches == 5 {
					return errors.New("simulated crash")
				}
				return nil
			}
			_, err = s.RunImport(ctx, im.ID)
			testHookBatch = nil
			if err == nil || !strings.Contains(err.Error(), "simulated crash") {
				t.Fatalf("want the crash, got %v", err)
			}
			if loads := bulkLoads(t, db); len(loads) != 1 || loads[0].ImportID != im.ID {
				t.Fatalf("after the crash: bulk loads %+v", loads)
			}
			if got := schemaObjects(t, db); got["contacts_fts_insert"] != "" || got["contacts_sort_name"] != "" || got["contact_companies_company"] != "" {
				t.Fatalf("bulk mode kept %v", got)
			}
			// The people written so far are listed, though not yet searchable.
			if n := len(allContacts(t, s)); n < 40 {
				t.Fatalf("%d people after four batches", n)
			}
			done, err := s.RunImport(ctx, im.ID)
			if err != nil || done.Status != store.ImportDone {
				t.Fatalf("resume: %v %+v", err, done)
			}
			if got := outcome(t, s, done); !slices.Equal(got.people, plain.people) || got.counts != plain.counts || !slices.Equal(got.problems, plain.problems) {
				t.Errorf("bulk load differs from a plain import:\ncounts %v, plain %v\nproblems %q\nplain    %q\npeople %q\nplain  %q",
					got.counts, plain.counts, got.problems, plain.problems, got.people, plain.people)
			}
			if len(bulkLoads(t, db)) != 0 || countRows(t, db, "contact_keys_load") != 0 {
				t.Error("the bulk load is still recorded")
			}
			checkIndexed(t, db, s, before)
		})
	}
}

// TestBulkLoadRecovered: an import stopped in bulk mode and never resumed
// is cleaned up once its heartbeat is stale, and resuming it afterwards
// still imports every row once.
func TestBulkLoadRecovered(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	s := New(db, Options{DefaultRegion: "IR"})
	before := schemaObjects(t, db)
	path := writeFile(t, "people.csv", bulkCSV())
	im, err := s.CreateImport(ctx, path, "", ImportOptions{BatchSize: 20, BulkLoad: "on"})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	batches := 0
	_, err = s.RunImportProgress(cctx, im.ID, func(*Import) {
		if batches++; batches == 3 {
			cancel() // Ctrl+C
		}
	})
	cancel()
	if !errors.Is(err, context.Canceled) || len(bulkLoads(t, db)) != 1 {
		t.Fatalf("stop: %v, loads %+v", err, bulkLoads(t, db))
	}
	// While the heartbeat is fresh, the load is left alone.
	if ok, err := s.RecoverBulkLoads(ctx); err != nil || ok || len(bulkLoads(t, db)) != 1 {
		t.Fatalf("recover a live load: %v %v", ok, err)
	}
	// Two minutes later it is stale and the schema is restored.
	db.Now = func() time.Time { return time.Now().Add(bulkStale + time.Second) }
	if ok, err := s.RecoverBulkLoads(ctx); err != nil || !ok {
		t.Fatalf("recover: %v %v", ok, err)
	}
	db.Now = time.Now
	checkIndexed(t, db, s, before)
	stopped := len(allContacts(t, s))
	done, err := s.RunImport(ctx, im.ID)
	if err != nil || done.Status != store.ImportDone || done.Rows != 150 {
		t.Fatalf("resume: %v %+v", err, done)
	}
	if len(allContacts(t, s)) <= stopped || done.Created != int64(len(allContacts(t, s))) {
		t.Errorf("created %d, %d people, %d before the resume", done.Created, len(allContacts(t, s)), stopped)
	}
	checkIndexed(t, db, s, before)
	seen := map[string]bool{}
	for _, c := range allContacts(t, s) {
		for _, e := range c.Emails {
			if seen[e.Value] {
				t.Errorf("%s imported twice", e.Value)
			}
			seen[e.Value] = true
		}
	}

	// A schema broken without a record (say, by hand) is repaired too.
	err = db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `DROP TRIGGER contacts_fts_insert`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RecoverBulkLoads(ctx); err != nil || !ok {
		t.Fatalf("repair: %v %v", ok, err)
	}
	checkIndexed(t, db, s, before)
}

// TestBulkLoadCancelled: cancelling a running bulk import restores the
// schema at once.
func TestBulkLoadCancelled(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	s := New(db, Options{DefaultRegion: "IR"})
	before := schemaObjects(t, db)
	im, err := s.CreateImport(ctx, writeFile(t, "people.csv", bulkCSV()), "", ImportOptions{BatchSize: 20, BulkLoad: "on"})
	if err != nil {
		t.Fatal(err)
	}
	batches := 0
	got, err := s.RunImportProgress(ctx, im.ID, func(*Import) {
		if batches++; batches == 2 {
			if _, err := s.CancelImport(ctx, im.ID); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil || got.Status != store.ImportCancelled {
		t.Fatalf("%v %+v", err, got)
	}
	checkIndexed(t, db, s, before)
}

// TestBulkLoadAutomatic: small files and PostgreSQL never use bulk mode.
func TestBulkLoadAutomatic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		opts := ImportOptions{BatchSize: 20}
		if db.Dialect() == store.Postgres {
			opts.BulkLoad = "on" // asked for, but SQLite only
		}
		im, err := s.CreateImport(ctx, writeFile(t, "people.csv", bulkCSV()), "", opts)
		if err != nil {
			t.Fatal(err)
		}
		testHookBatch = func(int64, contactfile.Checkpoint) error {
			if db.Dialect() == store.SQLite && len(bulkLoads(t, db)) > 0 {
				t.Error("a small import runs in bulk mode")
			}
			return nil
		}
		_, err = s.RunImport(ctx, im.ID)
		testHookBatch = nil
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateImport(ctx, writeFile(t, "p.csv", "name\nA B\n"), "", ImportOptions{BulkLoad: "sometimes"}); crm.ErrorFields(err)["bulk_load"] == "" {
			t.Errorf("bad bulk_load option: %v", err)
		}
	})
}

// TestBulkLoadStaleSearchBuild: the end of a bulk load builds the search
// index in a scratch database beside the main one; one left behind by a
// crash during that end (garbage, half written) is replaced, and the
// import ends with every person indexed once and no scratch file left.
func TestBulkLoadStaleSearchBuild(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	s := New(db, Options{DefaultRegion: "IR"})
	before := schemaObjects(t, db)
	scratch := db.Source() + "-ftsbuild"
	if err := os.WriteFile(scratch, []byte("not a database: a build that crashed half way"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "people.csv", bulkCSV())
	im, err := s.CreateImport(ctx, path, "", ImportOptions{BatchSize: 40, BulkLoad: "on"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.RunImport(ctx, im.ID)
	if err != nil || done.Status != store.ImportDone || done.Rows != 150 {
		t.Fatalf("import: %v %+v", err, done)
	}
	checkIndexed(t, db, s, before)
	if n := len(allContacts(t, s)); int64(n) != done.Created {
		t.Errorf("%d people, %d created", n, done.Created)
	}
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("scratch database left behind: %v", err)
	}
}
