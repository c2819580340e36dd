package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

// The merge page: /contacts/merge?ids=1,2 previews merging people (the
// service's PreviewMerge), one column per person, a radio per
// conflicting field to choose whose value stays, and which record
// survives. "Update preview" posts the choices back; "Merge" performs it
// and goes to the survivor. With fewer than two people the page offers a
// search to pick the others.

const maxMerge = 10

type mergeCell struct {
	ContactID int64
	Text      string
	Chosen    bool
}

type mergeRow struct {
	Field    string // the service's field name: first_name, custom.vip
	Label    string
	Cells    []mergeCell // one per person, in column order
	Result   string
	Conflict bool // a choice to make
}

type mergePage struct {
	base
	IDs        []int64
	People     []*crm.Contact
	SurvivorID int64
	Rows       []mergeRow
	Lists      []mergeRow // combined lists: emails, phones, tags, companies
	Moves      []string   // what moves to the survivor, translated
	Query      string     // the search for more people
	Hits       []crm.SearchHit
	Error      *message
	CanMerge   bool
	IDList     string // "1,2"
}

// parseIDs reads "1,2,3" (and repeated parameters) into unique ids.
func parseIDs(vals []string) []int64 {
	var ids []int64
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ",") {
			if id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64); err == nil && id > 0 && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) > maxMerge {
		ids = ids[:maxMerge]
	}
	return ids
}

func (s *server) handleMergePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := parseIDs(q["ids"])
	survivor, _ := strconv.ParseInt(q.Get("survivor"), 10, 64)
	s.renderMerge(w, r, http.StatusOK, ids, survivor, nil, q.Get("q"), nil)
}

func (s *server) handleMerge(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	ids := parseIDs(r.PostForm["ids"])
	survivor, _ := strconv.ParseInt(r.PostFormValue("survivor"), 10, 64)
	choices := map[string]int64{}
	for k, v := range r.PostForm {
		field, ok := strings.CutPrefix(k, "choice.")
		if !ok || len(v) == 0 {
			continue
		}
		if id, err := strconv.ParseInt(v[0], 10, 64); err == nil && slices.Contains(ids, id) {
			choices[field] = id
		}
	}
	if survivor != 0 && !slices.Contains(ids, survivor) {
		survivor = 0
	}
	if r.PostFormValue("do") != "merge" {
		s.renderMerge(w, r, http.StatusOK, ids, survivor, choices, "", nil)
		return
	}
	if survivor == 0 && len(ids) > 0 {
		survivor = ids[0]
	}
	c, err := s.contacts.Merge(r.Context(), ids, survivor, choices)
	if err != nil {
		switch crm.ErrorCode(err) {
		case crm.EINVALID, crm.ENOTFOUND:
			s.renderMerge(w, r, problem.Status(err), ids, survivor, choices, "", err)
		default:
			s.renderError(w, r, err)
		}
		return
	}
	redirect(w, r, "/contacts/"+strconv.FormatInt(c.ID, 10), "merged")
}

// renderMerge shows the merge page for ids with survivor and choices
// (0 and nil: the service's defaults). mergeErr is a failed merge.
func (s *server) renderMerge(w http.ResponseWriter, r *http.Request, status int, ids []int64, survivor int64, choices map[string]int64, q string, mergeErr error) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	d := &mergePage{base: s.page(r, "merge.title"), IDs: ids, Query: strings.TrimSpace(q), IDList: joinIDs(ids),
		CanMerge: st.user.Can(crm.PermContactsDelete)}
	if r.Method != http.MethodGet {
		d.Path = "/contacts/merge?ids=" + d.IDList
	}
	if mergeErr != nil {
		m := explain(p, mergeErr)
		d.Error = &m
	}
	if d.Query != "" {
		hits, err := s.contacts.Search(ctx, d.Query, 10)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, h := range hits {
			if h.Kind == "contact" && !slices.Contains(ids, h.ID) {
				d.Hits = append(d.Hits, h)
			}
		}
	}
	// The people, in the order asked; those gone are left out.
	for _, id := range ids {
		c, err := s.contacts.FindContactByID(ctx, id)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			continue
		}
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.People = append(d.People, c)
	}
	d.IDs = d.IDs[:0]
	for _, c := range d.People {
		d.IDs = append(d.IDs, c.ID)
	}
	d.IDList = joinIDs(d.IDs)
	if len(d.People) < 2 {
		s.render(w, r, status, "merge", d)
		return
	}
	if survivor == 0 || !slices.Contains(d.IDs, survivor) {
		survivor = d.IDs[0]
	}
	plan, err := s.contacts.PreviewMerge(ctx, d.IDs, survivor, choices)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID && d.Error == nil {
			m := explain(p, err)
			d.Error = &m
			s.render(w, r, problem.Status(err), "merge", d)
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
	}
	d.SurvivorID = survivor
	if plan != nil {
		if err := s.mergeRows(r, d, plan); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "merge", d)
}

// mergeRows lays out the plan: a row per conflicting field with each
// person's value, then the lists that are combined.
func (s *server) mergeRows(r *http.Request, d *mergePage, plan *crm.MergePlan) error {
	ctx := r.Context()
	p := state(r).p
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		return err
	}
	users, err := s.users(ctx)
	if err != nil {
		return err
	}
	byKey := map[string]*crm.CustomField{}
	for _, f := range fields {
		byKey[f.Key] = f
	}
	show := func(field string, v any) string {
		if v == nil {
			return ""
		}
		switch field {
		case "owner_id":
			if id, ok := asInt64(v); ok {
				return users.Names[id]
			}
		case "birthday":
			if s, ok := v.(string); ok {
				return civilDate(p, s)
			}
		case "language":
			if s, ok := v.(string); ok {
				return languageName(s)
			}
		}
		if k, ok := strings.CutPrefix(field, "custom."); ok {
			if f := byKey[k]; f != nil {
				return customDisplay(p, f, v)
			}
		}
		return fmt.Sprint(v)
	}
	label := func(field string) string {
		if k, ok := strings.CutPrefix(field, "custom."); ok {
			if f := byKey[k]; f != nil {
				return f.Label
			}
			return k
		}
		if k := "contacts.field." + field; p.Has(k) {
			return p.T(k)
		}
		return field
	}
	for _, c := range plan.Conflicts {
		row := mergeRow{Field: c.Field, Label: label(c.Field), Conflict: true, Result: show(c.Field, c.Result)}
		for _, person := range d.People {
			v, has := c.Values[person.ID]
			cell := mergeCell{ContactID: person.ID, Chosen: person.ID == c.Chosen}
			if has {
				cell.Text = show(c.Field, v)
			}
			row.Cells = append(row.Cells, cell)
		}
		d.Rows = append(d.Rows, row)
	}
	var companyIDs []int64
	for _, person := range d.People {
		companyIDs = append(companyIDs, person.CompanyIDs...)
	}
	names, err := s.companyNames(ctx, companyIDs)
	if err != nil {
		return err
	}
	list := func(key string, of func(*crm.Contact) []string) {
		row := mergeRow{Field: key, Label: p.T("merge.list." + key)}
		any := false
		for _, person := range d.People {
			vals := of(person)
			any = any || len(vals) > 0
			row.Cells = append(row.Cells, mergeCell{ContactID: person.ID, Text: strings.Join(vals, p.T("list.separator"))})
		}
		row.Result = strings.Join(of(&plan.Result), p.T("list.separator"))
		if any {
			d.Lists = append(d.Lists, row)
		}
	}
	list("emails", func(c *crm.Contact) []string {
		var out []string
		for _, e := range c.Emails {
			out = append(out, e.Value)
		}
		return out
	})
	list("phones", func(c *crm.Contact) []string {
		var out []string
		for _, ph := range c.Phones {
			out = append(out, phoneDisplay(p, ph.Value))
		}
		return out
	})
	list("tags", func(c *crm.Contact) []string { return c.Tags })
	list("companies", func(c *crm.Contact) []string {
		var out []string
		for _, m := range c.Memberships {
			out = append(out, names[m.CompanyID])
		}
		return out
	})
	keys := make([]string, 0, len(plan.Moves))
	for k, n := range plan.Moves {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if key := "merge.moves." + k; p.Has(key) {
			d.Moves = append(d.Moves, p.T(key, "count", plan.Moves[k]))
		} else {
			d.Moves = append(d.Moves, k+": "+p.Number(int64(plan.Moves[k])))
		}
	}
	return nil
}
