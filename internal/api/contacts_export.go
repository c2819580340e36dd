package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
)

// Exports stream: the contact service reads people a page of 500 at a
// time and writes each page out before reading the next, so memory stays
// flat whatever the size of the selection, and it audits every export.
// The response starts with the first byte written, so a failure before
// that (an invalid filter, a missing permission) still answers with a
// problem document; a failure after it aborts the response, and the
// client sees a broken transfer, never a silently short file.

var (
	csvExportParams = append(slices.Clone(contactFilterParams),
		param{Name: "bom", Type: "boolean", Description: "Start with a UTF-8 byte order mark, which Excel needs to show Persian and Arabic text."})
	vcardVersionParam = param{Name: "version", Enum: []string{"4.0", "3.0"}, Description: "vCard version; 4.0 unless asked."}
	vcardExportParams = append(slices.Clone(contactFilterParams), vcardVersionParam)
	vcardParams       = []param{vcardVersionParam}
)

// vcardContentType is the media type of vCard responses (RFC 6350).
const vcardContentType = "text/vcard"

func (a *API) handleContactExportCSV(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	f := readContactFilter(r, &v)
	bom := queryBool(r, "bom", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	d := &download{w: w, contentType: "text/csv; charset=utf-8", filename: "contacts.csv"}
	_, err := a.contacts.ExportCSV(r.Context(), f, d, contact.ExportOptions{BOM: bom != nil && *bom})
	a.finish(w, r, d, err)
}

func (a *API) handleContactExportVCard(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	f := readContactFilter(r, &v)
	version := vcardVersion(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	d := &download{w: w, contentType: vcardContentType + "; charset=utf-8", filename: "contacts.vcf"}
	_, err := a.contacts.ExportVCard(r.Context(), f, d, version)
	a.finish(w, r, d, err)
}

func (a *API) handleContactVCard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	version := vcardVersion(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	d := &download{w: w, contentType: vcardContentType + "; charset=utf-8", filename: fmt.Sprintf("contact-%d.vcf", id)}
	n, err := a.contacts.ExportVCard(r.Context(), crm.ContactFilter{IDs: []int64{id}}, d, version)
	if err == nil && n == 0 {
		err = crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	a.finish(w, r, d, err)
}

// vcardVersion reads ?version=, 4.0 by default.
func vcardVersion(r *http.Request, v *crm.Validation) string {
	switch s := r.URL.Query().Get("version"); s {
	case "", "4", "4.0":
		return "4.0"
	case "3", "3.0":
		return "3.0"
	}
	v.Add("version", "Use 4.0 or 3.0.")
	return ""
}

// download is a file response that starts (status 200, the media type,
// Content-Disposition) with its first byte.
type download struct {
	w           http.ResponseWriter
	contentType string
	filename    string
	started     bool
}

func (d *download) Write(p []byte) (int, error) {
	d.start()
	return d.w.Write(p)
}

func (d *download) start() {
	if d.started {
		return
	}
	d.started = true
	d.w.Header().Set("Content-Type", d.contentType)
	d.w.Header().Set("Content-Disposition", `attachment; filename="`+d.filename+`"`)
	d.w.WriteHeader(http.StatusOK)
}

// finish ends a download: a problem document when it failed before its
// first byte, a cut connection when it failed later (logged), and an empty
// file when there was nothing to write.
func (a *API) finish(w http.ResponseWriter, r *http.Request, d *download, err error) {
	switch {
	case err == nil:
		d.start()
	case !d.started:
		a.writeError(w, r, err)
	default:
		a.log.ErrorContext(r.Context(), "api: export aborted", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}
