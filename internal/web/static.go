package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFiles serves the files under static/ at content-hashed URLs,
// /static/{hash}/{name}, so browsers may cache them forever: a changed file
// gets a new URL.
type staticFiles struct {
	fsys  fs.FS
	dev   bool
	files map[string]staticFile // by name, e.g. "app.css"
}

type staticFile struct {
	hash  string
	body  []byte
	ctype string
}

func newStaticFiles(fsys fs.FS, dev bool) (*staticFiles, error) {
	s := &staticFiles{fsys: fsys, dev: dev}
	files, err := s.load()
	if err != nil {
		return nil, err
	}
	s.files = files
	return s, nil
}

func (s *staticFiles) load() (map[string]staticFile, error) {
	files := map[string]staticFile{}
	err := fs.WalkDir(s.fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(s.fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		files[strings.TrimPrefix(p, "static/")] = staticFile{hash: hex.EncodeToString(sum[:6]), body: body, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return files, nil
}

// current returns the files, re-read from disk in development mode.
func (s *staticFiles) current() map[string]staticFile {
	if s.dev {
		if files, err := s.load(); err == nil {
			return files
		}
	}
	return s.files
}

// url returns the hashed URL of a static file. Templates call it as
// {{asset "app.css"}}; an unknown name is a template bug and panics at
// render time, which the rendering tests catch.
func (s *staticFiles) url(name string) (string, error) {
	f, ok := s.current()[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + f.hash + "/" + name, nil
}

// ServeHTTP serves GET /static/{hash}/{name...}. A stale hash (a page
// cached from before an upgrade) still gets the current file, but without
// the immutable cache header.
func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, ok := s.current()[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	if !s.dev && r.PathValue("hash") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+f.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
