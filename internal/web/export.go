package web

import (
	"bufio"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

// Bulk actions of the people list besides the service's own (add_tag,
// remove_tag, set_owner, delete).
const (
	bulkExportCSV   = "export_csv"
	bulkExportVCard = "export_vcf"
	bulkMerge       = "merge"
)

// writeJSONDownload sends v as an indented JSON file to save.
func writeJSONDownload(w http.ResponseWriter, filename string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	h.Set("Cache-Control", "no-store")
	w.Write(b)
}

func (s *server) handleContactExportCSV(w http.ResponseWriter, r *http.Request) {
	s.exportFiltered(w, r, "csv")
}

func (s *server) handleContactExportVCard(w http.ResponseWriter, r *http.Request) {
	format := "vcf3"
	if r.URL.Query().Get("version") == "4.0" {
		format = "vcf4"
	}
	s.exportFiltered(w, r, format)
}

// exportFiltered exports everyone the list's filter (in the query) finds.
func (s *server) exportFiltered(w http.ResponseWriter, r *http.Request, format string) {
	fields, err := s.contacts.ListCustomFields(r.Context(), "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	filter, f := contactFilter(state(r).p, r.URL.Query(), fields)
	s.analyticsFilter(r, r.URL.Query(), &f, &filter)
	if !f.ok() {
		s.renderError(w, r, &crm.Error{Code: crm.EINVALID, Key: "contacts.export.bad_filter", Message: "The filter of this export is not valid; go back to the list and correct it."})
		return
	}
	s.exportContacts(w, r, filter, format)
}

// exportContacts streams the people filter finds as CSV ("csv") or vCard
// ("vcf3", "vcf4") with the service's exports, which page through the
// people 500 at a time and audit the export. The download's headers are
// sent with its first bytes, so an error before them (a bad filter) gets
// the error page; a later one can only cut the download short, and is
// logged.
func (s *server) exportContacts(w http.ResponseWriter, r *http.Request, filter crm.ContactFilter, format string) {
	ctx := r.Context()
	stamp := nowFunc().UTC().Format("20060102-1504")
	d := &download{w: w, ctype: "text/csv; charset=utf-8", filename: "pivand-contacts-" + stamp + ".csv"}
	bw := bufio.NewWriterSize(d, 64<<10)
	var err error
	switch format {
	case "csv":
		_, err = s.contacts.ExportCSV(ctx, filter, bw, contact.ExportOptions{BOM: true, // Excel reads Persian and Arabic only with the BOM
			Extra: s.analyticsExport(r)})
	default:
		version := "3.0"
		if format == "vcf4" {
			version = "4.0"
		}
		d.ctype, d.filename = "text/vcard; charset=utf-8", "pivand-contacts-"+stamp+".vcf"
		_, err = s.contacts.ExportVCard(ctx, filter, bw, version)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !d.started {
			s.renderError(w, r, err)
			return
		}
		s.log.WarnContext(ctx, "web: export contacts", "format", format, "err", err)
	}
}

// download sets a file download's headers when its first bytes are
// written.
type download struct {
	w               http.ResponseWriter
	ctype, filename string
	started         bool
}

func (d *download) Write(p []byte) (int, error) {
	if !d.started {
		d.started = true
		h := d.w.Header()
		h.Set("Content-Type", d.ctype)
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.filename}))
		h.Set("Cache-Control", "no-store")
	}
	return d.w.Write(p)
}

type bulkConfirmPage struct {
	base
	IDs    []int64
	People []*crm.Contact // the first few, by name
	More   int            // how many more are selected
	Back   string
}

// handleContactBulk applies an action to the people ticked in the list:
// tag, untag, set the owner, delete (after a confirmation page), export
// as CSV or vCard, or merge.
func (s *server) handleContactBulk(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	r.ParseForm()
	back := localPath(r.PostFormValue("next"))
	if !strings.HasPrefix(back, "/contacts") {
		back = "/contacts"
	}
	backQuery := url.Values{}
	if u, err := url.Parse(back); err == nil {
		backQuery = u.Query()
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	action := r.PostFormValue("action")
	none := &crm.Error{Code: crm.EINVALID, Message: "Choose at least one person.", Fields: map[string]string{"ids": "Choose at least one person."}}
	switch action {
	case bulkExportCSV, bulkExportVCard:
		if !st.user.Can(crm.PermContactsExport) {
			s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.forbidden", Message: "Your role does not allow this page."})
			return
		}
		if len(ids) == 0 {
			s.contactIndex(w, r, backQuery, none)
			return
		}
		format := "csv"
		if action == bulkExportVCard {
			format = "vcf3"
		}
		s.exportContacts(w, r, crm.ContactFilter{IDs: ids, Sort: crm.SortName}, format)
		return
	case bulkMerge:
		if len(ids) < 2 {
			s.contactIndex(w, r, backQuery, &crm.Error{Code: crm.EINVALID, Key: "merge.error.two", Message: "Choose at least two people to merge."})
			return
		}
		http.Redirect(w, r, "/contacts/merge?ids="+joinIDs(ids), http.StatusSeeOther)
		return
	case crm.BulkDelete:
		if len(ids) == 0 {
			s.contactIndex(w, r, backQuery, none)
			return
		}
		if r.PostFormValue("confirm") != "yes" {
			people, _, err := s.contacts.ListContacts(ctx, crm.ContactFilter{IDs: ids, Sort: crm.SortName, Limit: 20})
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			d := &bulkConfirmPage{base: s.page(r, "contacts.bulk.confirm_title"), IDs: ids, People: people, Back: back}
			d.Path = back
			d.More = max(0, len(ids)-len(people))
			s.render(w, r, http.StatusOK, "contacts_bulk_confirm", d)
			return
		}
	}
	if action == bulkListAdd { // segments.go
		if err := s.bulkAddToList(r, ids); err != nil {
			if crm.ErrorCode(err) == crm.EINVALID {
				s.contactIndex(w, r, backQuery, err)
			} else {
				s.renderError(w, r, err)
			}
			return
		}
		redirect(w, r, back, "list_added")
		return
	}
	a := crm.BulkAction{Action: action, Tag: r.PostFormValue("tag")}
	if action == crm.BulkSetOwner {
		if id, err := strconv.ParseInt(r.PostFormValue("owner_id"), 10, 64); err == nil && id > 0 {
			a.OwnerID = &id
		}
	}
	if _, err := s.contacts.Bulk(ctx, ids, a); err != nil {
		switch crm.ErrorCode(err) {
		case crm.EINVALID:
			s.contactIndex(w, r, backQuery, bulkError(err))
		default:
			s.renderError(w, r, err)
		}
		return
	}
	redirect(w, r, back, "bulk_"+action)
}

// bulkError gives a failed bulk action the catalog key that explains it.
func bulkError(err error) error {
	fields := crm.ErrorFields(err)
	key := ""
	switch {
	case fields["ids"] != "":
		return err
	case fields["tag"] != "":
		key = "contacts.bulk.tag_required"
	case fields["owner_id"] != "":
		key = "contacts.error.owner"
	case fields["action"] != "":
		key = "contacts.bulk.choose_action"
	default:
		return err
	}
	return &crm.Error{Code: crm.EINVALID, Key: key, Message: crm.ErrorMessage(err)}
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// statusOf is problem.Status, for errors that may be nil.
func statusOf(err error, ok int) int {
	if err == nil {
		return ok
	}
	return problem.Status(err)
}
