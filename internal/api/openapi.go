package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/problem"
)

// op is the OpenAPI metadata of a route. Request and response schemas are
// derived from the Go types the handler decodes and encodes (In, Out), so
// the document cannot drift from the JSON actually sent.
type op struct {
	ID          string         // operationId, unique: listUsers, createTeam …
	Summary     string         // one line
	Description string         // more, when the summary is not enough
	Tag         string         // groups operations: users, teams …
	Public      bool           // no token needed
	Perm        crm.Permission // checked at the route too, besides the service
	Paged       bool           // takes limit and after (see pagination.go)
	Query       []param        // other query parameters
	In          any            // request body: a value of the type decoded, or nil
	Out         any            // response body: a value of the type encoded (anyOf for alternatives), or nil (204)
	MediaType   string         // the response's media type when it is not JSON (text/csv …); Out is then a string
	Upload      *upload        // the request body is a file (multipart/form-data or the raw file) instead of JSON In
	Location    bool           // the success response has a Location header: the address of what it made
	Conflict    any            // the 409 body when it is a Problem with extension members, or nil
	Status      int            // success status; 0 means 200
}

// upload documents a request whose body is a file: multipart/form-data
// with the file in part File and the members of Form (a struct, as JSON
// tags name them) as text parts, or the file alone as the body, of media
// type Raw. The route's body limit is the upload size (Options).
type upload struct {
	File        string
	FileType    string // the file's media type: text/csv
	Description string // of the file part
	Form        any
	Raw         string
}

// anyOf documents a response that is one of several types.
type anyOf []any

// param is a query parameter.
type param struct {
	Name        string
	Type        string // "string" (default), "integer" (1 or more; 0 too with Zero) or "boolean"
	Zero        bool   // an integer that may be 0
	Enum        []string
	Description string
}

// apiBase is where the API lives; document paths are relative to it.
const apiBase = "/api/v1"

// tagDescriptions describe the operation groups.
var tagDescriptions = map[string]string{
	"meta":   "The API itself.",
	"me":     "The user and token making the request.",
	"tokens": "API tokens of the signed-in user.",
	"users":  "People who sign in to Pivand.",
	"teams":  "Groups of users for assignment and reporting.",
	"audit":  "Who changed what, and when.",

	"contacts":      "People: customers, leads, suppliers' buyers. Duplicates, merge, bulk actions, CSV and vCard export.",
	"consent":       "Per-channel permission to contact a person.",
	"privacy":       "A person's data: export everything, or erase it.",
	"companies":     "Organisations people work at.",
	"custom-fields": "Admin-defined fields on people, companies and deals; values live in each record's custom object.",
	"timeline":      "Everything that happened with a person or company, from every module, and interactions on any channel.",
	"notes":         "Notes on a timeline; @mentions notify users.",
	"tasks":         "Activities: to-dos, calls and meetings (kind), usually about a customer or a deal, with due and reminder times.",
	"notifications": "What needs your attention: mentions, assigned tasks, reminders.",
	"search":        "One box that finds people and companies.",
	"imports":       "CSV imports of people: upload, follow the progress, read the problems by line, cancel.",
}

// schemaNames renames Go types whose name reads badly in the document.
var schemaNames = map[string]string{
	"APIToken": "Token",
	"Details":  "Problem",
}

// schemaDescriptions describe components by their document name.
var schemaDescriptions = map[string]string{
	"Problem":      "An RFC 9457 problem document. code is stable and machine-readable; errors names each invalid field.",
	"User":         "A person who signs in to Pivand.",
	"Token":        "An API token. The secret is shown only when the token is created.",
	"TokenCreated": "A new API token and its secret. Store the secret now: it is never shown again.",
	"Team":         "A group of users.",
	"AuditEntry":   "One change in the audit log. before and after are JSON snapshots.",
	"Me":           "The user and token behind the request.",
	"UserCreate":   "A new user. email, role and password (10 characters or more) are required.",
	"UserUpdate":   "Fields to change; absent fields stay as they are.",

	"Contact":           "A person. phones are E.164; custom holds the custom field values by key; consents is filled when one person is read.",
	"ContactCreate":     "A new person: at least a name, an email or a phone. allow_duplicate saves even when someone stored looks the same.",
	"ContactPatch":      "Members to change; absent ones stay. owner_id null clears the owner; custom merges per key, null removing a value.",
	"DuplicateCheck":    "A person to compare with those stored; id (optional) is left out of the matches.",
	"DuplicatesProblem": "A conflict problem listing the stored people the new one looks like, strongest evidence first.",
	"DuplicateMatch":    "A stored person who looks like the one being saved, and why (email, phone, name).",
	"MergeRequest":      "People to merge (2 to 10, survivor_id among them; the first when absent), the winner per conflicting field, and dry_run to preview.",
	"MergePlan":         "What a merge would produce: the survivor as it will be, the conflicting fields and the choice for each, and what moves.",
	"BulkRequest":       "One action on up to 10000 people.",
	"Changed":           "How many records changed.",
	"Company":           "An organisation.",
	"CompanyFields":     "A new company; name is required.",
	"CompanyPatch":      "Members to change; absent ones stay. owner_id null clears the owner; custom merges per key, null removing a value.",
	"CustomField":       "A custom field definition. Values are kept under key in each record's custom object.",
	"Consent":           "A person's current permission for one channel.",
	"ConsentCheck":      "allowed is true only with consent granted, an address for the channel and no suppression; reason says why not.",
	"TimelineItem":      "One timeline entry: an event of any module. type says how to read payload.",
	"TaskPatch":         "Members to change; absent ones stay. due_at or remind_at null clears that time.",
	"SearchHit":         "A person (kind contact) or a company (kind company) that matches.",
	"Import":            "An import of people from a CSV file: its state, how far it is (byte_offset of file_size, line) and its counts. problems is how many problems are kept (at most 1000).",
	"ImportOptions":     "How the file is read: duplicates (skip, update, create), region of local phone numbers, calendar of dates, dry_run.",
	"Mapping":           "What each column of the file holds: preset is the recognised export format, columns one entry per column in order.",
	"Column":            "One column: its header, the field it goes to (ignore, first_name, email, phone, custom:<key> …), a fixed label (work, mobile …) and the group tying the columns of one email, phone or address.",
	"ImportProblem":     "A problem with one row, by physical line (the header is line 1): kind error (the row was not imported) or duplicate (with contact_id, the person it matches).",
}

// enums lists the values of string types that have a fixed set.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[crm.Role](): func() []string {
		out := make([]string, len(crm.Roles))
		for i, r := range crm.Roles {
			out[i] = string(r)
		}
		return out
	}(),
}

type obj = map[string]any

var wildcard = regexp.MustCompile(`\{([^}.]+)\}`)

// buildOpenAPI assembles the OpenAPI 3.1 document from the route table and
// the shared components. It fails on a route without complete metadata.
func buildOpenAPI(routes []route, version string) ([]byte, error) {
	g := &schemaGen{defs: obj{}, types: map[string]schemaType{}}
	paths := map[string]obj{}
	ids := map[string]bool{}
	var tags []any
	seenTag := map[string]bool{}
	for _, rt := range routes {
		if err := checkRoute(rt, ids); err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(rt.path(), apiBase)
		if paths[rel] == nil {
			paths[rel] = obj{}
		}
		paths[rel][strings.ToLower(rt.method())] = g.operation(rt)
		if !seenTag[rt.op.Tag] {
			seenTag[rt.op.Tag] = true
			t := obj{"name": rt.op.Tag}
			if d := tagDescriptions[rt.op.Tag]; d != "" {
				t["description"] = d
			}
			tags = append(tags, t)
		}
	}
	g.schema(reflect.TypeFor[problem.Details](), false)
	if g.err != nil {
		return nil, g.err
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Pivand API",
			"version":     version,
			"description": "The REST API of Pivand, an open-source CRM. JSON in and out; errors are RFC 9457 problem documents; lists are cursor-paged; writes accept an Idempotency-Key.",
		},
		"servers":    []any{obj{"url": apiBase}},
		"security":   []any{obj{"bearer": []any{}}},
		"tags":       tags,
		"paths":      paths,
		"components": components(g.defs),
	}
	return json.MarshalIndent(doc, "", "  ")
}

// checkRoute refuses a route whose metadata is incomplete or inconsistent.
func checkRoute(rt route, ids map[string]bool) error {
	o := rt.op
	fail := func(format string, args ...any) error {
		return fmt.Errorf("api: route %q: %s", rt.pattern, fmt.Sprintf(format, args...))
	}
	switch {
	case rt.method() == "" || !strings.HasPrefix(rt.path(), apiBase+"/"):
		return fail("pattern must be METHOD %s/…", apiBase)
	case rt.handler == nil:
		return fail("no handler")
	case o.ID == "" || o.Summary == "" || o.Tag == "":
		return fail("operation needs ID, Summary and Tag")
	case ids[o.ID]:
		return fail("operation ID %q is used twice", o.ID)
	case (o.In != nil || o.Upload != nil) && !rt.write():
		return fail("GET takes no request body")
	case o.In != nil && o.Upload != nil:
		return fail("a request body is JSON (In) or a file (Upload), not both")
	case (o.Out == nil) != (o.Status == http.StatusNoContent):
		return fail("Out must be nil exactly when Status is 204")
	}
	ids[o.ID] = true
	return nil
}

// operation documents one route.
func (g *schemaGen) operation(rt route) obj {
	o := rt.op
	status := o.Status
	if status == 0 {
		status = http.StatusOK
	}
	out := obj{"operationId": o.ID, "summary": o.Summary, "tags": []any{o.Tag}}
	var params []any
	for _, m := range wildcard.FindAllStringSubmatch(rt.path(), -1) {
		s := obj{"type": "string"}
		if m[1] == "id" || strings.HasSuffix(m[1], "_id") {
			s = obj{"type": "integer", "format": "int64", "minimum": 1}
		}
		params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": s})
	}
	if o.Paged {
		params = append(params, obj{"$ref": "#/components/parameters/limit"}, obj{"$ref": "#/components/parameters/after"})
	}
	for _, p := range o.Query {
		s := obj{"type": "string"}
		switch p.Type {
		case "integer":
			s = obj{"type": "integer", "format": "int64", "minimum": 1}
			if p.Zero {
				s["minimum"] = 0
			}
		case "boolean":
			s = obj{"type": "boolean"}
		}
		if len(p.Enum) > 0 {
			s["enum"] = p.Enum
		}
		params = append(params, obj{"name": p.Name, "in": "query", "description": p.Description, "schema": s})
	}
	idempotent := rt.write() && !o.Public
	if idempotent {
		params = append(params, obj{"$ref": "#/components/parameters/IdempotencyKey"})
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if o.In != nil {
		out["requestBody"] = obj{"required": true, "content": obj{jsonContentType: obj{"schema": g.schema(reflect.TypeOf(o.In), true)}}}
	}
	if o.Upload != nil {
		out["requestBody"] = g.uploadBody(o.Upload, o.Query)
	}

	success := obj{"description": http.StatusText(status)}
	switch alts, _ := o.Out.(anyOf); {
	case o.Out == nil:
	case o.MediaType != "":
		success["content"] = obj{o.MediaType: obj{"schema": obj{"type": "string"}}}
	case alts != nil:
		var schemas []any
		for _, alt := range alts {
			schemas = append(schemas, g.schema(reflect.TypeOf(alt), false))
		}
		success["content"] = obj{jsonContentType: obj{"schema": obj{"anyOf": schemas}}}
	default:
		success["content"] = obj{jsonContentType: obj{"schema": g.schema(reflect.TypeOf(o.Out), false)}}
	}
	if idempotent || o.Location {
		headers := obj{}
		if idempotent {
			headers[replayedHeader] = obj{"$ref": "#/components/headers/IdempotentReplayed"}
		}
		if o.Location {
			headers["Location"] = obj{"description": "The address of what the request made.", "schema": obj{"type": "string"}}
		}
		success["headers"] = headers
	}
	responses := obj{strconv.Itoa(status): success, "default": obj{"$ref": "#/components/responses/Problem"}}
	problems := func(codes ...int) {
		for _, c := range codes {
			responses[strconv.Itoa(c)] = obj{"$ref": "#/components/responses/" + problemResponses[c].name}
		}
	}
	if o.Public {
		out["security"] = []any{}
		out["description"] = "No token needed."
	} else {
		scope := crm.ScopeRead
		if rt.write() {
			scope = crm.ScopeWrite
		}
		d := fmt.Sprintf("Needs a token with the %s scope", scope)
		if o.Perm != "" {
			d += fmt.Sprintf(" whose user's role grants %s", o.Perm)
			out["x-permission"] = string(o.Perm)
		}
		out["description"] = d + "."
		if o.Description != "" {
			out["description"] = o.Description + " " + d + "."
		}
		out["x-scope"] = scope
		problems(http.StatusUnauthorized, http.StatusForbidden)
	}
	if strings.Contains(rt.path(), "{") {
		problems(http.StatusNotFound)
	}
	if o.In != nil || o.Upload != nil {
		problems(http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if o.Paged || len(o.Query) > 0 {
		problems(http.StatusUnprocessableEntity)
	}
	if idempotent {
		problems(http.StatusConflict, http.StatusUnprocessableEntity)
	}
	if o.Conflict != nil {
		responses[strconv.Itoa(http.StatusConflict)] = obj{"description": problemResponses[http.StatusConflict].description,
			"content": obj{problem.ContentType: obj{"schema": g.schema(reflect.TypeOf(o.Conflict), false)}}}
	}
	out["responses"] = responses
	return out
}

// uploadBody documents the request body of a file upload. A form field
// that is also a query parameter takes the parameter's description and
// values.
func (g *schemaGen) uploadBody(u *upload, query []param) obj {
	props := obj{u.File: obj{"type": "string", "format": "binary", "contentMediaType": u.FileType, "description": u.Description}}
	var required []string
	if u.Form != nil {
		g.fields(reflect.TypeOf(u.Form), true, props, &required)
	}
	for _, p := range query {
		if s, ok := props[p.Name].(obj); ok {
			s["description"] = p.Description
			if len(p.Enum) > 0 {
				s["enum"] = p.Enum
			}
		}
	}
	content := obj{"multipart/form-data": obj{
		"schema":   obj{"type": "object", "properties": props, "required": []string{u.File}, "additionalProperties": false},
		"encoding": obj{u.File: obj{"contentType": u.FileType + ", application/octet-stream"}},
	}}
	if u.Raw != "" {
		content[u.Raw] = obj{"schema": obj{"type": "string", "description": u.Description}}
	}
	return obj{"required": true, "content": content}
}

// problemResponses are the shared error responses, by status.
var problemResponses = map[int]struct{ name, description string }{
	http.StatusUnauthorized:          {"Unauthorized", "The token is missing, unknown or revoked, or its user is deactivated."},
	http.StatusForbidden:             {"Forbidden", "The token lacks the scope, or its user's role lacks the permission."},
	http.StatusNotFound:              {"NotFound", "Nothing exists at this address."},
	http.StatusConflict:              {"Conflict", "The change conflicts with existing data, or a request with the same Idempotency-Key is still in progress."},
	http.StatusRequestEntityTooLarge: {"TooLarge", "The request body is over the size limit."},
	http.StatusUnsupportedMediaType:  {"UnsupportedMediaType", "The request body is not application/json."},
	http.StatusUnprocessableEntity:   {"Invalid", "The input is invalid; errors names each field (body, a JSON field, a query parameter or Idempotency-Key)."},
}

// components returns the shared components of the document.
func components(schemas obj) obj {
	problemContent := obj{"application/problem+json": obj{"schema": obj{"$ref": "#/components/schemas/Problem"}}}
	responses := obj{"Problem": obj{"description": "An error, as a problem document.", "content": problemContent}}
	for status, r := range problemResponses {
		resp := obj{"description": r.description, "content": problemContent}
		if status == http.StatusUnauthorized {
			resp["headers"] = obj{"WWW-Authenticate": obj{"description": `Bearer realm="pivand"`, "schema": obj{"type": "string"}}}
		}
		responses[r.name] = resp
	}
	return obj{
		"schemas":   schemas,
		"responses": responses,
		"parameters": obj{
			"limit": obj{"name": "limit", "in": "query", "description": "Items per page.",
				"schema": obj{"type": "integer", "minimum": 1, "maximum": crm.MaxLimit, "default": crm.DefaultLimit}},
			"after": obj{"name": "after", "in": "query", "description": "The next cursor of the previous page; absent for the first page.",
				"schema": obj{"type": "string"}},
			"IdempotencyKey": obj{"name": idempotency.Header, "in": "header",
				"description": "A unique key (such as a UUID) that makes a retry of this request return the first response instead of repeating the change. Kept for 24 hours.",
				"schema":      obj{"type": "string", "minLength": 1, "maxLength": idempotency.MaxKeyLength}},
		},
		"headers": obj{
			"IdempotentReplayed": obj{"description": "Present when the response is a replay stored under the request's Idempotency-Key.",
				"schema": obj{"type": "string", "enum": []any{"true"}}},
		},
		"securitySchemes": obj{
			"bearer": obj{"type": "http", "scheme": "bearer", "bearerFormat": "pvd_…",
				"description": "An API token made in Settings or with POST /tokens: Authorization: Bearer pvd_… Tokens carry the read scope (GET), the write scope (everything else), or both."},
		},
	}
}

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Write(a.openapi)
}

// schemaGen derives JSON Schemas from Go types, the way encoding/json
// encodes them. Named structs become components referenced by $ref.
// Request schemas refuse unknown fields (as decodeJSON does) and require
// nothing (the services say what is missing); response schemas require
// every field that is not omitempty.
type schemaGen struct {
	defs  obj
	types map[string]schemaType
	err   error
}

type schemaType struct {
	t       reflect.Type
	request bool
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[crm.RawJSON]()
)

func (g *schemaGen) schema(t reflect.Type, request bool) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return obj{"type": "string", "format": "date-time"}
	}
	if t == rawJSONType {
		return obj{"description": "any JSON value"}
	}
	if e, ok := enums[t]; ok {
		return obj{"type": "string", "enum": e}
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.component(t, request)
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return obj{"type": "integer", "format": "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return obj{"type": "integer", "format": "int32"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": g.schema(t.Elem(), request)}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem(), request)}
	case reflect.Interface:
		// Any JSON value, null included. Spelled out because {} does not
		// admit null to validators that read the schema as OpenAPI 3.0.
		return obj{"type": []any{"string", "number", "boolean", "array", "object", "null"}}
	}
	g.fail("type %s cannot be documented", t)
	return obj{}
}

func (g *schemaGen) component(t reflect.Type, request bool) obj {
	if t.Name() == "" {
		g.fail("anonymous struct %s cannot be documented; name the type", t)
		return obj{}
	}
	name := schemaName(t)
	ref := obj{"$ref": "#/components/schemas/" + name}
	if prev, ok := g.types[name]; ok {
		if prev.t != t {
			g.fail("schema name %s is used by %s and %s", name, prev.t, t)
		} else if prev.request != request {
			g.fail("type %s is used both as a request and a response; give each its own type", t)
		}
		return ref
	}
	g.types[name] = schemaType{t, request}
	props := obj{}
	var required []string
	g.fields(t, request, props, &required)
	s := obj{"type": "object", "properties": props}
	if request {
		s["additionalProperties"] = false
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if d := schemaDescriptions[name]; d != "" {
		s["description"] = d
	}
	g.defs[name] = s
	return ref
}

// fields adds the JSON properties of struct t, flattening embedded structs.
func (g *schemaGen) fields(t reflect.Type, request bool, props obj, required *[]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, request, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		s := g.schema(f.Type, request)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			// encoding/json writes nil as null unless omitted.
			if !optional && !strings.Contains(f.Tag.Get("openapi"), "nonnull") {
				s = nullable(s)
			}
		}
		props[name] = s
		if !request && !optional {
			*required = append(*required, name)
		}
	}
}

// nullable lets a schema also accept null (JSON Schema 2020-12 style).
func nullable(s obj) obj {
	if typ, ok := s["type"].(string); ok && s["enum"] == nil {
		c := obj{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []any{typ, "null"}
		return c
	}
	return obj{"anyOf": []any{s, obj{"type": "null"}}}
}

// schemaName is a struct type's name in the document: the Go name with an
// upper-case first letter, list[T] as TList, and a few renames.
func schemaName(t reflect.Type) string {
	name := t.Name()
	if strings.HasPrefix(name, "list[") {
		f, _ := t.FieldByName("Data")
		e := f.Type.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		return schemaName(e) + "List"
	}
	if n, ok := schemaNames[name]; ok {
		return n
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func (g *schemaGen) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("api: openapi: "+format, args...)
	}
}
