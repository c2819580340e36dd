package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/text"
)

// People: /contacts and what hangs off it (duplicates, merge, bulk,
// consent). Request bodies have their own types, apart from the crm types
// the responses encode, so that the OpenAPI document can say which fields
// a client may send (the read-only id and times are not among them).

// labeledInput is an email address or phone number in a request.
type labeledInput struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// addressInput is a postal address in a request.
type addressInput struct {
	Label      string `json:"label"`
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// membershipInput links a person to a company with a role.
type membershipInput struct {
	CompanyID int64  `json:"company_id"`
	Role      string `json:"role"`
}

// contactFields are the fields of a person a client may write.
type contactFields struct {
	Prefix      string            `json:"prefix,omitempty"`
	FirstName   string            `json:"first_name,omitempty"`
	MiddleName  string            `json:"middle_name,omitempty"`
	LastName    string            `json:"last_name,omitempty"`
	Suffix      string            `json:"suffix,omitempty"`
	Emails      []labeledInput    `json:"emails,omitempty"`
	Phones      []labeledInput    `json:"phones,omitempty"`
	Addresses   []addressInput    `json:"addresses,omitempty"`
	Birthday    string            `json:"birthday,omitempty"`
	Language    string            `json:"language,omitempty"`
	Source      string            `json:"source,omitempty"`
	OwnerID     *int64            `json:"owner_id,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Notes       string            `json:"notes,omitempty"`
	Memberships []membershipInput `json:"memberships,omitempty"`
	CompanyIDs  []int64           `json:"company_ids,omitempty"`
	Custom      map[string]any    `json:"custom,omitempty"`
}

// contactCreate is the body of POST /contacts.
type contactCreate struct {
	contactFields
	AllowDuplicate bool `json:"allow_duplicate,omitempty"`
}

// duplicateCheck is the body of POST /contacts/duplicates.
type duplicateCheck struct {
	contactFields
	ID int64 `json:"id,omitempty"` // a person being edited, left out of the matches
}

// contactPatch is the body of PATCH /contacts/{id}: members present are
// changed, absent ones stay. owner_id null clears the owner; custom
// merges per key, a key set to null removing that value.
type contactPatch struct {
	Prefix      *string            `json:"prefix,omitempty"`
	FirstName   *string            `json:"first_name,omitempty"`
	MiddleName  *string            `json:"middle_name,omitempty"`
	LastName    *string            `json:"last_name,omitempty"`
	Suffix      *string            `json:"suffix,omitempty"`
	Emails      *[]labeledInput    `json:"emails,omitempty"`
	Phones      *[]labeledInput    `json:"phones,omitempty"`
	Addresses   *[]addressInput    `json:"addresses,omitempty"`
	Birthday    *string            `json:"birthday,omitempty"`
	Language    *string            `json:"language,omitempty"`
	Source      *string            `json:"source,omitempty"`
	OwnerID     *int64             `json:"owner_id"`
	Tags        *[]string          `json:"tags,omitempty"`
	Notes       *string            `json:"notes,omitempty"`
	Memberships *[]membershipInput `json:"memberships,omitempty"`
	CompanyIDs  *[]int64           `json:"company_ids,omitempty"`
	Custom      map[string]any     `json:"custom,omitempty"`
}

// mergeRequest is the body of POST /contacts/merge.
type mergeRequest struct {
	IDs        []int64          `json:"ids"`
	SurvivorID int64            `json:"survivor_id,omitempty"`
	Choices    map[string]int64 `json:"choices,omitempty"`
	DryRun     bool             `json:"dry_run,omitempty"`
}

// bulkRequest is the body of POST /contacts/bulk.
type bulkRequest struct {
	IDs     []int64 `json:"ids"`
	Action  string  `json:"action"`
	Tag     string  `json:"tag,omitempty"`
	OwnerID *int64  `json:"owner_id,omitempty"`
}

// changed answers actions on many records: how many changed.
type changed struct {
	Changed int `json:"changed"`
}

// duplicatesProblem is the 409 of POST /contacts: the problem document
// with the people the new one looks like.
type duplicatesProblem struct {
	problem.Details
	Duplicates []crm.DuplicateMatch `json:"duplicates" openapi:"nonnull"`
}

// consentSet is the body of PUT /contacts/{id}/consents/{channel}.
type consentSet struct {
	Status string `json:"status"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
}

// consentCheck answers "may we contact this person on this channel now?".
type consentCheck struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"` // why not: no consent, withdrawn, suppressed, no address
}

// contactSorts are the orders of the people list.
var contactSorts = []string{crm.SortName, crm.SortCreatedAsc, crm.SortCreatedDesc, crm.SortUpdatedDesc}

// contactFilterParams document the filters of the people list and its
// exports.
var contactFilterParams = append([]param{
	{Name: "q", Description: "Search any part of a name, email, phone or company; Persian and Arabic spellings match."},
	{Name: "tag", Description: "Only people with this tag."},
	{Name: "owner_id", Type: "integer", Zero: true, Description: "Only people owned by this user; 0 for people without an owner."},
	{Name: "company_id", Type: "integer", Description: "Only people linked to this company."},
	{Name: "created_from", Description: "Created at or after: RFC 3339, or a date (YYYY-MM-DD) in your time zone."},
	{Name: "created_to", Description: "Created before: RFC 3339, or a date (YYYY-MM-DD), which includes that whole day."},
	{Name: "ids", Description: "Only these people: ids separated by commas (at most 10000)."},
	{Name: "sort", Enum: contactSorts, Description: "Order: name, created (oldest first), -created (newest first, the default) or -updated."},
}, analyticsFilterParams...) // segment, churn_band, clv_min, clv_max (analytics.go)

// customFilterNote explains the custom.<key> parameters, which a fixed
// parameter list cannot name.
const customFilterNote = "Filter by a custom field with custom.<key>=<value> (for example custom.vip_level=gold): exact for most types, one choice for multi selects."

func (a *API) handleContactCreate(w http.ResponseWriter, r *http.Request) {
	var in contactCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	allow := queryBool(r, "allow_duplicate", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.CreateContact(r.Context(), in.contact(), in.AllowDuplicate || (allow != nil && *allow))
	if err != nil {
		a.writeContactError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/contacts/"+strconv.FormatInt(c.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, c)
}

// writeContactError is writeError with the duplicates a warning found.
func (a *API) writeContactError(w http.ResponseWriter, r *http.Request, err error) {
	dup, ok := contact.IsDuplicates(err)
	if !ok {
		a.writeError(w, r, err)
		return
	}
	p := duplicatesProblem{Details: problem.From(err, r.URL.Path), Duplicates: dup.Matches}
	if p.Duplicates == nil {
		p.Duplicates = []crm.DuplicateMatch{}
	}
	a.writeProblemWith(w, r, err, p.Status, p)
}

func (a *API) handleContactList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := readContactFilter(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	f.Limit, f.After = page.Limit, page.After
	people, next, err := a.contacts.ListContacts(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, people, next)
}

func (a *API) handleContactGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	bp := jsonBufs.Get().(*[]byte)
	defer jsonBufs.Put(bp)
	b, err := a.contacts.FindContactJSON(r.Context(), id, (*bp)[:0])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	*bp = b
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// jsonBufs are buffers for responses written from bytes (the one-person
// GET, the busiest request).
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (a *API) handleContactUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in contactPatch
	sent, err := decodeObject(r, &in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.UpdateContact(r.Context(), id, in.update(sent))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleContactDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.contacts.DeleteContact(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleContactDuplicates(w http.ResponseWriter, r *http.Request) {
	var in duplicateCheck
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c := in.contact()
	c.ID = in.ID
	matches, err := a.contacts.FindDuplicates(r.Context(), c)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, matches, "")
}

func (a *API) handleContactMerge(w http.ResponseWriter, r *http.Request) {
	var in mergeRequest
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.DryRun {
		p, err := a.contacts.PreviewMerge(r.Context(), in.IDs, in.SurvivorID, in.Choices)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.writeJSON(w, r, http.StatusOK, p)
		return
	}
	c, err := a.contacts.Merge(r.Context(), in.IDs, in.SurvivorID, in.Choices)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleContactBulk(w http.ResponseWriter, r *http.Request) {
	var in bulkRequest
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.contacts.Bulk(r.Context(), in.IDs, crm.BulkAction{Action: in.Action, Tag: in.Tag, OwnerID: in.OwnerID})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, changed{Changed: n})
}

func (a *API) handleConsentList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.FindContactByID(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, c.Consents, "")
}

func (a *API) handleConsentSet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in consentSet
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.SetConsent(r.Context(), id, r.PathValue("channel"), in.Status, in.Source, in.Note)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleConsentCheck(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ok, reason, err := a.contacts.MayContact(r.Context(), id, r.PathValue("channel"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, consentCheck{Allowed: ok, Reason: reason})
}

func (a *API) handleSearch(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	limit := 10
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := text.ParseInt(s)
		if err != nil || n < 1 || n > 50 {
			v.Add("limit", "Use a whole number from 1 to 50.")
		} else {
			limit = int(n)
		}
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	hits, err := a.contacts.Search(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, hits, "")
}

// contact converts a request into the person the service validates.
func (in contactFields) contact() *crm.Contact {
	c := &crm.Contact{
		Prefix: in.Prefix, FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName, Suffix: in.Suffix,
		Emails: labeled(in.Emails), Phones: labeled(in.Phones), Addresses: addresses(in.Addresses),
		Birthday: in.Birthday, Language: in.Language, Source: in.Source, OwnerID: in.OwnerID,
		Tags: in.Tags, Notes: in.Notes, Memberships: memberships(in.Memberships), CompanyIDs: in.CompanyIDs,
		Custom: in.Custom,
	}
	if c.Custom == nil {
		c.Custom = map[string]any{}
	}
	return c
}

// update converts a patch; sent names the members the body had.
func (in contactPatch) update(sent map[string]json.RawMessage) crm.ContactUpdate {
	up := crm.ContactUpdate{
		Prefix: in.Prefix, FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName, Suffix: in.Suffix,
		Birthday: in.Birthday, Language: in.Language, Source: in.Source, Tags: in.Tags, Notes: in.Notes,
		Custom: in.Custom,
	}
	if in.Emails != nil {
		l := labeled(*in.Emails)
		up.Emails = &l
	}
	if in.Phones != nil {
		l := labeled(*in.Phones)
		up.Phones = &l
	}
	if in.Addresses != nil {
		l := addresses(*in.Addresses)
		up.Addresses = &l
	}
	if _, ok := sent["owner_id"]; ok {
		owner := in.OwnerID
		up.OwnerID = &owner
	}
	// company_ids links without roles; with memberships it adds to them.
	if in.Memberships != nil || in.CompanyIDs != nil {
		var ms []crm.Membership
		if in.Memberships != nil {
			ms = memberships(*in.Memberships)
		}
		if in.CompanyIDs != nil {
			for _, id := range *in.CompanyIDs {
				if !slices.ContainsFunc(ms, func(m crm.Membership) bool { return m.CompanyID == id }) {
					ms = append(ms, crm.Membership{CompanyID: id})
				}
			}
		}
		if ms == nil {
			ms = []crm.Membership{}
		}
		up.Memberships = &ms
	}
	return up
}

func labeled(in []labeledInput) []crm.Labeled {
	if in == nil {
		return nil
	}
	out := make([]crm.Labeled, len(in))
	for i, l := range in {
		out[i] = crm.Labeled{Value: l.Value, Label: l.Label}
	}
	return out
}

func addresses(in []addressInput) []crm.Address {
	if in == nil {
		return nil
	}
	out := make([]crm.Address, len(in))
	for i, a := range in {
		out[i] = crm.Address{Label: a.Label, Street: a.Street, City: a.City, Region: a.Region, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out
}

func memberships(in []membershipInput) []crm.Membership {
	if in == nil {
		return nil
	}
	out := make([]crm.Membership, len(in))
	for i, m := range in {
		out[i] = crm.Membership{CompanyID: m.CompanyID, Role: m.Role}
	}
	return out
}

// readContactFilter reads the filters of the people list (and its
// exports), collecting every bad parameter in v.
func readContactFilter(r *http.Request, v *crm.Validation) crm.ContactFilter {
	q := r.URL.Query()
	f := crm.ContactFilter{
		Q:           q.Get("q"),
		Tag:         q.Get("tag"),
		OwnerID:     queryOwner(r, "owner_id", v),
		CompanyID:   queryInt64(r, "company_id", v),
		CreatedFrom: queryTime(r, "created_from", false, v),
		CreatedTo:   queryTime(r, "created_to", true, v),
		IDs:         queryIDs(r, "ids", v),
		Custom:      queryCustom(q, v),
		Scores:      queryScores(r, v), // analytics.go
		Sort:        q.Get("sort"),
	}
	if f.Sort != "" && !slices.Contains(contactSorts, f.Sort) {
		v.Add("sort", "Use name, created, -created or -updated.")
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		v.Add("created_to", "Must be later than created_from.")
	}
	return f
}

// queryOwner reads an owner filter: a user id, or 0 for no owner; nil
// when absent.
func queryOwner(r *http.Request, name string, v *crm.Validation) *int64 {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil
	}
	n, err := text.ParseInt(s)
	if err != nil || n < 0 {
		v.Add(name, "Use a user id, or 0 for no owner.")
		return nil
	}
	return &n
}

// maxQueryIDs bounds an ids=1,2,3 selection.
const maxQueryIDs = contact.MaxBulk

// queryIDs reads a comma-separated list of positive ids; nil when absent.
func queryIDs(r *http.Request, name string, v *crm.Validation) []int64 {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxQueryIDs {
		v.Add(name, "At most %d ids.", maxQueryIDs)
		return nil
	}
	ids := make([]int64, 0, len(parts))
	for _, p := range parts {
		id, err := text.ParseInt(strings.TrimSpace(p))
		if err != nil || id <= 0 {
			v.Add(name, "Use positive ids separated by commas.")
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}

// queryBool reads an optional true/false parameter (also 1/0); nil when
// absent.
func queryBool(r *http.Request, name string, v *crm.Validation) *bool {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(text.ToASCIIDigits(s))
	if err != nil {
		v.Add(name, "Use true or false.")
		return nil
	}
	return &b
}

// queryCustom reads custom.<key>=value filters; the service checks the
// keys and values against the field definitions.
func queryCustom(q url.Values, v *crm.Validation) map[string]string {
	var out map[string]string
	for name, vals := range q {
		key, ok := strings.CutPrefix(name, "custom.")
		if !ok {
			continue
		}
		if key == "" || len(vals) != 1 {
			v.Add(name, "Give one custom.<key>=<value> per field.")
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = vals[0]
	}
	return out
}

// decodeObject is decodeJSON for handlers that need more than the struct.
// It returns the members of the body as sent, so that a member sent as
// null (clear the value) can be told from one left out (keep it). The
// members named in times must be RFC 3339 times or null; unlike
// encoding/json, the error names the field.
func decodeObject(r *http.Request, v any, times ...string) (map[string]json.RawMessage, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, tooLargeError(tooLarge.Limit)
		}
		return nil, err
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) == nil {
		var val crm.Validation
		for _, name := range times {
			raw, ok := members[name]
			if !ok || string(raw) == "null" {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				val.Add(name, "Expected an RFC 3339 time as a string, such as 2025-03-21T10:00:00Z.")
			} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				val.Add(name, "%q is not an RFC 3339 time such as 2025-03-21T10:00:00Z.", s)
			}
		}
		if err := val.Err(); err != nil {
			return nil, err
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decodeJSON(r, v); err != nil {
		return nil, err
	}
	return members, nil
}
