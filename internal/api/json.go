package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

// jsonContentType is the media type of every JSON response but problems.
const jsonContentType = "application/json"

// decodeJSON reads the request body, which must be one JSON value of
// Content-Type application/json, into v. Unknown fields are refused. The
// errors name what is wrong: the byte position of a syntax error, the
// field of a type mismatch or an unknown field (EINVALID, 422), a body over
// the limit (ETOOLARGE, 413), a wrong media type (415).
func decodeJSON(r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	var seen bytes.Buffer // what was read, to name the field of a bad time
	body := &countingReader{r: io.TeeReader(r.Body, &seen)}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return timeError(seen.Bytes(), pe)
		}
		return jsonError(err, body.n)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return bodyError(fmt.Sprintf("body: unexpected data after the JSON value, which ends at byte %d", end),
				"Send exactly one JSON object.")
		}
		return jsonError(err, body.n)
	}
	return nil
}

// requireJSON refuses a body that is not declared as JSON (UTF-8).
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == jsonContentType || strings.HasSuffix(mt, "+json")) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	if ct == "" {
		ct = "none"
	}
	return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		msg: fmt.Sprintf("Send the body as application/json (Content-Type was %s).", ct)}
}

// jsonError turns a decoding error into a crm error naming the position
// or the field. read is how many body bytes were consumed.
func jsonError(err error, read int64) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return tooLargeError(tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return bodyError("body: a JSON object is required", "The request body is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bodyError(fmt.Sprintf("body: invalid JSON at byte %d", read+1), "The JSON ends too early.")
	case errors.As(err, &syntax):
		return bodyError(fmt.Sprintf("body: invalid JSON at byte %d", syntax.Offset), syntaxDetail(syntax))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return bodyError(fmt.Sprintf("body: expected a JSON object, got %s", typ.Value), "Send a JSON object.")
		}
		return &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("body: field %q has the wrong type", typ.Field),
			Fields: map[string]string{typ.Field: fmt.Sprintf("Expected %s, got %s.", jsonTypeName(typ.Type), typ.Value)}}
	}
	// encoding/json reports unknown fields as a plain error.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("body: unknown field %q", f),
			Fields: map[string]string{f: "Unknown field."}}
	}
	return bodyError("body: invalid JSON", err.Error())
}

// timeError names the field holding a time encoding/json could not read
// (it reports the value, not where it was): the first string in the body
// equal to the bad value, by its path ("items[2].due_at").
func timeError(body []byte, pe *time.ParseError) error {
	detail := "Expected a date and time in RFC 3339 form, such as 2026-12-05T14:30:00+03:30."
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		if path := findString(doc, pe.Value, ""); path != "" {
			return &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("body: field %q is not a date and time", path),
				Fields: map[string]string{path: detail}}
		}
	}
	return bodyError("body: invalid JSON", detail+" "+pe.Error())
}

func findString(v any, want, path string) string {
	switch v := v.(type) {
	case string:
		if v == want && path != "" {
			return path
		}
	case []any:
		for i, e := range v {
			if p := findString(e, want, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if p := findString(v[k], want, p); p != "" {
				return p
			}
		}
	}
	return ""
}

func bodyError(msg, detail string) error {
	return &crm.Error{Code: crm.EINVALID, Message: msg, Fields: map[string]string{"body": detail}}
}

func tooLargeError(limit int64) error {
	return crm.Errorf(crm.ETOOLARGE, "The request body is larger than %d bytes.", limit)
}

func syntaxDetail(e *json.SyntaxError) string {
	msg := e.Error()
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// limitBody caps every request body at the configured size (a file
// upload route at the upload size): a declared Content-Length over the
// limit is refused at once, a longer chunked body fails when read, and
// both answer 413.
func (a *API) limitBody(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := a.maxBody
		if r.Method != http.MethodGet {
			if _, pattern := mux.Handler(r); a.uploads[pattern] {
				limit = a.maxUpload + 1<<20 // the file and the form around it
			}
		}
		if r.ContentLength > limit {
			a.writeError(w, r, tooLargeError(limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		mux.ServeHTTP(w, r)
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// writeJSON encodes v as the response with the given status.
func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.writeError(w, r, fmt.Errorf("api: encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// httpError is a failure of the HTTP exchange itself that no crm code
// describes (wrong method, wrong media type). It renders as a problem
// document with its own status.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.code + ": " + e.msg }

// writeProblemWith answers err's problem document with members of its
// own (body embeds the problem.Details and adds them, e.g. the deal a
// conflict is about), or plainly when body does not encode.
func (a *API) writeProblemWith(w http.ResponseWriter, r *http.Request, err error, status int, body any) {
	b, merr := json.Marshal(body)
	if merr != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with the RFC 9457 problem document for err. Internal
// errors are logged here, once, and shown to the client without detail.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var d problem.Details
	var he *httpError
	if errors.As(err, &he) {
		d = problem.Details{Type: "about:blank", Title: http.StatusText(he.status), Status: he.status,
			Detail: he.msg, Instance: r.URL.Path, Code: he.code}
	} else {
		d = problem.From(err, r.URL.Path)
	}
	if d.Status >= http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if d.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pivand"`)
	}
	b, merr := json.Marshal(d)
	if merr != nil { // a Details always marshals; keep the client informed regardless
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(d.Status)
	w.Write(append(b, '\n'))
}
