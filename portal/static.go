package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// staticPrefix is the URL path under which the gateway mounts Static.
const staticPrefix = "/static/"

// Cache lifetimes for static files. A request carrying the current version
// (?v=StaticVersion(), as every template link does) may be cached for good:
// a new release changes the URL. Anything else is cached briefly so an
// upgrade shows within a day.
const (
	cacheVersioned   = "public, max-age=31536000, immutable"
	cacheUnversioned = "public, max-age=86400"
)

// staticTypes fixes the content types of the asset kinds shipped, rather
// than trusting the host's MIME tables.
var staticTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

type staticSet struct {
	files   map[string]staticFile
	version string
}

// loadStatic reads the embedded static/ directory once.
var loadStatic = sync.OnceValue(func() staticSet {
	set := staticSet{files: make(map[string]staticFile)}
	entries, err := fs.ReadDir(assets, "static")
	if err != nil {
		panic("portal: read embedded static/: " + err.Error())
	}
	all := sha256.New()
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		body, err := fs.ReadFile(assets, "static/"+name)
		if err != nil {
			panic("portal: read embedded static/" + name + ": " + err.Error())
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		ctype, ok := staticTypes[ext]
		if !ok {
			ctype = mime.TypeByExtension(ext)
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		set.files[name] = staticFile{
			body:        body,
			contentType: ctype,
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		all.Write([]byte(name))
		all.Write([]byte{0})
		all.Write(sum[:])
	}
	set.version = hex.EncodeToString(all.Sum(nil))[:12]
	return set
})

// StaticVersion returns a short hash of all static assets. It changes
// whenever an asset does; templates append it as ?v= for cache-busting.
func StaticVersion() string {
	return loadStatic().version
}

// Static returns a handler that serves the embedded static files under the
// URL path /static/ (mount it with mux.Handle("/static/", portal.Static())).
// Only the files themselves are served — a directory, including /static/
// itself, is 404 — with their content type, an ETag, and a long
// Cache-Control when the request carries the current ?v= version. It answers
// GET and HEAD only.
func Static() http.Handler {
	return http.HandlerFunc(serveStatic)
}

func serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, staticPrefix)
	f, found := loadStatic().files[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	if r.URL.Query().Get("v") == StaticVersion() {
		h.Set("Cache-Control", cacheVersioned)
	} else {
		h.Set("Cache-Control", cacheUnversioned)
	}
	// The zero modtime leaves revalidation to the ETag: embedded files have
	// no meaningful modification time.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
