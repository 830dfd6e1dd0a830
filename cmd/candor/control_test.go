package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"candor/admin"
	"candor/candortest"
	"candor/installation"
)

// TestMain lets testscript run the real candor command (and the helpers below) in-process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"candor":       func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
		"mkcard":       helper(mkcard),
		"mkbackupkey":  helper(mkbackupkey),
		"encryptjunk":  helper(encryptjunk),
		"flipbyte":     helper(flipbyte),
		"heartbeat":    helper(heartbeat),
		"controlserve": helper(controlserve),
		"waitfile":     helper(waitfile),
		"mkcase":       helper(mkcase),
		"fingerprint":  helper(fingerprint),
	})
}

// TestScripts runs testdata/*.txtar: one admin behaviour per file.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata", Setup: func(env *testscript.Env) error {
		// Under -race every command would otherwise sleep 1 s at exit (the race runtime's default).
		env.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		return nil
	}})
}

func helper(fn func(args []string) error) func() {
	return func() {
		if err := fn(os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
			os.Exit(1)
		}
	}
}

// mkcard NAME CARDFILE: a new reviewer card (its keys are thrown away).
func mkcard(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: mkcard NAME CARDFILE")
	}
	r, err := candortest.MakeReviewer(args[0])
	if err != nil {
		return err
	}
	return os.WriteFile(args[1], r.Card.Marshal(), 0o600)
}

// mkbackupkey IDENTITYFILE RECIPIENTFILE [PASSPHRASE]: a hybrid age key pair, as age-keygen -pq
// writes it; with PASSPHRASE the identity file is encrypted with it (as age -p would).
func mkbackupkey(args []string) error {
	if len(args) != 2 && len(args) != 3 {
		return fmt.Errorf("usage: mkbackupkey IDENTITYFILE RECIPIENTFILE [PASSPHRASE]")
	}
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return err
	}
	idFile := []byte(id.String() + "\n")
	if len(args) == 3 {
		r, _ := age.NewScryptRecipient(args[2])
		r.SetWorkFactor(10)
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, r)
		w.Write(idFile)
		w.Close()
		idFile = buf.Bytes()
	}
	if err := os.WriteFile(args[0], idFile, 0o600); err != nil {
		return err
	}
	return os.WriteFile(args[1], []byte(id.Recipient().String()+"\n"), 0o644)
}

// encryptjunk RECIPIENTFILE OUT: a valid age file to the recipient whose plaintext is not a store.
func encryptjunk(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: encryptjunk RECIPIENTFILE OUT")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	r, err := age.ParseHybridRecipient(string(bytes.TrimSpace(b)))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		return err
	}
	junk := make([]byte, 64<<10)
	rand.Read(junk)
	w.Write(junk)
	w.Close()
	return os.WriteFile(args[1], out.Bytes(), 0o600)
}

// flipbyte FILE: flips one byte in the second half of FILE (inside the age payload).
func flipbyte(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: flipbyte FILE")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	b[len(b)*3/4] ^= 0x40
	return os.WriteFile(args[0], b, 0o600)
}

// heartbeat DATADIR TORSTATE AGESECONDS: writes a heartbeat as candor serve would.
func heartbeat(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: heartbeat DATADIR TORSTATE AGESECONDS")
	}
	var age int
	fmt.Sscan(args[2], &age)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // write once and return
	at := time.Now().Add(-time.Duration(age) * time.Second)
	return admin.Heartbeat(ctx, args[0], func() string { return args[1] }, nil, func() time.Time { return at })
}

// controlserve DATADIR: holds the store and serves the control socket until interrupted, as
// candor serve does.
func controlserve(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: controlserve DATADIR")
	}
	st, err := installation.OpenStore(args[0], nil)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := admin.New(admin.Config{Store: st, DataDir: args[0],
		OnReviewersChanged: func(keys []string) { fmt.Printf("client auth keys: %d\n", len(keys)) }})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return admin.ServeControl(ctx, a, args[0])
}

// waitfile FILE: waits up to 10 s for FILE to exist.
func waitfile(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: waitfile FILE")
	}
	for range 200 {
		if _, err := os.Stat(args[0]); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not appear", args[0])
}
