package frontend

import (
	"bytes"
	"candor/internal/testenv"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// csp is the Content-Security-Policy the server sends (DESIGN §9); the test
// server sends it too, so a screenshot shows what the policy lets through.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageServer serves every sample page at /LANG/PAGE and the static files under
// /static/, with the production security headers.
func pageServer(t *testing.T, f *Frontend) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(f.Static())))
	for _, l := range f.Languages() {
		pages := samplePages(t, f, l.Tag, identity)
		for _, name := range Pages() {
			body := []byte(mustRender(t, f, name, pages[name]))
			mux.HandleFunc("/"+l.Tag+"/"+name, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write(body)
			})
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// browser starts headless Chromium with page scripts disabled, as Tor Browser
// at its Safest level runs.
func browser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, 10*time.Minute)
}

// viewports: a desktop window, the same window at 200 % zoom (half the CSS
// width at twice the pixel density), and the 320-pixel reflow width.
// The 320-pixel one is only checked for horizontal scrolling, not captured,
// to keep the test short.
var viewports = []struct {
	name          string
	width, height int64
	scale         float64
	capture       bool
}{
	{"normal", 1280, 900, 1, true},
	{"zoom200", 640, 450, 2, true},
	{"reflow320", 320, 256, 1, false}, // WCAG 1.4.10 reflow
}

func TestScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped in -short mode")
	}
	f := newTest(t)
	srv := pageServer(t, f)
	ctx := browser(t)
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, vp := range viewports {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(vp.scale))); err != nil {
			t.Fatalf("viewport: %v", err)
		}
		for _, l := range f.Languages() {
			for _, name := range Pages() {
				shot := shoot(t, ctx, srv.URL+"/"+l.Tag+"/"+name, name, vp.capture)
				if shot == nil {
					continue
				}
				file := filepath.Join(dir, l.Tag+"-"+name+"-"+vp.name+".png")
				if err := os.WriteFile(file, shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}

// shoot loads u, checks the page, and returns a full-page PNG if capture is set.
func shoot(t *testing.T, ctx context.Context, u, name string, capture bool) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		t.Fatalf("%s: layout metrics: %v", u, err)
	}
	if w, vw := m.CSSContentSize.Width, float64(m.CSSLayoutViewport.ClientWidth); w > vw {
		t.Errorf("%s: scrolls horizontally: content %v px wide, viewport %v px", u, w, vw)
	}
	if name == PageReceipt {
		code, err := chromedp.Run(ctx, chromedp.Text("#receipt-code"))
		if err != nil || strings.TrimSpace(code) != testCode {
			t.Errorf("%s: got receipt code %q (%v), want %q", u, code, err, testCode)
		}
	}
	if !capture {
		return nil
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", u, err)
	}
	checkNonTrivial(t, u, png)
	return png
}

// checkNonTrivial asserts that b is a PNG with more than one colour.
func checkNonTrivial(t *testing.T, what string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: screenshot is not a PNG: %v", what, err)
	}
	if !moreThanOneColour(img) {
		t.Errorf("%s: screenshot has a single colour", what)
	}
}

func moreThanOneColour(img image.Image) bool {
	r := img.Bounds()
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			if img.At(x, y) != first {
				return true
			}
		}
	}
	return false
}
