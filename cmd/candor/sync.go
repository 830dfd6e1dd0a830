package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
	"golang.org/x/term"

	"candor/crypto"
	"candor/internal/bundle"
)

func init() {
	extraCommands["sync"] = command{run: runSync}
}

const syncSynopsis = `candor sync pull --server URL --token TOKEN [--socks ADDR] [--since N] -o BUNDLE
       candor sync push --server URL --token TOKEN [--socks ADDR] OUTBOX

The token may also come from --token-file FILE or $CANDOR_SYNC_TOKEN (safer than the command line).
--socks ADDR dials through a SOCKS5 proxy (tor's SocksPort, e.g. 127.0.0.1:9050); .onion names
are resolved by the proxy.`

func runSync(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "pull" && args[0] != "push") {
		fmt.Fprintf(stderr, "Usage: %s\n", syncSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errUsage
	}
	fs := newFlagSet("sync "+args[0], syncSynopsis, stderr)
	o := syncOptions{stderr: stderr}
	fs.StringVar(&o.server, "server", "", "server URL (http://….onion or http://127.0.0.1:PORT)")
	fs.StringVar(&o.token, "token", os.Getenv("CANDOR_SYNC_TOKEN"), "sync token")
	tokenFile := fs.String("token-file", "", "read the sync token from FILE")
	fs.StringVar(&o.socks, "socks", "", "SOCKS5 proxy address (tor)")
	since := fs.String("since", "", "pull everything after feed position N (0: everything)")
	out := fs.String("o", "", "write the bundle to FILE")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		o.token = strings.TrimSpace(string(b))
	}
	if o.server == "" || o.token == "" {
		return errors.New("give --server URL and a token (--token, --token-file or $CANDOR_SYNC_TOKEN)")
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	if args[0] == "pull" {
		if fs.NArg() != 0 || *out == "" {
			return errors.New("candor sync pull takes no arguments and needs -o BUNDLE")
		}
		return syncPull(c, o, *since, *out, stdout)
	}
	if fs.NArg() != 1 {
		return errors.New("candor sync push takes one OUTBOX file")
	}
	return syncPush(c, o, fs.Arg(0), stdout)
}

type syncOptions struct {
	server, token, socks string
	stderr               io.Writer
}

// client returns an HTTP client that dials directly or through the SOCKS5 proxy. It has no
// overall timeout (bundles can be large) but bounds dialling and waiting for the answer's headers.
func (o syncOptions) client() (*http.Client, error) {
	u, err := url.Parse(o.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server must be an http:// URL, e.g. http://xyz.onion or http://127.0.0.1:8080")
	}
	d := &net.Dialer{Timeout: 60 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 5 * time.Minute,
		Proxy: nil, DisableCompression: true}
	if o.socks != "" {
		p, err := proxy.SOCKS5("tcp", o.socks, nil, d)
		if err != nil {
			return nil, err
		}
		cd, ok := p.(proxy.ContextDialer)
		if !ok {
			return nil, errors.New("SOCKS5 dialer does not support contexts")
		}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := cd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, explainSOCKS(err)
			}
			return c, nil
		}
	} else if strings.HasSuffix(u.Hostname(), ".onion") {
		return nil, errors.New("an .onion server needs --socks ADDR (tor's SocksPort)")
	}
	return &http.Client{Transport: tr}, nil
}

// torSOCKSErrors are tor's extended SOCKS5 replies for onion services (tor's ExtendedErrors), which
// the SOCKS client reports only as "unknown code".
var torSOCKSErrors = map[string]string{
	"unknown code: 240": "the onion service's descriptor was not found (wrong address, or the service is not running)",
	"unknown code: 241": "the onion service's descriptor is invalid",
	"unknown code: 242": "the onion service's introduction failed",
	"unknown code: 243": "the onion service's rendezvous failed",
	"unknown code: 244": "onion client authorisation missing: put the client_auth line from `candor reviewer token` into a file in your tor's ClientOnionAuthDir",
	"unknown code: 245": "onion client authorisation refused: the client_auth line in your tor's ClientOnionAuthDir is not (or no longer) authorised; ask the admin for a new one",
	"unknown code: 246": "invalid onion address",
	"unknown code: 247": "the onion service's introduction timed out",
}

// explainSOCKS adds what tor's extended SOCKS error means, if err carries one.
func explainSOCKS(err error) error {
	for code, meaning := range torSOCKSErrors {
		if strings.Contains(err.Error(), code) {
			return fmt.Errorf("%s (%w)", meaning, err)
		}
	}
	return err
}

func (o syncOptions) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(o.server, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("User-Agent", "candor")
	return req, nil
}

// apiError turns a non-200 answer into an error with the server's fixed message.
func apiError(resp *http.Response) error {
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = "unexpected answer"
	}
	return fmt.Errorf("server answered %s: %s", resp.Status, e.Error)
}

// syncPull downloads the bundle into a temporary file next to out, checks that it is complete and
// signed by the key it names (the inbox checks that key against its pinned one), and renames it.
func syncPull(c *http.Client, o syncOptions, since, out string, stdout io.Writer) error {
	path := "/api/v1/pull"
	if since != "" {
		if _, err := strconv.ParseUint(since, 10, 64); err != nil {
			return fmt.Errorf("--since must be a number")
		}
		path += "?since=" + since
	}
	req, err := o.request(context.Background(), http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".candor-bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	src := io.TeeReader(progress(resp.Body, o.stderr, "pull"), tmp)
	h, err := bundle.VerifyFunc(src, func(h *bundle.Header) (bundle.Verifier, error) {
		return crypto.ParseVerifyKey(h.ServerKey)
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pull: the bundle is incomplete or damaged (nothing written): %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: feed %d..%d for %s\n", out, h.Since, h.Until, h.Reviewer)
	return nil
}

func syncPush(c *http.Client, o syncOptions, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := o.request(context.Background(), http.MethodPost, "/api/v1/push", progress(f, o.stderr, "push"))
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	var ok struct {
		Accepted int `json:"accepted"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&ok); err != nil {
		return fmt.Errorf("push: unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "the server accepted %d envelopes\n", ok.Accepted)
	return nil
}

// progress reports transferred bytes on a terminal and is silent otherwise.
func progress(r io.Reader, w io.Writer, what string) io.Reader {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return r
	}
	return &progressReader{r: r, w: w, what: what}
}

type progressReader struct {
	r       io.Reader
	w       io.Writer
	what    string
	n, next int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n >= p.next || err == io.EOF {
		fmt.Fprintf(p.w, "\r%s: %d MiB", p.what, p.n>>20)
		p.next = p.n + 4<<20
	}
	if err == io.EOF {
		fmt.Fprintln(p.w)
	}
	return n, err
}
