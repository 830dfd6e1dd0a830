// Package syncclient owns the reviewer's side of the sync API (DESIGN §9): pulling a bundle and
// pushing an outbox over HTTP, directly (loopback, tests) or through a SOCKS5 proxy (tor's
// SocksPort, for the restricted onion service), with the bearer token. It explains tor's extended
// SOCKS errors, and PullFile keeps a bundle only once it is complete and its signature verifies.
// cmd/candor's `candor sync` and the tests use it; it never imports the server.
package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"candor/crypto"
	"candor/internal/atomicfile"
	"candor/internal/bundle"
)

// Client talks to one server's sync API with one reviewer's token. Build it with New.
type Client struct {
	server, token string
	http          *http.Client
}

// New returns a client of the server at serverURL (http://….onion or http://127.0.0.1:PORT). With
// socks set it dials through that SOCKS5 proxy, which resolves .onion names; an .onion server
// needs one. The client has no overall timeout (bundles can be large) but bounds dialling and
// waiting for an answer's headers.
func New(serverURL, token, socks string) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server must be an http:// URL, e.g. http://xyz.onion or http://127.0.0.1:8080")
	}
	d := &net.Dialer{Timeout: 60 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 5 * time.Minute,
		Proxy: nil, DisableCompression: true}
	if socks != "" {
		p, err := proxy.SOCKS5("tcp", socks, nil, d)
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
	return &Client{server: strings.TrimSuffix(serverURL, "/"), token: token, http: &http.Client{Transport: tr}}, nil
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

// ErrAlreadyPushed means that the server had accepted every envelope of the outbox before: the
// same outbox was pushed a second time, and nothing was stored again.
var ErrAlreadyPushed = errors.New("already pushed: the server accepted every envelope of this outbox before; nothing to do")

// APIError is a refusal of the sync API with the server's fixed message.
type APIError struct {
	Status     int    // HTTP status code
	StatusText string // e.g. "401 Unauthorized"
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %s: %s", e.StatusText, e.Message)
}

// apiError turns a non-200 answer into an *APIError.
func apiError(resp *http.Response) error {
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = "unexpected answer"
	}
	return &APIError{Status: resp.StatusCode, StatusText: resp.Status, Message: e.Error}
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "candor")
	if body != nil {
		if size >= 0 {
			req.ContentLength = size
		}
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, apiError(resp)
	}
	return resp, nil
}

// Pull asks for the reviewer's bundle after feed position since ("" = from the acknowledged
// cursor) and returns the answer's body, not yet verified. Close it.
func (c *Client) Pull(ctx context.Context, since string) (io.ReadCloser, error) {
	path := "/api/v1/pull"
	if since != "" {
		if _, err := strconv.ParseUint(since, 10, 64); err != nil {
			return nil, fmt.Errorf("--since must be a number")
		}
		path += "?since=" + since
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil, 0)
	if err != nil {
		return nil, prefix("pull", err)
	}
	return resp.Body, nil
}

// PullFile downloads the bundle into a temporary file next to out, checks that it is complete and
// signed by the key it names (the inbox checks that key against its pinned one), and renames it
// to out; nothing is written otherwise. wrap, if set, wraps the body (a progress display).
func (c *Client) PullFile(ctx context.Context, since, out string, wrap func(io.Reader) io.Reader) (*bundle.Header, error) {
	body, err := c.Pull(ctx, since)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var r io.Reader = body
	if wrap != nil {
		r = wrap(r)
	}
	var h *bundle.Header
	err = atomicfile.Write(out, 0o600, func(w io.Writer) (err error) {
		h, err = bundle.VerifyFunc(io.TeeReader(r, w), func(h *bundle.Header) (bundle.Verifier, error) {
			return crypto.ParseVerifyKey(h.ServerKey)
		})
		if err != nil {
			return fmt.Errorf("pull: the bundle is incomplete or damaged (nothing written): %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Push sends an outbox of size bytes (-1: as http.NewRequest finds it) and returns the number of envelopes accepted.
func (c *Client) Push(ctx context.Context, outbox io.Reader, size int64) (int, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/push", outbox, size)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict && strings.Contains(ae.Message, "already pushed") {
		return 0, ErrAlreadyPushed
	}
	if err != nil {
		return 0, prefix("push", err)
	}
	defer resp.Body.Close()
	var ok struct {
		Accepted int `json:"accepted"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&ok); err != nil {
		return 0, fmt.Errorf("push: unexpected answer: %w", err)
	}
	return ok.Accepted, nil
}

// prefix names the operation in a transport error; a refusal (*APIError) says it all already.
func prefix(op string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
