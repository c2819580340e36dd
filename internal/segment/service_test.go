package segment_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func (f *fixture) members(id int64) []int64 {
	f.t.Helper()
	var ids []int64
	err := f.db.Read(sys, func(tx *store.Tx) error {
		return f.svc.Members(sys, tx, id, func(c int64) error { ids = append(ids, c); return nil })
	})
	if err != nil {
		f.t.Fatalf("members of %d: %v", id, err)
	}
	return ids
}

func TestSegmentLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		rules := `{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["vip","press"]},{"field":"phone","op":"is_set"}]}`
		seg, err := f.svc.Create(sys, segment.Input{Name: " Good customers ", Rules: json.RawMessage(rules)})
		if err != nil {
			t.Fatal(err)
		}
		if seg.Kind != crm.SegmentDynamic || seg.Name != "Good customers" || seg.Version != 1 || seg.Rules == nil {
			t.Fatalf("created %+v", seg)
		}
		n, err := f.svc.Count(sys, seg.ID)
		if err != nil || n != 3 {
			t.Fatalf("count %d, %v", n, err)
		}
		got, _ := f.svc.Get(sys, seg.ID)
		if got.LastCount == nil || *got.LastCount != 3 || got.CountedAt == nil {
			t.Errorf("the count is not kept: %+v", got)
		}
		if ids := f.members(seg.ID); !slices.Equal(ids, []int64{ali, sara, reza}) {
			t.Errorf("members %v", ids)
		}
		// Pages in id order.
		page, next, err := f.svc.MembersPage(sys, seg.ID, crm.Page{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ContactID != ali || page[0].Email != "ali@example.com" || next == "" {
			t.Fatalf("page 1 %+v %q %v", page, next, err)
		}
		page, next, err = f.svc.MembersPage(sys, seg.ID, crm.Page{Limit: 2, After: next})
		if err != nil || len(page) != 1 || page[0].ContactID != reza || next != "" {
			t.Fatalf("page 2 %+v %q %v", page, next, err)
		}
		// The same name twice is refused, naming the field.
		_, err = f.svc.Create(sys, segment.Input{Name: "good CUSTOMERS", Kind: crm.SegmentStatic})
		if crm.ErrorFields(err)["name"] == "" {
			t.Errorf("duplicate name: %v", err)
		}
		// A bad rule on update names its path under rules.
		_, err = f.svc.Update(sys, seg.ID, segment.Input{Name: "x", Version: 1, Rules: json.RawMessage(`{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":"lots"}]}`)})
		if crm.ErrorFields(err)["rules.conditions[0].value"] == "" {
			t.Errorf("bad update: %v", err)
		}
		upd, err := f.svc.Update(sys, seg.ID, segment.Input{Name: "VIPs", Version: 1, Rules: json.RawMessage(`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip"]}]}`)})
		if err != nil || upd.Version != 2 {
			t.Fatalf("update %+v %v", upd, err)
		}
		// A stale version is a conflict.
		if _, err := f.svc.Update(sys, seg.ID, segment.Input{Name: "Old", Version: 1}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("stale update: %v", err)
		}
		if ids := f.members(seg.ID); !slices.Equal(ids, []int64{ali}) {
			t.Errorf("members after update %v", ids)
		}
		// An erased person is gone from contacts, and so from every segment.
		f.exec(`DELETE FROM contacts WHERE id = ?`, ali)
		if ids := f.members(seg.ID); len(ids) != 0 {
			t.Errorf("members after erasure %v", ids)
		}
		if err := f.svc.Delete(sys, seg.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(sys, seg.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("deleted: %v", err)
		}
	})
}

func TestStaticList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		list, err := f.svc.Create(sys, segment.Input{Name: "Fair visitors", Kind: crm.SegmentStatic})
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.svc.AddMembers(sys, list.ID, []int64{nina, sara, sara, 999})
		if err != nil || n != 2 {
			t.Fatalf("add: %d %v", n, err)
		}
		if n, _ := f.svc.AddMembers(sys, list.ID, []int64{sara}); n != 0 {
			t.Errorf("added again: %d", n)
		}
		if ids := f.members(list.ID); !slices.Equal(ids, []int64{sara, nina}) {
			t.Errorf("members %v", ids)
		}
		// A file of emails and phones, with a header, unknown and bad rows.
		csv := "Name,Phone\nAli,۰۹۱۲ ۱۲۳ ۴۵۶۷\nX,not a phone\nY,+44 20 7946 0000\n\n"
		rep, err := f.svc.ImportMembers(sys, list.ID, strings.NewReader(csv))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 3 || rep.Matched != 1 || rep.Added != 1 || len(rep.Unknown) != 1 || rep.Unknown[0].Line != 4 || len(rep.Invalid) != 1 || rep.Invalid[0].Line != 3 {
			t.Errorf("phones import %+v", rep)
		}
		rep, err = f.svc.ImportMembers(sys, list.ID, strings.NewReader("BOBBY@x.com\nnobody@x.com\n"))
		if err != nil || rep.Added != 1 || len(rep.Unknown) != 1 || rep.Unknown[0].Line != 2 {
			t.Errorf("emails import %+v %v", rep, err)
		}
		if _, err := f.svc.ImportMembers(sys, list.ID, strings.NewReader("\n\n")); crm.ErrorFields(err)["file"] == "" {
			t.Errorf("empty file: %v", err)
		}
		if ids := f.members(list.ID); !slices.Equal(ids, []int64{ali, sara, bobby, nina}) {
			t.Errorf("members after import %v", ids)
		}
		got, _ := f.svc.Get(sys, list.ID)
		if got.LastCount == nil || *got.LastCount != 4 {
			t.Errorf("list count %v", got.LastCount)
		}
		if n, err := f.svc.RemoveMembers(sys, list.ID, []int64{sara, reza}); err != nil || n != 1 {
			t.Errorf("remove: %d %v", n, err)
		}
		// Lists are a field of the language too.
		ids, err := f.match(one("lists", "in", []int64{list.ID}))
		if err != nil || !slices.Equal(ids, []int64{ali, bobby, nina}) {
			t.Errorf("lists in: %v %v", ids, err)
		}
		// A dynamic segment's members cannot be picked.
		dyn, _ := f.svc.Create(sys, segment.Input{Name: "All"})
		if _, err := f.svc.AddMembers(sys, dyn.ID, []int64{ali}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("add to dynamic: %v", err)
		}
		if _, err := f.svc.Create(sys, segment.Input{Name: "L2", Kind: crm.SegmentStatic, Rules: json.RawMessage(`{"match":"all","conditions":[]}`)}); crm.ErrorFields(err)["rules"] == "" {
			t.Errorf("list with rules: %v", err)
		}
		// Deleting the list a segment uses makes the segment say so.
		seg, err := f.svc.Create(sys, segment.Input{Name: "On the list", Rules: json.RawMessage(one("lists", "in", []int64{list.ID}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Delete(sys, list.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Count(sys, seg.ID); crm.ErrorFields(err)["rules.conditions[0].value"] == "" {
			t.Errorf("count of a segment on a deleted list: %v", err)
		}
	})
}

func TestPreviewAndPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		p, err := f.svc.Preview(sys, []byte(one("orders.count", "gte", "۱")), 1)
		if err != nil || p.Count != 2 || len(p.Sample) != 1 || p.Sample[0].ContactID != sara {
			t.Fatalf("preview %+v %v", p, err)
		}
		if v, ok := p.Rules.Conditions[0].Value.(float64); !ok || v != 1 {
			t.Errorf("normalised value %#v", p.Rules.Conditions[0].Value)
		}
		viewer := &crm.User{ID: 2, Role: crm.RoleSupport, Active: true}
		ctx := crm.NewContextWithUser(sys, viewer)
		if !viewer.Can(crm.PermMarketingWrite) {
			if _, err := f.svc.Create(ctx, segment.Input{Name: "x"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Errorf("create without permission: %v", err)
			}
		}
	})
}

// TestMembersBatches: Members walks past its batch size in order, and
// fn may use the transaction between calls.
func TestMembersBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.Now = func() time.Time { return now }
		svc := segment.New(db, segment.Options{})
		const n = 4500
		err := db.Write(sys, func(tx *store.Tx) error {
			for i := 1; i <= n; i += 500 {
				var b strings.Builder
				var args []any
				for j := i; j < i+500; j++ {
					if j > i {
						b.WriteString(", ")
					}
					b.WriteString("(?, ?, ?, ?)")
					args = append(args, j, "P", now, now)
				}
				if _, err := tx.Exec(sys, `INSERT INTO contacts (id, first_name, created_at, updated_at) VALUES `+b.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		seg, err := svc.Create(sys, segment.Input{Name: "Everyone"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		err = db.Read(sys, func(tx *store.Tx) error {
			return svc.Members(sys, tx, seg.ID, func(id int64) error {
				if len(ids)%1000 == 0 { // the transaction is usable inside fn
					var k int
					if err := tx.QueryRow(sys, `SELECT COUNT(*) FROM segments`).Scan(&k); err != nil {
						return err
					}
				}
				ids = append(ids, id)
				return nil
			})
		})
		if err != nil || len(ids) != n || !slices.IsSorted(ids) || ids[0] != 1 || ids[n-1] != n {
			t.Fatalf("members: %d ids, sorted %v, %v", len(ids), slices.IsSorted(ids), err)
		}
	})
}
