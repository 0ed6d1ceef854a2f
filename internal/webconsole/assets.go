package webconsole

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// dist is the front end's production build (web/, `make build` writes it
// here). Only dist/README.md is in git: a binary built without the front
// end (go install) serves a page that says how to build it.
//
//go:embed all:dist
var dist embed.FS

func distFS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// indexPage is the console's start page, and whether the front end is built.
func indexPage() ([]byte, bool) {
	if b, err := fs.ReadFile(distFS(), "index.html"); err == nil {
		return b, true
	}
	return []byte(notBuiltPage), false
}

// assetHandler serves the build's assets/ directory, gzipped for clients
// that take it (compressed once, on first use).
func assetHandler() http.Handler {
	sub, err := fs.Sub(distFS(), "assets")
	if err != nil {
		return http.NotFoundHandler()
	}
	fsrv := http.FileServerFS(sub)
	var gz sync.Map // name → []byte
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path
		if name == "" || name[len(name)-1] == '/' {
			http.NotFound(w, r) // no directory listings
			return
		}
		h := w.Header()
		// The names carry a content hash (web/build.mjs): cache for good.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Vary", "Accept-Encoding")
		if !acceptsGzip(r) || r.Header.Get("Range") != "" || !(strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css")) {
			fsrv.ServeHTTP(w, r)
			return
		}
		z, ok := gz.Load(name)
		if !ok {
			raw, err := fs.ReadFile(sub, name)
			if err != nil {
				fsrv.ServeHTTP(w, r) // its 404
				return
			}
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(raw)
			_ = zw.Close()
			z, _ = gz.LoadOrStore(name, buf.Bytes())
		}
		b := z.([]byte)
		ct := "text/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".css") {
			ct = "text/css; charset=utf-8"
		}
		h.Set("Content-Type", ct)
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	})
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, e := range strings.Split(v, ",") {
			name, q, _ := strings.Cut(strings.TrimSpace(e), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// notBuiltPage is served at "/" by a binary built without the front end.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kgate console (not built)</title></head>
<body>
<h1>The kgate web console is not in this binary</h1>
<p>This kgate was built without its front end (for example with <code>go install</code>).
The gateway itself works: <code>kgate login --server URL</code>, kubectl and the API are served as usual.</p>
<p>To build the console into the binary, from a checkout of kgate, with Node.js 20 or later and npm:</p>
<pre>make build</pre>
<p>which runs <code>npm ci</code> and <code>npm run build</code> in <code>web/</code>, then <code>go build</code>.
Release archives carry the console.</p>
</body>
</html>
`
