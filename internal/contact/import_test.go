package contact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runImport creates and runs an import in-process.
func runImport(t *testing.T, s *Service, path string, opts ImportOptions) *Import {
	t.Helper()
	ctx := context.Background()
	im, err := s.CreateImport(ctx, path, "", opts)
	if err != nil {
		t.Fatalf("create import: %v", err)
	}
	im, err = s.RunImport(ctx, im.ID)
	if err != nil {
		t.Fatalf("run import: %v", err)
	}
	if im.Status != store.ImportDone {
		t.Fatalf("import status %s (%s)", im.Status, im.Message)
	}
	return im
}

func problems(t *testing.T, s *Service, id int64) []ImportProblem {
	t.Helper()
	var out []ImportProblem
	page := crm.Page{Limit: 2}
	for {
		ps, next, err := s.ImportProblems(context.Background(), id, page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ps...)
		if next == "" {
			return out
		}
		page.After = next
	}
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func allContacts(t *testing.T, s *Service) []*crm.Contact {
	t.Helper()
	var out []*crm.Contact
	f := crm.ContactFilter{Sort: crm.SortCreatedAsc, Limit: 500}
	for {
		cs, next, err := s.ListContacts(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs...)
		if next == "" {
			return out
		}
		f.After = next
	}
}

func createUser(t *testing.T, db *store.DB, email, name string, active bool) int64 {
	t.Helper()
	u := &crm.User{Email: email, Name: name, Role: crm.RoleSales, Active: active, Preferences: crm.DefaultPreferences("en")}
	err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.CreateUser(context.Background(), u, "x") })
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

const dupCSV = "First Name,Last Name,Email,Phone,Company,Job Title,Tags\n" +
	"علي,رضائي,ALI@example.com,,,,\n" + // 2: same email as Ali (stored)
	"Sara,Karimi,,۰۹۱۲۳۴۵۶۷۸۹,,,\n" + // 3: same phone as Ali (stored), Persian digits
	"Reza,Tehrani,reza@example.com,,Pivand Co,CTO,vip\n" + // 4: new
	"Bad,Email,not-an-email,,,,\n" + // 5: error
	"Reza,T.,REZA@example.com,+98 935 111 2233,,,lead\n" + // 6: same email as line 4
	"علی,رضایی,,,,,\n" + // 7: same name as Ali (stored), no email or phone
	"Ali,Rezaei,another@example.com,,,,\n" // 8: same name as Ali but its own email: a new person

func seedAli(t *testing.T, s *Service) *crm.Contact {
	t.Helper()
	c, err := s.CreateContact(context.Background(), &crm.Contact{FirstName: "علی", LastName: "رضایی",
		Emails: []crm.Labeled{{Value: "ali@example.com"}}, Phones: []crm.Labeled{{Value: "+989123456789"}}, Tags: []string{"old"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestImportDuplicateModes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, mode := range []string{DuplicatesSkip, DuplicatesUpdate, DuplicatesCreate} {
			t.Run(mode, func(t *testing.T) {
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				err := db.Write(ctx, func(tx *store.Tx) error {
					for _, q := range []string{`DELETE FROM contacts`, `DELETE FROM companies`, `DELETE FROM imports`} {
						if _, err := tx.Exec(ctx, q); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				s := New(db, Options{DefaultRegion: "IR"})
				ali := seedAli(t, s)
				path := writeFile(t, "people.csv", dupCSV)
				im := runImport(t, s, path, ImportOptions{DuplicateMode: mode, BatchSize: 3})
				ps := problems(t, s, im.ID)
				if im.Rows != 7 || im.Errors != 1 {
					t.Fatalf("rows %d errors %d: %+v", im.Rows, im.Errors, ps)
				}
				if ps[0].Line != 2 && mode != DuplicatesCreate {
					t.Errorf("first problem %+v", ps[0])
				}
				var errLines []int
				dups := map[int]ImportProblem{}
				for _, p := range ps {
					if p.Kind == ProblemError {
						errLines = append(errLines, p.Line)
						if p.Field != "Email" {
							t.Errorf("error problem names %q, want the column Email: %+v", p.Field, p)
						}
					} else {
						dups[p.Line] = p
					}
				}
				if !slices.Equal(errLines, []int{5}) {
					t.Errorf("error lines %v", errLines)
				}
				people := allContacts(t, s)
				switch mode {
				case DuplicatesSkip:
					// created: 4 (Reza), 8 (another Ali); skipped: 2, 3, 6, 7
					if im.Created != 2 || im.Skipped != 4 || im.Duplicates != 4 || im.Updated != 0 || len(people) != 3 {
						t.Fatalf("skip: %+v, %d people", im, len(people))
					}
					for _, line := range []int{2, 3, 7} {
						if dups[line].ContactID != ali.ID {
							t.Errorf("line %d: %+v, want contact %d", line, dups[line], ali.ID)
						}
					}
					if dups[2].Field != "email" || dups[3].Field != "phone" || dups[7].Field != "name" {
						t.Errorf("reasons: %+v", dups)
					}
					reza := people[1]
					if dups[6].ContactID != reza.ID || reza.FirstName != "Reza" {
						t.Errorf("line 6 %+v, reza %+v", dups[6], reza)
					}
				case DuplicatesUpdate:
					// Line 3 renames Ali to Sara Karimi (the row's values win), so
					// line 7 (name only) no longer matches anyone and is created.
					if im.Created != 3 || im.Updated != 3 || im.Duplicates != 3 || im.Skipped != 0 || len(people) != 4 {
						t.Fatalf("update: %+v, %d people", im, len(people))
					}
					got, _ := s.FindContactByID(ctx, ali.ID)
					if got.FirstName != "Sara" || got.LastName != "Karimi" || len(got.Phones) != 1 || len(got.Emails) != 1 || !slices.Contains(got.Tags, "old") {
						t.Errorf("updated Ali: %+v", got)
					}
					reza := people[1]
					if reza.LastName != "T." || len(reza.Phones) != 1 || !slices.Equal(reza.Tags, []string{"vip", "lead"}) || len(reza.CompanyIDs) != 1 {
						t.Errorf("merged Reza: %+v", reza)
					}
					if dups[6].ContactID != reza.ID {
						t.Errorf("line 6: %+v", dups[6])
					}
				case DuplicatesCreate:
					if im.Created != 6 || im.Duplicates != 0 || len(people) != 7 {
						t.Fatalf("create: %+v, %d people", im, len(people))
					}
				}
				for _, p := range people {
					if p.ID != ali.ID && p.Source != "import" {
						t.Errorf("source %q", p.Source)
					}
				}
			})
		}
	})
}

func TestImportSmoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := New(db, Options{})
		path := writeFile(t, "p.csv", "name,email,phone\nAli Rezaei,ali@example.com,09123456789\n")
		im := runImport(t, s, path, ImportOptions{})
		if im.Created != 1 {
			t.Fatalf("%+v", im)
		}
		cs := allContacts(t, s)
		if len(cs) != 1 || cs[0].Phones[0].Value != "+989123456789" || cs[0].FirstName != "Ali" {
			t.Fatalf("%+v", cs)
		}
		hits, err := s.Search(context.Background(), "rez", 10)
		if err != nil || len(hits) != 1 {
			t.Fatalf("search %v %v", hits, err)
		}
	})
}

func TestImportDryRunWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		seedAli(t, s)
		tables := []string{"contacts", "contact_keys", "contact_tags", "contact_companies", "companies", "events"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = countRows(t, db, tb)
		}
		// Line 9 repeats line 4's email two batches later: a dry run
		// remembers the file's keys itself, since it stores nothing. (A
		// dry run does not apply updates, so in update mode line 7 still
		// matches Ali, whom line 3 would have renamed.)
		csv := dupCSV + "Dup,Later,reza@example.com,,,,\n"
		for _, mode := range []string{DuplicatesSkip, DuplicatesUpdate, DuplicatesCreate} {
			im := runImport(t, s, writeFile(t, "p.csv", csv), ImportOptions{DryRun: true, DuplicateMode: mode, BatchSize: 2})
			for _, tb := range tables {
				if n := countRows(t, db, tb); n != before[tb] {
					t.Errorf("%s: dry run changed %s from %d to %d rows", mode, tb, before[tb], n)
				}
			}
			if !im.DryRun || im.Rows != 8 || im.Errors != 1 {
				t.Fatalf("%s: %+v", mode, im)
			}
			ps := problems(t, s, im.ID)
			switch mode {
			case DuplicatesSkip:
				if im.Created != 2 || im.Skipped != 5 || im.Duplicates != 5 {
					t.Errorf("skip dry run: %+v %+v", im, ps)
				}
				var last ImportProblem
				for _, p := range ps {
					if p.Line == 9 {
						last = p
					}
				}
				if last.Kind != ProblemDuplicate || !strings.Contains(last.Message, "line 4") {
					t.Errorf("line 9: %+v", last)
				}
			case DuplicatesUpdate:
				if im.Created != 2 || im.Updated != 5 || im.Duplicates != 5 {
					t.Errorf("update dry run: %+v %+v", im, ps)
				}
			case DuplicatesCreate:
				if im.Created != 7 || im.Duplicates != 0 {
					t.Errorf("create dry run: %+v", im)
				}
			}
		}
		// The report is there; nothing else (no event) was written.
		list, _, err := s.ListImports(ctx, crm.Page{})
		if err != nil || len(list) != 3 || list[0].ID <= list[1].ID {
			t.Fatalf("list imports: %v %+v", err, list)
		}
	})
}

func TestImportProblemsLinesAndLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := New(db, Options{DefaultRegion: "IR"})
		var b strings.Builder
		b.WriteString("name,email,phone,birthday,notes\n")
		b.WriteString("Good One,good@example.com,,,\"two\nlines\"\n")         // lines 2-3
		b.WriteString("Bad Mail,bad@,,,\n")                                   // line 4
		b.WriteString("Bad Phone,,12,,\n")                                    // line 5
		b.WriteString("Bad Birthday,bb@example.com,,2999-01-01,\"x\n\ny\"\n") // lines 6-8
		b.WriteString(",,,,\n")                                               // line 9: blank, skipped
		b.WriteString(",,,,note only\n")                                      // line 10: no name, email or phone
		b.WriteString("Good Two,,09121112233,,\n")                            // line 11
		for i := range MaxImportProblems + 50 {
			fmt.Fprintf(&b, "Bad %d,not-an-email-%d,,,\n", i, i)
		}
		im := runImport(t, s, writeFile(t, "p.csv", b.String()), ImportOptions{BatchSize: 300})
		if im.Created != 2 || im.Errors != int64(4+MaxImportProblems+50) || im.Rows != int64(6+MaxImportProblems+50) {
			t.Fatalf("%+v", im)
		}
		found, _ := s.FindImport(context.Background(), im.ID)
		if found.Problems != MaxImportProblems {
			t.Errorf("kept %d problems, want %d", found.Problems, MaxImportProblems)
		}
		ps := problems(t, s, im.ID)
		byLine := map[int]ImportProblem{}
		for _, p := range ps[:6] {
			byLine[p.Line] = p
		}
		want := map[int]string{4: "email", 5: "phone", 6: "birthday", 10: ""}
		for line, field := range want {
			p, ok := byLine[line]
			if !ok || p.Kind != ProblemError || !strings.Contains(strings.ToLower(p.Field), field) {
				t.Errorf("line %d: %+v (want a problem naming %q); all: %+v", line, p, field, ps[:6])
			}
		}
		if len(ps) != MaxImportProblems || ps[len(ps)-1].Line <= 11 {
			t.Errorf("%d problems, last %+v", len(ps), ps[len(ps)-1])
		}
	})
}

// TestImportResumesExactlyOnce interrupts imports in three ways (a
// failing batch transaction, a cancelled context, a second worker) and
// resumes them: every row is imported exactly once.
func TestImportResumesExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		const n = 230
		var b strings.Builder
		b.WriteString("First Name,Last Name,Email,Notes\n")
		for i := range n {
			note := ""
			if i%7 == 0 {
				note = "\"multi\nline\""
			}
			fmt.Fprintf(&b, "P%d,Person,p%d@example.com,%s\n", i, i, note)
		}
		path := writeFile(t, "p.csv", b.String())
		check := func(t *testing.T, want int) {
			t.Helper()
			seen := map[string]int{}
			for _, c := range allContacts(t, s) {
				seen[c.Emails[0].Value]++
			}
			if len(seen) != want {
				t.Fatalf("%d distinct people, want %d", len(seen), want)
			}
			for e, k := range seen {
				if k != 1 {
					t.Fatalf("%s imported %d times", e, k)
				}
			}
		}

		// 1. The fourth batch transaction fails after writing its rows (a
		// crash before commit): the three committed batches stay.
		im, err := s.CreateImport(ctx, path, "", ImportOptions{BatchSize: 20, DuplicateMode: DuplicatesCreate})
		if err != nil {
			t.Fatal(err)
		}
		batches := 0
		testHookBatch = func(id int64, cp contactfile.Checkpoint) error {
			if batches++; batches == 4 {
				return errors.New("simulated crash")
			}
			return nil
		}
		_, err = s.RunImport(ctx, im.ID)
		testHookBatch = nil
		if err == nil || !strings.Contains(err.Error(), "simulated crash") {
			t.Fatalf("want the crash, got %v", err)
		}
		got, _ := s.FindImport(ctx, im.ID)
		if got.Status != store.ImportRunning || got.Rows != 60 || got.Created != 60 {
			t.Fatalf("after crash: %+v", got)
		}
		check(t, 60)

		// 2. The context ends after two more batches (Ctrl+C).
		cctx, cancel := context.WithCancel(ctx)
		batches = 0
		_, err = s.RunImportProgress(cctx, im.ID, func(p *Import) {
			if batches++; batches == 2 {
				cancel()
			}
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
		got, _ = s.FindImport(ctx, im.ID)
		if got.Status != store.ImportRunning || got.Rows != 100 {
			t.Fatalf("after cancel: %+v", got)
		}
		check(t, 100)

		// 3. A second worker holding a stale checkpoint cannot commit.
		err = db.Write(ctx, func(tx *store.Tx) error {
			ok, err := tx.AdvanceImport(ctx, im.ID, 0, 999, 99, 99)
			if ok {
				t.Error("a stale checkpoint advanced the import")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// Resume: the rest, once.
		done, err := s.RunImport(ctx, im.ID)
		if err != nil || done.Status != store.ImportDone || done.Rows != n || done.Created != n {
			t.Fatalf("resume: %v %+v", err, done)
		}
		check(t, n)
		// Running a finished import again does nothing.
		again, err := s.RunImport(ctx, im.ID)
		if err != nil || again.Created != n {
			t.Fatalf("rerun: %v %+v", err, again)
		}
		check(t, n)
		var events int
		db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE type = ?`, crm.EventImportFinished).Scan(&events)
		})
		if events != 1 {
			t.Errorf("%d import.finished events", events)
		}
	})
}

func TestImportCompaniesOwnersCustom(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		sara := createUser(t, db, "sara@pivand.example", "Sara Ahmadi", true)
		createUser(t, db, "old@pivand.example", "Old Timer", false)
		pivand, err := s.CreateCompany(ctx, &crm.Company{Name: "Pivand Co"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "vip", Label: "VIP", Type: crm.FieldSelect, Options: []string{"gold", "silver"}}); err != nil {
			t.Fatal(err)
		}
		csv := "Name,Email,Company,Job Title,Owner,custom:vip\n" +
			"Ali Rezaei,ali@example.com,PIVAND  co,CEO,SARA@pivand.example,gold\n" + // existing company by normalised name
			"Reza Karimi,reza@example.com,Arya Trade,Buyer,Sara Ahmadi,\n" + // new company; owner by name
			"Mina Azadi,mina@example.com,arya trade,,,silver\n" + // the company just created
			"Bad Owner,bo@example.com,,,ghost@pivand.example,\n" + // unknown owner
			"Old Owner,oo@example.com,,,old@pivand.example,\n" + // deactivated owner
			"Bad Custom,bc@example.com,,,,platinum\n" // not a choice
		im := runImport(t, s, writeFile(t, "p.csv", csv), ImportOptions{})
		if im.Created != 3 || im.Errors != 3 {
			t.Fatalf("%+v %+v", im, problems(t, s, im.ID))
		}
		ps := problems(t, s, im.ID)
		if ps[0].Line != 5 || ps[0].Field != "owner_email" || ps[1].Line != 6 || !strings.Contains(ps[1].Message, "deactivated") ||
			ps[2].Line != 7 || ps[2].Field != "custom.vip" {
			t.Errorf("problems %+v", ps)
		}
		people := allContacts(t, s)
		ali, reza, mina := people[0], people[1], people[2]
		if len(ali.Memberships) != 1 || ali.Memberships[0].CompanyID != pivand.ID || ali.Memberships[0].Role != "CEO" ||
			ali.OwnerID == nil || *ali.OwnerID != sara || ali.Custom["vip"] != "gold" {
			t.Errorf("ali %+v", ali)
		}
		if reza.OwnerID == nil || *reza.OwnerID != sara || len(reza.CompanyIDs) != 1 || reza.CompanyIDs[0] == pivand.ID {
			t.Errorf("reza %+v", reza)
		}
		if len(mina.CompanyIDs) != 1 || mina.CompanyIDs[0] != reza.CompanyIDs[0] {
			t.Errorf("mina %+v, reza %+v", mina, reza)
		}
		if n := countRows(t, db, "companies"); n != 2 {
			t.Errorf("%d companies", n)
		}
		// Company names are searchable on the people.
		hits, _ := s.Search(ctx, "arya", 10)
		kinds := map[string]int{}
		for _, h := range hits {
			kinds[h.Kind]++
		}
		if kinds["contact"] != 2 || kinds["company"] != 1 {
			t.Errorf("search arya: %+v", hits)
		}
		// A mapping to a custom field that does not exist is refused up front.
		_, err = s.CreateImport(ctx, writeFile(t, "q.csv", "name,custom:nope\nA B,x\n"), "", ImportOptions{})
		if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(fmt.Sprint(crm.ErrorFields(err)), "nope") {
			t.Errorf("unknown custom field: %v", err)
		}
	})
}

func TestImportFileProblems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{})
		utf16 := writeFile(t, "u16.csv", "\xff\xfen\x00a\x00m\x00e\x00")
		if _, err := s.StartImport(ctx, utf16, "u16.csv", ImportOptions{}); crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), "u16.csv") {
			t.Errorf("UTF-16: %v", err)
		}
		if _, err := s.StartImport(ctx, filepath.Join(t.TempDir(), "missing.csv"), "", ImportOptions{}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("missing: %v", err)
		}
		if _, err := s.StartImport(ctx, writeFile(t, "x.csv", "colour,size\nred,L\n"), "", ImportOptions{}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("no identity column: %v", err)
		}
		if _, err := s.StartImport(ctx, writeFile(t, "y.csv", "name\nA\n"), "", ImportOptions{DuplicateMode: "merge"}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("bad mode: %v", err)
		}
		// A file that goes bad half way (invalid UTF-8 on line 4) fails the
		// import after keeping the rows before it.
		path := writeFile(t, "bad.csv", "name,email\nA One,a@example.com\nB Two,b@example.com\nC \xff,c@example.com\n")
		im, err := s.CreateImport(ctx, path, "", ImportOptions{BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.RunImport(ctx, im.ID)
		if crm.ErrorCode(err) != crm.EINVALID || got == nil || got.Status != store.ImportFailed || got.Created != 2 || !strings.Contains(got.Message, "line 4") {
			t.Fatalf("bad file: %v %+v", err, got)
		}
		// A file changed since the import was created is refused.
		path = writeFile(t, "c.csv", "name\nA One\n")
		im, _ = s.CreateImport(ctx, path, "", ImportOptions{})
		os.WriteFile(path, []byte("name\nA One\nB Two\n"), 0o600)
		if got, err := s.RunImport(ctx, im.ID); err == nil || got.Status != store.ImportFailed {
			t.Errorf("changed file: %v %+v", err, got)
		}
	})
}

func TestImportJobAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		r := jobs.NewRunner(db, nil, jobs.Options{})
		s.RegisterJobs(r)
		im, err := s.StartImport(ctx, writeFile(t, "p.csv", "name,phone\nAli Rezaei,09123456789\nSara Karimi,+971501234567\n"), "people.csv", ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if im.Status != store.ImportPending || im.FileName != "people.csv" {
			t.Fatalf("%+v", im)
		}
		if n, err := r.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("run jobs: %d %v", n, err)
		}
		got, _ := s.FindImport(ctx, im.ID)
		if got.Status != store.ImportDone || got.Created != 2 || got.Percent() != 100 {
			t.Fatalf("%+v", got)
		}
		if _, err := s.CancelImport(ctx, im.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("cancel finished: %v", err)
		}
		// Cancelled before it ran: the job finds nothing to do.
		im, _ = s.StartImport(ctx, writeFile(t, "q.csv", "name\nNew Person\n"), "", ImportOptions{})
		if c, err := s.CancelImport(ctx, im.ID); err != nil || c.Status != store.ImportCancelled {
			t.Fatalf("cancel: %v %+v", err, c)
		}
		r.RunOnce(ctx)
		if got, _ := s.FindImport(ctx, im.ID); got.Status != store.ImportCancelled || got.Created != 0 {
			t.Errorf("%+v", got)
		}
		// A user whose role cannot write people cannot import.
		reader := &crm.User{ID: 99, Role: crm.Role("nobody"), Active: true}
		if _, err := s.StartImport(crm.NewContextWithUser(ctx, reader), writeFile(t, "r.csv", "name\nX Y\n"), "", ImportOptions{}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("import without permission: %v", err)
		}
	})
}

var _ = bytes.NewReader

var _ = fmt.Sprint
var _ = strings.Cut
var _ = errors.New
var _ = contactfile.Checkpoint{}
var _ = jobs.Job{}
