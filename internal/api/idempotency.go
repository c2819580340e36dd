package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
)

// replayedHeader marks a response that was stored by an earlier request
// with the same Idempotency-Key.
const replayedHeader = "Idempotent-Replayed"

// idempotent makes a write route honour the Idempotency-Key header: the
// first response (status, content type, body) is stored per user and key;
// the same request again within 24 hours gets that response back, marked
// Idempotent-Replayed: true, without running the handler. Server errors and
// panics release the key so that the client can retry. Requests without
// the header run as usual.
func (a *API) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header.Values(idempotency.Header)
		if len(keys) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if len(keys) > 1 {
			a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Send one Idempotency-Key header.",
				Fields: map[string]string{idempotency.Header: "The header appears more than once."}})
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				err = tooLargeError(tooLarge.Limit)
			}
			a.writeError(w, r, err)
			return
		}
		req := idempotency.Request{UserID: crm.UserIDFromContext(r.Context()), Key: keys[0],
			Method: r.Method, Path: r.URL.RequestURI(), Body: body}
		stored, err := a.idem.Begin(r.Context(), req)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if stored != nil {
			if stored.ContentType != "" {
				w.Header().Set("Content-Type", stored.ContentType)
			}
			w.Header().Set(replayedHeader, "true")
			w.WriteHeader(stored.Status)
			w.Write(stored.Body)
			return
		}

		// The key is ours until Complete or Release. Neither may be skipped
		// because the client went away, hence WithoutCancel.
		ctx := context.WithoutCancel(r.Context())
		rec := &recorder{ResponseWriter: w}
		finished := false
		defer func() {
			if !finished { // the handler panicked; the server recovers it
				a.releaseKey(ctx, req)
			}
		}()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(rec, r)
		finished = true

		if rec.status >= http.StatusInternalServerError {
			a.releaseKey(ctx, req)
			return
		}
		resp := idempotency.Response{Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes()}
		if resp.Status == 0 { // the handler wrote nothing at all
			resp.Status = http.StatusOK
		}
		if err := a.idem.Complete(ctx, req, resp); err != nil {
			a.log.ErrorContext(ctx, "api: store idempotent response", "path", req.Path, "err", err)
		}
	})
}

func (a *API) releaseKey(ctx context.Context, req idempotency.Request) {
	if err := a.idem.Release(ctx, req); err != nil {
		a.log.ErrorContext(ctx, "api: release idempotency key", "path", req.Path, "err", err)
	}
}

// recorder passes a response through and keeps a copy for storage.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
