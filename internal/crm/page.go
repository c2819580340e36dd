package crm

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Page limits for list endpoints.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for up to Limit items after the opaque cursor After.
type Page struct {
	Limit int
	After string
}

// ClampLimit returns a limit within 1..MaxLimit, DefaultLimit for 0.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// EncodeIDCursor encodes a keyset cursor on a descending or ascending ID.
func EncodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// DecodeIDCursor decodes EncodeIDCursor's output; "" decodes to 0.
func DecodeIDCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		var id int64
		id, err = strconv.ParseInt(string(b), 10, 64)
		if err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, &Error{Code: EINVALID, Message: "The cursor is not valid.", Fields: map[string]string{"after": "Not a cursor returned by this list."}}
}

// EncodeCursor encodes a keyset cursor on a sort key and an ID, for lists
// sorted by something other than the ID (a name, a time).
func EncodeCursor(key string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10) + ":" + key))
}

// DecodeCursor decodes EncodeCursor's output; "" decodes to ("", 0).
func DecodeCursor(s string) (string, int64, error) {
	if s == "" {
		return "", 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		idPart, key, ok := strings.Cut(string(b), ":")
		if ok {
			if id, err := strconv.ParseInt(idPart, 10, 64); err == nil && id > 0 {
				return key, id, nil
			}
		}
	}
	return "", 0, &Error{Code: EINVALID, Message: "The cursor is not valid.", Fields: map[string]string{"after": "Not a cursor returned by this list."}}
}
