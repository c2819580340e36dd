// Package server runs Pivand's HTTP server: the root routes (the web UI,
// the REST API, health checks), the middleware every request passes
// (request ID, access log, panic recovery, security headers) and graceful
// shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

// Options are the parts the root handler mounts.
type Options struct {
	Web    http.Handler                    // everything that is not /api/ or a health check
	API    http.Handler                    // /api/
	Ready  func(ctx context.Context) error // nil when the database answers
	Logger *slog.Logger
}

// Handler returns the root handler with every middleware applied.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeHealth(w, http.StatusOK, "ok", "")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := o.Ready(ctx); err != nil {
			o.Logger.Warn("not ready", "err", err)
			writeHealth(w, http.StatusServiceUnavailable, "unavailable", "database unreachable")
			return
		}
		writeHealth(w, http.StatusOK, "ok", "")
	})
	mux.Handle("/api/", o.API)
	mux.Handle("/", o.Web)
	return requestID(accessLog(o.Logger, recoverPanics(o.Logger, securityHeaders(mux))))
}

func writeHealth(w http.ResponseWriter, status int, state, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]string{"status": state}
	if detail != "" {
		body["detail"] = detail
	}
	json.NewEncoder(w).Encode(body)
}

// Server is an http.Server with Pivand's timeouts and shutdown.
type Server struct {
	srv    *http.Server
	logger *slog.Logger
}

// New returns a server for h on addr.
func New(addr string, h http.Handler, logger *slog.Logger) *Server {
	return &Server{logger: logger, srv: &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // CSV uploads
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
}

// Listen opens the listening socket, so callers learn of a taken port
// before anything else starts.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return nil, crm.Errorf(crm.EUNAVAILABLE, "cannot listen on %s: %v", s.srv.Addr, errors.Unwrap(err))
	}
	return ln, nil
}

// Serve serves on ln until ctx is done, then shuts down gracefully,
// letting requests in flight finish for up to 15 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeInternal answers a request that failed inside the server itself.
func writeInternal(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", problem.ContentType)
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(problem.From(errors.New("panic"), r.URL.Path))
		return
	}
	http.Error(w, "Internal error.", http.StatusInternalServerError)
}
