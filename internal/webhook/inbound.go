package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// InboundPath is where inbound hooks are posted to, followed by the token.
const InboundPath = "/api/v1/hooks/in/"

// Inbound tokens are "pvh_" + a 10-character public prefix (to find the
// hook) + "_" + 32 secret characters; only the SHA-256 of the whole token
// is stored and it is compared in constant time.
const tokenAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

func newToken() (token, prefix, hash string) {
	prefix = randomText(10)
	token = "pvh_" + prefix + "_" + randomText(32)
	return token, prefix, hashToken(token)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// splitToken returns a token's prefix, or "" when it is not shaped like one.
func splitToken(t string) string {
	rest, ok := strings.CutPrefix(t, "pvh_")
	if !ok || len(rest) != 10+1+32 || rest[10] != '_' {
		return ""
	}
	return rest[:10]
}

// InboundHooks lists the inbound hooks.
func (s *Service) InboundHooks(ctx context.Context) ([]*crm.InboundHook, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, err
	}
	var out []*crm.InboundHook
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.InboundHooks(ctx)
		return err
	})
	return out, err
}

// InboundHook returns one inbound hook.
func (s *Service) InboundHook(ctx context.Context, id int64) (*crm.InboundHook, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, err
	}
	var out *crm.InboundHook
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.InboundHook(ctx, id)
		return err
	})
	return out, err
}

func checkInbound(in crm.InboundHookInput) (string, error) {
	var v crm.Validation
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		v.Add("name", "Give the hook a name (who sends to it).")
	case utf8.RuneCountInString(name) > 200:
		v.Add("name", "At most 200 characters.")
	}
	return name, v.Err()
}

// CreateInbound makes an inbound hook and returns it with its token, which
// is shown only now (the address is InboundPath + token).
func (s *Service) CreateInbound(ctx context.Context, in crm.InboundHookInput) (*crm.InboundHook, string, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, "", err
	}
	name, err := checkInbound(in)
	if err != nil {
		return nil, "", err
	}
	token, prefix, hash := newToken()
	h := &crm.InboundHook{Name: name, Active: in.Active == nil || *in.Active, TokenPrefix: prefix}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertInboundHook(ctx, h, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.inbound_create", "inbound_hook", h.ID, nil, h)
	})
	if err != nil {
		return nil, "", err
	}
	return h, token, nil
}

// UpdateInbound renames an inbound hook or switches it on or off.
func (s *Service) UpdateInbound(ctx context.Context, id int64, in crm.InboundHookInput) (*crm.InboundHook, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, err
	}
	name, err := checkInbound(in)
	if err != nil {
		return nil, err
	}
	var h *crm.InboundHook
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.InboundHook(ctx, id)
		if err != nil {
			return err
		}
		cp := *old
		h = &cp
		h.Name = name
		if in.Active != nil {
			h.Active = *in.Active
		}
		if err := tx.UpdateInboundHook(ctx, h); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.inbound_update", "inbound_hook", id, old, h)
	})
	return h, err
}

// RotateInbound gives a hook a new token (the old address stops working)
// and returns it, shown only now.
func (s *Service) RotateInbound(ctx context.Context, id int64) (*crm.InboundHook, string, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, "", err
	}
	token, prefix, hash := newToken()
	var h *crm.InboundHook
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetInboundToken(ctx, id, prefix, hash); err != nil {
			return err
		}
		var err error
		if h, err = tx.InboundHook(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.inbound_rotate", "inbound_hook", id, nil, nil)
	})
	if err != nil {
		return nil, "", err
	}
	return h, token, nil
}

// DeleteInbound removes a hook and the documents it kept; its events stay.
// A hook that starts a workflow is not deleted (InUseError, ECONFLICT).
func (s *Service) DeleteInbound(ctx context.Context, id int64) error {
	if err := authorize(ctx, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.InboundHook(ctx, id)
		if err != nil {
			return err
		}
		if err := s.checkUnused(ctx, tx, KindInbound, id, old.Name); err != nil {
			return err
		}
		if err := tx.DeleteInboundHook(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.inbound_delete", "inbound_hook", id, old, nil)
	})
}

// Receipts lists what a hook received, newest first.
func (s *Service) Receipts(ctx context.Context, hookID int64, page crm.Page) ([]*crm.InboundReceipt, string, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.InboundReceipt
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.InboundHook(ctx, hookID); err != nil {
			return err
		}
		var err error
		out, next, err = tx.InboundReceipts(ctx, hookID, page)
		return err
	})
	return out, next, err
}

// errNoHook is the one answer to a wrong, unknown or switched-off token:
// the caller learns nothing about which.
var errNoHook = crm.Errorf(crm.ENOTFOUND, "There is no inbound hook at this address.")

// Receive takes a document posted to an inbound hook: the token must match
// an active hook, the content type must be JSON, the body at most
// InboundLimit bytes of valid JSON. It keeps the document and writes a
// webhook.received event (subject: the hook) in one transaction. No user
// is needed: the token is the credential.
func (s *Service) Receive(ctx context.Context, token, contentType string, body io.Reader, remoteIP string) (*crm.InboundReceipt, error) {
	prefix := splitToken(token)
	if prefix == "" {
		return nil, errNoHook
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		var v crm.Validation
		v.Add("content_type", "Send JSON, with Content-Type: application/json.")
		return nil, v.Err()
	}
	b, err := io.ReadAll(io.LimitReader(body, int64(s.opts.InboundLimit)+1))
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return nil, crm.Errorf(crm.ETOOLARGE, "The document is larger than %d bytes.", s.opts.InboundLimit)
		}
		return nil, err
	}
	if len(b) > s.opts.InboundLimit {
		return nil, crm.Errorf(crm.ETOOLARGE, "The document is larger than %d bytes.", s.opts.InboundLimit)
	}
	if err := checkJSON(b); err != nil {
		var v crm.Validation
		v.Add("body", "%s", err.Error())
		return nil, v.Err()
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, err
	}
	var r *crm.InboundReceipt
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		h, hash, err := tx.InboundHookByPrefix(ctx, prefix)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			hash = hashToken("pvh_") // compare anyway: the time taken says nothing
		} else if err != nil {
			return err
		}
		want, _ := hex.DecodeString(hash)
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(want, got[:]) != 1 || h == nil || !h.Active {
			return errNoHook
		}
		r = &crm.InboundReceipt{HookID: h.ID, RemoteIP: remoteIP, Size: len(b), Body: crm.RawJSON(compact.String())}
		if err := tx.InsertInboundReceipt(ctx, r); err != nil {
			return err
		}
		payload, err := json.Marshal(map[string]any{"hook_id": h.ID, "hook_name": h.Name, "receipt_id": r.ID, "body": json.RawMessage(compact.Bytes())})
		if err != nil {
			return err
		}
		ev := &crm.Event{Type: crm.EventWebhookReceived, SubjectType: "inbound_hook", SubjectID: h.ID, Payload: payload}
		if err := tx.Emit(ctx, ev); err != nil {
			return err
		}
		r.EventID = ev.ID
		return tx.SetInboundReceiptEvent(ctx, r.ID, ev.ID)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// checkJSON says where a document stops being JSON, or that it is not an
// object or an array.
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("Not valid JSON at byte %d: %s.", se.Offset, se.Error())
		}
		if errors.Is(err, io.EOF) {
			return errors.New("The body is empty; send a JSON object.")
		}
		return fmt.Errorf("Not valid JSON: %s.", err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("Not valid JSON: more follows the document at byte %d.", dec.InputOffset())
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil
	}
	return errors.New("Send a JSON object or array, not a single value.")
}
