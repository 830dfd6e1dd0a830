package desk

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"candor/frontend"
)

// ServeHTTP checks every request — Host, the site it comes from, the launch secret, and a POST's
// origin — before any handler runs, and sets the strict headers on every response.
func (d *Desk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for _, kv := range frontend.SecurityHeaders {
		h.Set(kv[0], kv[1])
	}
	if !d.hostOK(r.Host) {
		// A page on another name that resolves to 127.0.0.1 (DNS rebinding), or a wrong port.
		d.refuse(w, r, http.StatusMisdirectedRequest, "desk.refused.host")
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		d.refuse(w, r, http.StatusForbidden, "desk.refused.origin")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.StripPrefix("/static/", http.FileServerFS(d.f.Static())).ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/favicon.ico" { // asked for by every browser; there is none
		http.NotFound(w, r)
		return
	}
	rest, ok := d.stripSecret(r.URL.Path)
	if !ok {
		d.refuse(w, r, http.StatusForbidden, "desk.refused.secret")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !d.sameOrigin(r) {
		d.refuse(w, r, http.StatusForbidden, "desk.refused.origin")
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path, r2.URL.RawPath = rest, ""
	d.mux.ServeHTTP(w, r2)
}

// hostOK reports whether host is exactly the address the desk listens on.
func (d *Desk) hostOK(host string) bool {
	d.mu.Lock()
	addr := d.addr
	d.mu.Unlock()
	return addr != "" && host == addr
}

// stripSecret checks the launch secret in path ("/s/SECRET/rest", constant time) and returns
// "/rest".
func (d *Desk) stripSecret(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/s/")
	if !ok {
		return "", false
	}
	got, rest, _ := strings.Cut(rest, "/")
	if subtle.ConstantTimeCompare([]byte(got), []byte(d.secret)) != 1 {
		return "", false
	}
	return "/" + rest, true
}

// sameOrigin reports whether a state-changing request comes from a page of this desk. Browsers
// send Sec-Fetch-Site, which a page cannot forge: it must say same-origin. (They send "Origin:
// null" with it, because of Referrer-Policy no-referrer; any other Origin must be ours.) Without
// Sec-Fetch-Site (older browsers), the Origin header must name this desk. A request with neither
// is refused.
func (d *Desk) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	self := "http://" + r.Host // r.Host was checked by hostOK
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return o == "" || o == "null" || o == self
	case "":
		return o == self
	}
	return false
}

// refuse answers a request the guard refused with a page that holds no secret and no link that
// needs one, and logs the refusal (never the path: it may hold a wrong or right secret).
func (d *Desk) refuse(w http.ResponseWriter, r *http.Request, status int, key string) {
	d.cfg.Log.Printf("candor-desk: refused %s request: %s", r.Method, key)
	p := d.newPage(w, r, "", false)
	d.render(w, status, pageProblem, &problemData{page: p, Refusal: &refusal{
		Heading: d.f.T(p.Lang, key+".title"), Message: d.f.T(p.Lang, key+".message")}})
}
