// Package docs holds the user guides (markdown, no code). Its test runs the examples of the
// admin's and the reviewer's guides against freshly built binaries, so that they cannot rot:
//
//   - every ```sh block runs as one bash script (-e -u -o pipefail);
//   - every ```console block runs its "$ " lines (the other lines are the output it shows);
//   - every ```json block must parse;
//   - a block right after <!-- docs-test: skip (REASON) --> is not run: the test counts and
//     prints those (docker, the system's tor, terminal prompts);
//   - a block right after <!-- docs-test: file NAME --> is also written to NAME, for the
//     examples that follow (a JSON file the next command loads).
//
// Blocks of one guide run in order in one temporary directory (HOME is inside it), so later
// examples see what earlier ones made. Placeholders the guides use (DIR, FINGERPRINT, the
// restricted onion address, /media/usb, a witness's key, …) are replaced by what the test set up; the tables
// below say which. candor-inbox commands get --passphrase-file, since the guide's reader types
// the passphrase on the terminal.
package docs

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"candor/candortest"
	"candor/internal/testenv"
)

// block is one fenced block of a guide.
type block struct {
	doc  string
	line int    // of the opening fence
	lang string // "sh", "console", "json", or other
	text string
	skip string // the reason given by a docs-test: skip comment
	file string // the name given by a docs-test: file comment
}

var (
	fenceRE = regexp.MustCompile("^```([a-z]*)\\s*$")
	skipRE  = regexp.MustCompile(`^<!-- docs-test: skip \((.+)\) -->$`)
	fileRE  = regexp.MustCompile(`^<!-- docs-test: file ([\w.-]+) -->$`)
	// unsafeRE finds what an example must not do here: system paths, root, services, daemons,
	// containers, the network. Such examples are marked skip; the test refuses to run them.
	unsafeRE = regexp.MustCompile(`(^|[\s'"=])/(etc|var|run|usr|srv|opt|media|mnt|tmp|root|home)/|\b(sudo|systemctl|ssh-agent|docker|podman|git clone|curl|wget|tor|litewitness)\b`)
)

// blocks returns the fenced blocks of the markdown file path.
func blocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	var cur *block
	var prev string // the last non-blank line outside a block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fenceRE.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			cur = &block{doc: filepath.Base(path), line: n, lang: m[1]}
			if s := skipRE.FindStringSubmatch(prev); s != nil {
				cur.skip = s[1]
			}
			if f := fileRE.FindStringSubmatch(prev); f != nil {
				cur.file = f[1]
			}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur, prev = nil, ""
		case cur != nil:
			cur.text += line + "\n"
		case strings.TrimSpace(line) != "":
			prev = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated fence", path, cur.line)
	}
	return out
}

// script turns a block into the bash script to run: an sh block as it is, a console block's "$ "
// lines (with their "\" continuations); subs are applied in order, and candor-inbox commands get
// the passphrase file.
func script(b block, subs []sub) string {
	text := b.text
	if b.lang == "console" {
		var cmds []string
		cont := false
		for _, l := range strings.Split(b.text, "\n") {
			switch {
			case strings.HasPrefix(l, "$ "):
				cmds = append(cmds, strings.TrimPrefix(l, "$ "))
			case cont:
				cmds[len(cmds)-1] += "\n" + l
			default:
				continue
			}
			cont = strings.HasSuffix(l, "\\")
		}
		text = strings.Join(cmds, "\n") + "\n"
	}
	for _, s := range subs {
		text = s.re.ReplaceAllLiteralString(text, s.with)
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "candor-inbox ") {
			l += ` --passphrase-file "$PASSFILE"`
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// sub replaces a placeholder of a guide.
type sub struct {
	re   *regexp.Regexp
	with string
}

func word(w, with string) sub {
	return sub{regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`), with}
}
func literal(s, with string) sub { return sub{regexp.MustCompile(regexp.QuoteMeta(s)), with} }

// guide is what the test needs to run one guide's examples.
type guide struct {
	path  string
	subs  []sub
	setup func(t *testing.T, g *run)
	// before runs before the first block whose text contains its key.
	before map[string]func(t *testing.T, g *run)
}

// run is the state of one guide's run.
type run struct {
	work, bin string
	env       []string
}

func (r *run) sh(t *testing.T, what, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-e", "-u", "-o", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = r.work, r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n--- script\n%s\n--- output\n%s", what, err, script, out.String())
	}
	return out.String()
}

func (r *run) setenv(k, v string) { r.env = append(r.env, k+"="+v) }

const passphrase = "correct horse battery staple docs"

func guides() []guide {
	return []guide{
		{path: "admin.md", subs: []sub{
			word("DIR", `"$DATA"`), word("FINGERPRINT", `"$FP"`), literal("/backups/", `"$WORK"/backups/`),
			literal("age1pq1…", `"$(age-keygen -y candor-backup.key)"`),
			literal("'witness.example/w1+1234abcd+BAAA…'", `"$WITNESS_KEY"`),
		}, setup: setupAdmin},
		{path: "reviewer.md", subs: []sub{
			literal("http://RESTRICTED.onion", `"$SERVER"`), literal(" --socks 127.0.0.1:9050", ""),
			literal("/media/usb", `"$WORK"/usb`), literal("/tmp/raw/<blob>.age", `"$(ls "$WORK"/raw/*.age | head -n 1)"`),
			literal("/tmp/raw", `"$WORK"/raw`), literal("3<passfile", `3<"$PASSFILE"`),
			literal("--server-key nrdp-5roo-2cn4-xxq4-4f4p-d2ya", `--server-key "$(candor status --data "$SDATA" --json | sed -n 's/.*"server_key": *"\([^"]*\)".*/\1/p')"`),
			word("3f2a9c", `"$(candor-inbox list --home ~/inbox --json --passphrase-file "$PASSFILE" | sed -n 's/.*"case": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)"`),
		}, setup: setupReviewer, before: map[string]func(*testing.T, *run){"candor sync pull": registerAndReport}},
	}
}

// setupAdmin: an empty installation in $DATA, a reviewer card alice.card (fingerprint $FP), a
// backups directory, and an editor that changes nothing.
func setupAdmin(t *testing.T, r *run) {
	r.setenv("DATA", filepath.Join(r.work, "data"))
	r.setenv("EDITOR", "true")
	r.sh(t, "setup", `candor init --data "$DATA" >/dev/null
mkdir backups
printf '%s\n' "$PASSPHRASE" > alice.pass
candor-inbox init --home alice --name "Alice Example" --passphrase-file alice.pass >/dev/null
cp alice/card.txt alice.card`)
	fp := strings.TrimSpace(r.sh(t, "fingerprint", `candor-inbox card --home alice | sed -n 's/^# fingerprint: //p'`))
	if fp == "" {
		t.Fatal("no fingerprint in the card")
	}
	r.setenv("FP", fp)
	r.setenv("WITNESS_KEY", witnessKey(t, "witness.example/w1")) // the name the guide uses
}

// witnessKey returns a C2SP cosignature/v1 verifier key for a new Ed25519 key named name:
// "<name>+<key ID>+<base64(0x04 || public key)>", as litewitness prints it.
func witnessKey(t *testing.T, name string) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(append([]byte(name+"\n\x04"), pub...))
	return fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
}

// setupReviewer: a server (candor serve --dev-listen, standing in for the restricted onion
// service: the test does not start tor) with no reviewer yet, the passphrase file, questions.pdf
// and the USB stick directory.
func setupReviewer(t *testing.T, r *run) {
	r.setenv("SDATA", filepath.Join(r.work, "server"))
	r.sh(t, "setup", `candor init --data "$SDATA" >/dev/null
printf '%s\n' "$PASSPHRASE" > "$PASSFILE"
printf '%%PDF-1.4 questions\n' > questions.pdf
mkdir usb`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(filepath.Join(r.bin, "candor"), "serve", "--data", filepath.Join(r.work, "server"), "--dev-listen", addr)
	cmd.Env = r.env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	r.setenv("SERVER", "http://"+addr)
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 300 {
			t.Fatalf("candor serve did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// registerAndReport stands in for the admin and a reporter before the reviewer's first pull: it
// registers the card the guide's candor-inbox init made, writes the sync token to
// ~/candor-token, and sends a report.
func registerAndReport(t *testing.T, r *run) {
	r.sh(t, "register", `candor reviewer add --data "$SDATA" ~/inbox/card.txt >/dev/null
fp=$(candor reviewer list --data "$SDATA" --json | sed -n 's/.*"fingerprint": *"\([^"]*\)".*/\1/p')
candor reviewer token --data "$SDATA" --json "$fp" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' > ~/candor-token
test -s ~/candor-token`)
	server := ""
	for _, e := range r.env {
		if v, ok := strings.CutPrefix(e, "SERVER="); ok {
			server = v
		}
	}
	body, ct := candortest.Multipart(candortest.Text("message", "The purchasing director takes bribes."),
		candortest.File("minutes.txt", []byte("minutes of the meeting")))
	resp, err := http.Post(server+"/report", ct, bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestGuideExamples runs the examples of docs/admin.md and docs/reviewer.md.
func TestGuideExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	testenv.Age(t) // the guides use the stock age CLI
	bin := filepath.Dir(candortest.Binary(t, "candor/cmd/candor", false))
	candortest.Binary(t, "candor/cmd/candor-inbox", false)
	home, _ := os.UserHomeDir()
	path := bin + string(os.PathListSeparator) + filepath.Join(home, "go", "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, g := range guides() {
		t.Run(g.path, func(t *testing.T) {
			work := t.TempDir()
			r := &run{work: work, bin: bin, env: []string{"PATH=" + path, "HOME=" + filepath.Join(work, "home"),
				"WORK=" + work, "PASSFILE=" + filepath.Join(work, "passfile"), "PASSPHRASE=" + passphrase, "LANG=C.UTF-8"}}
			if err := os.Mkdir(filepath.Join(work, "home"), 0o700); err != nil {
				t.Fatal(err)
			}
			g.setup(t, r)
			done := map[string]bool{}
			var ran, commands, parsed, other int
			var skipped []string
			for _, b := range blocks(t, g.path) {
				where := fmt.Sprintf("%s:%d", b.doc, b.line)
				if b.file != "" {
					if err := os.WriteFile(filepath.Join(work, b.file), []byte(b.text), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				switch {
				case b.skip != "":
					skipped = append(skipped, where+" ("+b.skip+")")
				case b.lang == "json":
					if !json.Valid([]byte(b.text)) {
						t.Errorf("%s: the JSON example does not parse:\n%s", where, b.text)
					}
					parsed++
				case b.lang == "sh" || b.lang == "console":
					for key, hook := range g.before {
						if !done[key] && strings.Contains(b.text, key) {
							done[key] = true
							hook(t, r)
						}
					}
					s := script(b, g.subs)
					if bad := unsafeRE.FindString(s); bad != "" {
						t.Fatalf("%s: the example uses %q, which reaches outside the test's directory or "+
							"starts a daemon: mark it <!-- docs-test: skip (REASON) -->", where, bad)
					}
					r.sh(t, where, s)
					ran++
					commands += strings.Count(strings.TrimSpace(s), "\n") + 1
				default:
					other++
				}
			}
			if ran == 0 {
				t.Fatalf("%s: no example ran", g.path)
			}
			t.Logf("%s: ran %d blocks (%d lines), parsed %d JSON blocks, %d output/reference blocks not run, skipped %d:",
				g.path, ran, commands, parsed, other, len(skipped))
			for _, s := range skipped {
				t.Logf("  skipped %s", s)
			}
		})
	}
}
