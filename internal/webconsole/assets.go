package webconsole

import (
	"embed"
	"io/fs"
	"net/http"
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

// assetHandler serves the build's assets/ directory.
func assetHandler() http.Handler {
	sub, err := fs.Sub(distFS(), "assets")
	if err != nil {
		return http.NotFoundHandler()
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || r.URL.Path[len(r.URL.Path)-1] == '/' {
			http.NotFound(w, r) // no directory listings
			return
		}
		// The names carry a content hash (web/build.mjs): cache for good.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fsrv.ServeHTTP(w, r)
	})
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
