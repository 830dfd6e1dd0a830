package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"candor/admin"
	"candor/crypto"
	"candor/inbox"
	"candor/installation"
)

const demoSynopsis = "candor demo [--dir DIR] [--dev-listen ADDR] [--setup-only]"

// demoName labels the demo reviewer everywhere its card is shown.
const demoName = "DEMO reviewer (not for real reports)"

// demoLayout names the files of a demo directory.
type demoLayout struct{ dir string }

func (l demoLayout) data() string       { return filepath.Join(l.dir, "data") }
func (l demoLayout) home() string       { return filepath.Join(l.dir, "reviewer-home") }
func (l demoLayout) passphrase() string { return filepath.Join(l.dir, "reviewer-home.passphrase") }
func (l demoLayout) card() string       { return filepath.Join(l.home(), inbox.CardFile) }
func (l demoLayout) online() string     { return filepath.Join(l.dir, "reviewer-online") }
func (l demoLayout) token() string      { return filepath.Join(l.online(), "token") }
func (l demoLayout) clientAuth() string { return filepath.Join(l.online(), "restricted.auth_private") }

// runDemo sets up (or reuses) a demo installation with a demo reviewer and serves it: with tor if
// tor is on PATH and --dev-listen is not given, else on --dev-listen (default 127.0.0.1:8080).
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoSynopsis, stderr)
	dir := fs.String("dir", "demo", "demo `directory` (created, or reused by a second run)")
	dev := fs.String("dev-listen", "", "serve without tor on this loopback `address` (default when tor is missing: 127.0.0.1:8080)")
	setupOnly := fs.Bool("setup-only", false, "create the demo directory and exit without serving")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	l := demoLayout{*dir}
	if err := demoSetup(l, stdout); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if *setupOnly {
		return nil
	}
	listen := *dev
	if listen == "" {
		if _, err := exec.LookPath("tor"); err != nil {
			listen = "127.0.0.1:8080"
			fmt.Fprintln(stderr, "tor is not installed (apt-get install tor): serving WITHOUT tor on http://"+listen+" for this demo.")
		}
	}
	printDemoNext(stdout, l, listen)
	serveArgs := []string{"--data", l.data()}
	if listen != "" {
		serveArgs = append(serveArgs, "--dev-listen", listen)
	}
	return runServe(serveArgs, stdout, stderr)
}

// demoSetup creates what is missing: the store, the demo reviewer's home and card, its
// registration and its sync token. Everything that exists is reused.
func demoSetup(l demoLayout, stdout io.Writer) error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	card, err := demoReviewer(l)
	if err != nil {
		return err
	}
	st, err := installation.OpenStore(l.data(), nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := installation.Init(st, installation.InitOptions{}); err != nil && !errors.Is(err, installation.ErrInitialised) {
		return err
	}
	a, err := admin.New(admin.Config{Store: st, DataDir: l.data()})
	if err != nil {
		return err
	}
	r, err := a.AddReviewer(card)
	if errors.Is(err, admin.ErrReviewerExists) {
		c, _ := crypto.ParseCard(card)
		r.Fingerprint, err = c.Fingerprint(), nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(l.token()); err == nil {
		return nil
	}
	t, err := a.IssueToken(r.Fingerprint)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.online(), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(l.clientAuth(), []byte(t.ClientAuth+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo reviewer %s registered; token in %s\n", r.Fingerprint, l.token())
	return os.WriteFile(l.token(), []byte(t.Token+"\n"), 0o600)
}

// demoReviewer returns the demo reviewer's card, creating the reviewer's offline inbox first if
// needed (candor-inbox's home: passphrase-encrypted identity and signing key, and the card), with
// its passphrase in a file beside the home.
func demoReviewer(l demoLayout) ([]byte, error) {
	if card, err := os.ReadFile(l.card()); err == nil {
		return card, nil
	}
	pass := make([]byte, 16)
	rand.Read(pass)
	passphrase := []byte(hex.EncodeToString(pass))
	if err := os.WriteFile(l.passphrase(), append(passphrase, '\n'), 0o600); err != nil {
		return nil, err
	}
	card, err := inbox.Init(inbox.Config{Home: l.home()}, demoName, passphrase)
	if err != nil {
		return nil, fmt.Errorf("demo reviewer's inbox: %w", err)
	}
	return card.Marshal(), nil
}

func printDemoNext(w io.Writer, l demoLayout, listen string) {
	url := "http://" + listen
	server := url
	if listen == "" {
		url = "the public onion address printed below (open it in Tor Browser)"
		server = "http://RESTRICTED-ONION (needs a tor client with " + l.clientAuth() + ")"
	}
	pf := "--passphrase-file " + l.passphrase()
	// make run starts bin/candor: print commands that work from the same directory.
	bin := ""
	if strings.Contains(os.Args[0], "/") && filepath.Base(os.Args[0]) == "candor" {
		bin = filepath.Dir(os.Args[0]) + "/"
	}
	fmt.Fprintf(w, strings.ReplaceAll(`
== Candor DEMO in %s — for trying it out only: the demo reviewer's keys and passphrase are on this disk.
Next steps:
  1. Report:    open %s, send a report, keep the receipt code.
  2. Pull:      candor sync pull --server %s --token $(cat %s) -o %s
  3. Read:      candor-inbox import --home %s %s %s
                candor-inbox list --home %s %s
                candor-inbox read --home %s %s CASE
  4. Reply:     candor-inbox reply --home %s %s CASE -m "Thank you, we are looking into it."
                candor-inbox outbox --home %s %s -o %s
  5. Push:      candor sync push --server %s --token $(cat %s) %s
  6. Follow up: open %s/followup with the receipt code and read the reply.
Admin:          candor status --data %s   (works while this runs)
`, "candor", bin+"candor"), l.dir, url, server, l.token(), filepath.Join(l.dir, "bundle"),
		l.home(), pf, filepath.Join(l.dir, "bundle"), l.home(), pf, l.home(), pf,
		l.home(), pf, l.home(), pf, filepath.Join(l.dir, "outbox"),
		server, l.token(), filepath.Join(l.dir, "outbox"), strings.TrimSuffix(url, "/"), l.data())
}
