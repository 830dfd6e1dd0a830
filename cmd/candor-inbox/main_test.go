package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"candor/candortest"
	"candor/crypto"
	"candor/installation"
	"candor/internal/bundle"
	"candor/server/store"
	"candor/server/synctest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"candor-inbox": func() { os.Exit(Main()) },
		"candorsrv":    func() { os.Exit(fixture(os.Args[1:])) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata", Cmds: map[string]func(*testscript.TestScript, bool, []string){
		"serverkey": cmdServerKey,
	}})
}

// cmdServerKey is the script command "serverkey DIR [VAR]": it sets $VAR (default SERVER_KEY) to
// the fingerprint of the server key of the installation in DIR — what the admin hands a reviewer
// with the token (candor reviewer token prints it as server_key).
func cmdServerKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: serverkey DIR [VAR]")
	}
	st, err := installation.OpenStore(ts.MkAbs(args[0]), nil)
	ts.Check(err)
	defer st.Close()
	fp, err := installation.ServerKeyFingerprint(st)
	ts.Check(err)
	name := "SERVER_KEY"
	if len(args) == 2 {
		name = args[1]
	}
	ts.Setenv(name, fp)
}

// fixture is a test helper command that drives a real in-process server (package synctest):
//
//	candorsrv init DIR                          create an installation
//	candorsrv reviewer DIR CARD TOKENFILE       register a card, write a new sync token
//	candorsrv report DIR MESSAGE [FILE...]      submit a report to every reviewer (over HTTP)
//	candorsrv pull DIR TOKENFILE OUT [SINCE]    write the reviewer's bundle to OUT
//	candorsrv push DIR TOKENFILE OUTBOX         push an outbox
//	candorsrv suppress DIR                      delete every case without logging it
//	candorsrv fork DIR TOKENFILE OUT            a bundle signed by the server whose checkpoint has
//	                                            the current size but another root (a forked log)
//	candorsrv flip FILE OFFSET                  flip the low bit of the byte at OFFSET (negative: from the end)
//	candorsrv truncate FILE N                   cut FILE to N bytes (negative: drop -N bytes)
func fixture(args []string) int {
	if err := runFixture(args); err != nil {
		fmt.Fprintln(os.Stderr, "candorsrv:", err)
		return 1
	}
	return 0
}

func runFixture(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: candorsrv CMD ARGS")
	}
	switch args[0] {
	case "flip", "truncate":
		return editFile(args[0], args[1], args[2])
	}
	srv, err := synctest.Start(args[1], nil)
	if err != nil {
		return err
	}
	defer srv.Close()
	if ok, err := teamFixture(srv, args); ok {
		return err
	}
	switch args[0] {
	case "init":
		return nil
	case "suppress": // delete every case without a log entry, as an admin editing the file would
		var ids []store.CaseID
		srv.Store.Cases(func(c *store.Case) error { ids = append(ids, c.ID); return nil })
		for _, id := range ids {
			if _, err := srv.Store.DeleteCase(id, nil); err != nil {
				return err
			}
		}
		return nil
	case "reviewer":
		card, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		_, token, err := srv.AddReviewer(card)
		if err != nil {
			return err
		}
		return os.WriteFile(args[3], []byte(token), 0o600)
	case "report":
		var files []synctest.File
		for _, f := range args[3:] {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			files = append(files, synctest.File{Name: f, Body: b})
		}
		_, err := srv.Submit(args[2], nil, files...)
		return err
	case "fork":
		return forkBundle(srv, token(args[2]), args[3])
	case "forge-reply":
		return forgeReply(srv, token(args[2]), args[3])
	case "forge-status":
		return forgeStatus(srv, token(args[2]), args[3])
	case "pull":
		since := ""
		if len(args) > 4 {
			since = args[4]
		}
		f, err := os.Create(args[3])
		if err != nil {
			return err
		}
		defer f.Close()
		return srv.Pull(token(args[2]), since, f)
	case "push":
		f, err := os.Open(args[3])
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := srv.Push(token(args[2]), f)
		fmt.Printf("accepted %d\n", n)
		return err
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func token(file string) string {
	b, _ := os.ReadFile(file)
	return strings.TrimSpace(string(b))
}

func editFile(op, path, arg string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(arg)
	if err != nil {
		return err
	}
	if n < 0 {
		n += len(b)
	}
	if op == "flip" {
		b[n] ^= 1
	} else {
		b = b[:n]
	}
	return os.WriteFile(path, b, 0o600)
}

// forkBundle writes the reviewer's bundle, re-signed by the real server key, whose checkpoint has
// the log's current size and a different root, signed with the log's keys: a second history.
func forkBundle(srv *synctest.Server, tok, out string) error {
	var buf bytes.Buffer
	if err := srv.Pull(tok, "", &buf); err != nil {
		return err
	}
	skb, err := srv.Store.Meta(installation.MetaSigningKey)
	if err != nil {
		return err
	}
	sk, err := crypto.ParseSigningKey(skb)
	if err != nil {
		return err
	}
	r := bundle.NewReader(&buf)
	var forged bytes.Buffer
	w := bundle.NewWriter(&forged)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch rec := rec.(type) {
		case *bundle.Header:
			err = w.Header(rec)
		case *bundle.Checkpoint:
			cp := rec.Checkpoint
			cp.Hash[0] ^= 1
			var note []byte
			signer, serr := installation.LogSigner(sk, cp.Origin)
			if serr == nil {
				note, serr = signer.Sign(&cp)
			}
			err = errors.Join(serr, w.Checkpoint(note))
		case *bundle.SealedKey:
			err = w.SealedKey(rec)
		case *bundle.LeafList:
			err = w.LeafList(rec)
		case *bundle.CaseIndex:
			err = w.CaseIndex(rec)
		}
		if err != nil {
			return err
		}
	}
	if err := w.Close(sk); err != nil {
		return err
	}
	return os.WriteFile(out, forged.Bytes(), 0o600)
}

// forgeReply writes the reviewer's whole bundle, re-signed by the real server key, with a byte of
// every reply's signature flipped: what a server inventing or altering a reviewer's reply sends.
func forgeReply(srv *synctest.Server, tok, out string) error {
	return forgeBundle(srv, tok, out, copyForged)
}

// forgeStatus writes the reviewer's whole bundle, re-signed by the real server key, with every
// case claiming status closed and no holds: what a server claiming a reviewer closed the case (or
// dropping a hold) without that reviewer's signature sends.
func forgeStatus(srv *synctest.Server, tok, out string) error {
	return forgeBundle(srv, tok, out, func(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
		if c, ok := rec.(*bundle.Case); ok {
			c.Status, c.Holds = "closed", nil
		}
		if b, ok := rec.(*bundle.Blob); ok && b.Kind == bundle.BlobReply {
			b.Sig = bytes.Clone(b.Sig)
			b.Sig[len(b.Sig)-1] ^= 1 // undone by copyForged
		}
		return copyForged(w, rec, r)
	})
}

// forgeBundle re-signs the reviewer's whole bundle with the real server key, passing every record
// through copy.
func forgeBundle(srv *synctest.Server, tok, out string, copy func(*bundle.Writer, bundle.Record, io.Reader) error) error {
	var buf bytes.Buffer
	if err := srv.Pull(tok, "0", &buf); err != nil {
		return err
	}
	skb, err := srv.Store.Meta(installation.MetaSigningKey)
	if err != nil {
		return err
	}
	sk, err := crypto.ParseSigningKey(skb)
	if err != nil {
		return err
	}
	var forged bytes.Buffer
	r, w := bundle.NewReader(&buf), bundle.NewWriter(&forged)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = copy(w, rec, r)
		}
		if err != nil {
			return err
		}
	}
	if err := w.Close(sk); err != nil {
		return err
	}
	return os.WriteFile(out, forged.Bytes(), 0o600)
}

func copyForged(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
	if b, ok := rec.(*bundle.Blob); ok && b.Kind == bundle.BlobReply && len(b.Sig) > 0 {
		b.Sig[len(b.Sig)-1] ^= 1
	}
	return candortest.CopyRecord(w, rec, r)
}
