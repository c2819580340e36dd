package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/segment"
)

// Segments (internal/segment): saved dynamic segments, whose members are
// the people a condition tree matches now, and static lists, whose
// members are put on them. The routes exist when the API was given the
// segment service.

func init() {
	moduleRoutes = append(moduleRoutes, segmentRoutes)
	tagDescriptions["segments"] = "Dynamic segments: a condition tree (docs/marketing.md) whose members are the people it matches at the moment they are asked for. " +
		"Count a tree before saving it with POST /segments/count."
	tagDescriptions["lists"] = "Static lists: people put on a list by id, email or phone. A list is also a condition field (lists)."
	for k, v := range map[string]string{
		"Segment":        "A dynamic segment (kind dynamic, with rules) or a static list (kind static). last_count is the number of members when last counted (a list's is kept current); version increases with every change.",
		"Rule":           "A node of a condition tree: a group (match all|any, conditions) or a condition (field, op, value). The fields and the operators each takes are listed by GET /segments/fields.",
		"RuleIn":         "A node of a condition tree: a group {\"match\":\"all\"|\"any\",\"conditions\":[…]} or a condition {\"field\":…,\"op\":…,\"value\":…}. Relative dates are {\"amount\":30,\"unit\":\"day\"}; absolute dates \"2026-01-31\"; between takes [from, to].",
		"ConditionField": "A field conditions may test: its type decides the operators and the value (text: a string; number and money: a number, money in minor units; date: a date, a relative date or [from, to]; choice and list: a list of strings; ref: a list of ids; bool and present: no value).",
		"SegmentPreview": "What a condition tree matches now: the count, the newest people matching (sample), and the tree as checked, with values normalised.",
		"ListChange":     "People to put on or take off a list: by id, and (to add) by email or phone, matched against the people stored.",
		"ListReport":     "What adding to a list did: added counts people newly on it; rows of emails and phones that found nobody or are not an email or phone are named by their position (line 1 is the first email, then the phones).",
	} {
		schemaDescriptions[k] = v
	}
}

func segmentRoutes(a *API) []route {
	if a.segments == nil {
		return nil
	}
	read, write := crm.PermMarketingRead, crm.PermMarketingWrite
	rts := []route{
		{"GET /api/v1/segments/fields", a.handleSegmentFields, op{ID: "listSegmentFields", Tag: "segments", Perm: read,
			Summary: "The fields conditions may test, with their types and options", Out: list[crm.ConditionField]{}}},
		{"POST /api/v1/segments/count", a.handleSegmentDryRun, op{ID: "countSegmentRules", Tag: "segments", Perm: read,
			Summary: "Count and sample the people an unsaved condition tree matches", In: segmentPreviewIn{}, Out: segment.Preview{},
			Description: "A dry run: nothing is stored (as a POST it takes a token with the write scope). An invalid tree answers 422 naming each bad condition by its path, such as rules.conditions[1].value."}},
	}
	for _, kind := range []string{crm.SegmentDynamic, crm.SegmentStatic} {
		base, tag, what := "/api/v1/segments", "segments", "Segment"
		if kind == crm.SegmentStatic {
			base, tag, what = "/api/v1/lists", "lists", "List"
		}
		h := segmentHandlers{a: a, kind: kind}
		rts = append(rts,
			route{"GET " + base, h.list, op{ID: "list" + what + "s", Tag: tag, Perm: read, Paged: true,
				Summary: "List " + strings.ToLower(what) + "s by name", Out: list[*crm.Segment]{}}},
			route{"POST " + base, h.create, op{ID: "create" + what, Tag: tag, Perm: write, Status: http.StatusCreated, Location: true,
				Summary: "Create a " + strings.ToLower(what), In: segmentIn{}, Out: &crm.Segment{},
				Description: "Names are unique across segments and lists (422 naming name otherwise)."}},
			route{"GET " + base + "/{id}", h.get, op{ID: "get" + what, Tag: tag, Perm: read,
				Summary: "Read a " + strings.ToLower(what), Out: &crm.Segment{}}},
			route{"PATCH " + base + "/{id}", h.update, op{ID: "update" + what, Tag: tag, Perm: write,
				Summary: "Change a " + strings.ToLower(what) + "'s name, description" + map[bool]string{true: " or rules", false: ""}[kind == crm.SegmentDynamic],
				In:      segmentIn{}, Out: &crm.Segment{},
				Description: "Send version as read: a change made by someone else since answers 409. Absent members keep their values."}},
			route{"DELETE " + base + "/{id}", h.delete, op{ID: "delete" + what, Tag: tag, Perm: write, Status: http.StatusNoContent,
				Summary: "Delete a " + strings.ToLower(what) + " (the people stay)"}},
			route{"GET " + base + "/{id}/count", h.count, op{ID: "count" + what, Tag: tag, Perm: read,
				Summary: "Count the members now", Out: segmentCount{}}},
			route{"GET " + base + "/{id}/members", h.members, op{ID: "list" + what + "Members", Tag: tag, Perm: read, Paged: true,
				Summary: "The members now, in contact id order", Out: list[crm.SegmentMember]{}}},
		)
	}
	return append(rts,
		route{"POST /api/v1/lists/{id}/members", a.handleListAdd, op{ID: "addListMembers", Tag: "lists", Perm: write,
			Summary: "Put people on a list by id, email or phone", In: listChange{}, Out: listReport{},
			Description: "People already on the list, and ids of no one, are skipped. Emails and phones are matched against the people stored (phones in any format; without a country code, the server's default region)."}},
		route{"POST /api/v1/lists/{id}/members/remove", a.handleListRemove, op{ID: "removeListMembers", Tag: "lists", Perm: write,
			Summary: "Take people off a list", In: listRemove{}, Out: listRemoved{}}},
	)
}

// RuleIn is a condition tree node as a request sends it.
type RuleIn struct {
	Match      string   `json:"match,omitempty"`
	Conditions []RuleIn `json:"conditions,omitempty"`
	Field      string   `json:"field,omitempty"`
	Op         string   `json:"op,omitempty"`
	Value      any      `json:"value,omitempty"`
}

type segmentIn struct {
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	Rules       *RuleIn `json:"rules,omitempty"`
	Version     int     `json:"version,omitempty"`
}

type segmentPreviewIn struct {
	Rules  *RuleIn `json:"rules"`
	Sample *int    `json:"sample,omitempty"` // how many people to sample, 0 to 50; default 10
}

type segmentCount struct {
	Count int64 `json:"count"`
}

type listChange struct {
	ContactIDs []int64  `json:"contact_ids,omitempty"`
	Emails     []string `json:"emails,omitempty"`
	Phones     []string `json:"phones,omitempty"`
}

type listReport struct {
	Added   int64                  `json:"added"`
	Matched int                    `json:"matched"` // emails and phones that found someone
	Unknown []segment.ImportRowErr `json:"unknown" openapi:"nonnull"`
	Invalid []segment.ImportRowErr `json:"invalid" openapi:"nonnull"`
}

type listRemove struct {
	ContactIDs []int64 `json:"contact_ids"`
}

type listRemoved struct {
	Removed int64 `json:"removed"`
}

// rulesJSON is the tree a request sent, as JSON for the service.
func rulesJSON(r *RuleIn) json.RawMessage {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r) // plain data
	return b
}

type segmentHandlers struct {
	a    *API
	kind string
}

// one reads segment {id}, which must be of the route's kind.
func (h segmentHandlers) one(r *http.Request) (*crm.Segment, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	s, err := h.a.segments.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if s.Kind != h.kind {
		return nil, crm.Errorf(crm.ENOTFOUND, "There is nothing at %s.", r.URL.Path)
	}
	return s, nil
}

func (h segmentHandlers) base() string {
	if h.kind == crm.SegmentStatic {
		return apiBase + "/lists/"
	}
	return apiBase + "/segments/"
}

func (h segmentHandlers) list(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	items, next, err := h.a.segments.List(r.Context(), h.kind, page)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	writeList(h.a, w, r, items, next)
}

func (h segmentHandlers) create(w http.ResponseWriter, r *http.Request) {
	var in segmentIn
	if err := decodeJSON(r, &in); err != nil {
		h.a.writeError(w, r, err)
		return
	}
	s, err := h.a.segments.Create(r.Context(), segment.Input{Kind: h.kind, Name: in.Name, Description: deref(in.Description), Rules: rulesJSON(in.Rules)})
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", h.base()+strconv.FormatInt(s.ID, 10))
	h.a.writeJSON(w, r, http.StatusCreated, s)
}

func (h segmentHandlers) get(w http.ResponseWriter, r *http.Request) {
	s, err := h.one(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	h.a.writeJSON(w, r, http.StatusOK, s)
}

func (h segmentHandlers) update(w http.ResponseWriter, r *http.Request) {
	old, err := h.one(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	var in segmentIn
	if err := decodeJSON(r, &in); err != nil {
		h.a.writeError(w, r, err)
		return
	}
	// Absent members keep their values.
	upd := segment.Input{Name: in.Name, Description: old.Description, Rules: rulesJSON(in.Rules), Version: in.Version}
	if upd.Name == "" {
		upd.Name = old.Name
	}
	if in.Description != nil {
		upd.Description = *in.Description
	}
	if in.Rules == nil && old.Rules != nil {
		upd.Rules, _ = json.Marshal(old.Rules)
	}
	s, err := h.a.segments.Update(r.Context(), old.ID, upd)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	h.a.writeJSON(w, r, http.StatusOK, s)
}

func (h segmentHandlers) delete(w http.ResponseWriter, r *http.Request) {
	s, err := h.one(r)
	if err == nil {
		err = h.a.segments.Delete(r.Context(), s.ID)
	}
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h segmentHandlers) count(w http.ResponseWriter, r *http.Request) {
	s, err := h.one(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	n, err := h.a.segments.Count(r.Context(), s.ID)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	h.a.writeJSON(w, r, http.StatusOK, segmentCount{Count: n})
}

func (h segmentHandlers) members(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	s, err := h.one(r)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	items, next, err := h.a.segments.MembersPage(r.Context(), s.ID, page)
	if err != nil {
		h.a.writeError(w, r, err)
		return
	}
	writeList(h.a, w, r, items, next)
}

func (a *API) handleSegmentFields(w http.ResponseWriter, r *http.Request) {
	fields, err := a.segments.Fields(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, fields, "")
}

func (a *API) handleSegmentDryRun(w http.ResponseWriter, r *http.Request) {
	var in segmentPreviewIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Rules == nil {
		a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"rules": "Give a group of conditions."}})
		return
	}
	sample := segment.SampleSize
	if in.Sample != nil {
		if *in.Sample < 0 || *in.Sample > 50 {
			a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"sample": "From 0 to 50."}})
			return
		}
		sample = *in.Sample
	}
	p, err := a.segments.Preview(r.Context(), rulesJSON(in.Rules), sample)
	if err != nil {
		a.writeError(w, r, prefixFields(err, "rules"))
		return
	}
	a.writeJSON(w, r, http.StatusOK, p)
}

// prefixFields names a tree's problems under the request member that
// held the tree: conditions[0].value becomes rules.conditions[0].value.
func prefixFields(err error, prefix string) error {
	fs := crm.ErrorFields(err)
	if crm.ErrorCode(err) != crm.EINVALID || len(fs) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range fs {
		if k != prefix && !strings.HasPrefix(k, prefix+".") {
			k = prefix + "." + k
		}
		out[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: crm.ErrorMessage(err), Fields: out}
}

func (a *API) listID(r *http.Request) (int64, error) {
	return segmentHandlers{a: a, kind: crm.SegmentStatic}.idOf(r)
}

func (h segmentHandlers) idOf(r *http.Request) (int64, error) {
	s, err := h.one(r)
	if err != nil {
		return 0, err
	}
	return s.ID, nil
}

func (a *API) handleListAdd(w http.ResponseWriter, r *http.Request) {
	id, err := a.listID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in listChange
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(in.ContactIDs) == 0 && len(in.Emails) == 0 && len(in.Phones) == 0 {
		a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"contact_ids": "Give contact_ids, emails or phones."}})
		return
	}
	out := listReport{Unknown: []segment.ImportRowErr{}, Invalid: []segment.ImportRowErr{}}
	if len(in.ContactIDs) > 0 {
		if out.Added, err = a.segments.AddMembers(r.Context(), id, in.ContactIDs); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	if len(in.Emails)+len(in.Phones) > 0 {
		var b strings.Builder
		for _, v := range append(append([]string{}, in.Emails...), in.Phones...) {
			b.WriteString(strings.NewReplacer("\n", " ", "\r", " ", `"`, "").Replace(v))
			b.WriteByte('\n')
		}
		rep, err := a.segments.ImportMembers(r.Context(), id, strings.NewReader(b.String()))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		out.Added += rep.Added
		out.Matched = rep.Matched
		out.Unknown, out.Invalid = rep.Unknown, rep.Invalid
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

func (a *API) handleListRemove(w http.ResponseWriter, r *http.Request) {
	id, err := a.listID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in listRemove
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.segments.RemoveMembers(r.Context(), id, in.ContactIDs)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, listRemoved{Removed: n})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
