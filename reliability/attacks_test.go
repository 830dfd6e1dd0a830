package reliability

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"candor/candortest"
	"candor/crypto"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/logentry"
	"candor/internal/torcircuit"
	"candor/server"
	"candor/server/store"
)

// The attack cases of the hostile corpus (testdata/hostile/attack-*.json): each names an attack on
// availability or deniability found in issues 13 and 17 and its parameters, at a scale that runs in
// seconds; TestHostileAttacks replays each against an in-process server and checks that it fails —
// the honest request it tries to block succeeds, and it learns or leaves nothing.
type attack struct {
	Attack string `json:"attack"`
	// Scale of the attack.
	Connections int `json:"connections,omitempty"`
	Clients     int `json:"clients,omitempty"`
	Logins      int `json:"logins,omitempty"`
	Seconds     int `json:"seconds,omitempty"`
	// Limits the server runs with (0: defaults).
	MaxSessions  int `json:"max_sessions,omitempty"`
	GraceSeconds int `json:"grace_seconds,omitempty"`
}

// hostileAttacks returns the attack files (TestWriteHostileCorpus writes them too).
func hostileAttacks() map[string]attack {
	return map[string]attack{
		// Slow drip: uploads trickling a byte at a time to hold every upload slot.
		"slow-drip": {Attack: "slow-drip", Connections: 30, GraceSeconds: 2},
		// KDF starvation: a login flood to make finished uploads fail at their receipt derivation.
		"kdf-starvation": {Attack: "login-flood", Clients: 12, Seconds: 4},
		// One code fills every session: many logins with the flooder's own code.
		"session-fill": {Attack: "session-fill", Logins: 40, MaxSessions: 8},
		// Push buffering / half-applied push: valid replies followed by a forged envelope.
		"push-forged-tail": {Attack: "push-forged-tail"},
		// A flood of well-formed reports from one Tor circuit.
		"circuit-report-flood": {Attack: "circuit-flood"},
		// Probing whether a code ever belonged to a (since deleted) report.
		"deleted-code-probe": {Attack: "deleted-code"},
	}
}

// attackEnv is an in-process server for one attack: its store, address, reviewer, and whether its
// listener reads tor's PROXY header (circuits).
type attackEnv struct {
	st   *store.Store
	url  string
	addr string
	rev  reviewer
}

func newAttackEnv(t *testing.T, limits server.Limits, circuits bool) *attackEnv {
	t.Helper()
	st, err := installation.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &attackEnv{st: st, rev: newReviewer(t)}
	if err := installation.Init(st, installation.InitOptions{Reviewers: [][]byte{e.rev.Card.Marshal()}, KDF: cheapKDF}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, Limits: limits, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.addr = candortest.ServeInProcess(t, func(ctx context.Context, ln net.Listener) error {
		if circuits {
			ln = torcircuit.NewListener(ln, 0)
		}
		return srv.Serve(ctx, ln, nil)
	})
	e.url = "http://" + e.addr
	return e
}

// circuitHTTP is a client whose connections come "from tor" on circuit id.
func circuitHTTP(id uint32) *http.Client {
	var d net.Dialer
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		c, err := d.DialContext(ctx, n, a)
		if err == nil {
			_, err = c.Write(torcircuit.Format(torcircuit.Header{Circuit: id, VirtualPort: 80}))
		}
		return c, err
	}}}
}

func TestHostileAttacks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "attack-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(hostileAttacks()) {
		t.Fatalf("%d attack files in testdata/hostile, want %d", len(files), len(hostileAttacks()))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var a attack
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				t.Fatal(err)
			}
			run, ok := map[string]func(*testing.T, attack){
				"slow-drip": attackSlowDrip, "login-flood": attackLoginFlood, "session-fill": attackSessionFill,
				"push-forged-tail": attackPushForgedTail, "circuit-flood": attackCircuitFlood,
				"deleted-code": attackDeletedCode,
			}[a.Attack]
			if !ok {
				t.Fatalf("unknown attack %q", a.Attack)
			}
			run(t, a)
		})
	}
}

func attackSlowDrip(t *testing.T, a attack) {
	grace := time.Duration(a.GraceSeconds) * time.Second
	e := newAttackEnv(t, server.Limits{UploadGrace: grace, UploadMemory: int64(a.Connections) << 20}, false)
	body, ct := reportBody("drip", "d.bin", payload(1, 1<<20))
	heads := [2]string{ // declared length, and chunked (see TestSlowDripDoesNotStarve)
		fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(body)),
		fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", ct),
	}
	statuses := make(chan int, a.Connections)
	for n := range a.Connections {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		chunked := n%2 == 1
		c.Write([]byte(heads[n%2]))
		go func() {
			stop := make(chan struct{})
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
					}
					if chunked {
						c.Write([]byte("1\r\n" + string(body[i]) + "\r\n"))
					} else {
						c.Write(body[i : i+1])
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(grace + 20*time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			close(stop)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// The drips hold all the upload memory (1 MiB each) until the floor ends them; the honest report
	// waits for memory (up to UploadWait) and is then accepted.
	status, code, _, err := report(e.url, "honest", "h.bin", payload(2, 256<<10))
	if err != nil || status != http.StatusOK || code == "" {
		t.Errorf("honest report during the drip: status %d, %v", status, err)
	}
	for range a.Connections {
		if st := <-statuses; st != http.StatusBadRequest {
			t.Errorf("a drip ended with %d, want 400 (upload interrupted)", st)
		}
	}
}

func attackLoginFlood(t *testing.T, a attack) {
	e := newAttackEnv(t, server.Limits{}, false)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range a.Clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, _ := crypto.NewReceipt(crand.Reader)
				login(e.url, r.String())
			}
		})
	}
	end := time.Now().Add(time.Duration(a.Seconds) * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		status, code, _, err := report(e.url, fmt.Sprint("report ", i), "r.bin", payload(i, 4<<10))
		if err != nil || status != http.StatusOK || code == "" {
			t.Errorf("report %d during the login flood: status %d, %v", i, status, err)
		}
	}
	close(stop)
	wg.Wait()
}

func attackSessionFill(t *testing.T, a attack) {
	e := newAttackEnv(t, server.Limits{MaxSessions: a.MaxSessions}, false)
	_, mine, _, _ := report(e.url, "mine", "m.txt", []byte("m"))
	_, other, _, _ := report(e.url, "other", "o.txt", []byte("o"))
	for i := range a.Logins {
		if st, _, err := login(e.url, mine); err != nil || st != http.StatusSeeOther {
			t.Fatalf("login %d with one code: %d %v", i+1, st, err)
		}
	}
	if st, _, err := login(e.url, other); err != nil || st != http.StatusSeeOther {
		t.Errorf("another reporter after %d logins with one code: %d %v", a.Logins, st, err)
	}
}

func attackPushForgedTail(t *testing.T, a attack) {
	e := newAttackEnv(t, server.Limits{}, false)
	report(e.url, "case", "c.txt", []byte("c"))
	var id store.CaseID
	e.st.Cases(func(c *store.Case) error { id = c.ID; return nil })
	token := "attack-token"
	e.st.UpdateReviewer(e.rev.FP, func(r *store.Reviewer) error { r.TokenHash = sha256.Sum256([]byte(token)); return nil }, nil)
	before := stateOf(t, e.st)
	forger := newReviewer(t) // signs with a key that is not the reviewer's
	ob := binary.BigEndian.AppendUint32([]byte("candor-outbox/v1\n"), 3)
	for i, k := range []*crypto.SigningKey{e.rev.Key, e.rev.Key, forger.Key} {
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, e.rev.ID.Recipient())
		w.Write(payload(i, 512<<10))
		w.Close()
		env := &envelope.Envelope{Kind: envelope.KindReply, Reviewer: e.rev.FP, Seq: uint64(i + 1), Case: id,
			Day: day.FromTime(time.Now()), Body: buf.Bytes()}
		envelope.Sign(env, k)
		b, _ := env.Marshal()
		ob = append(append(ob, binary.BigEndian.AppendUint32(nil, uint32(len(b)))...), b...)
	}
	hostilePush(t, e.url, token, ob)
	if after := stateOf(t, e.st); !reflect.DeepEqual(after, before) {
		t.Errorf("a push with a forged last envelope changed the store: %+v → %+v", before, after)
	}
}

func attackCircuitFlood(t *testing.T, a attack) {
	e := newAttackEnv(t, server.Limits{}, true)
	flooder, honest := circuitHTTP(66), circuitHTTP(67)
	body, ct := reportBody("flood", "f.txt", []byte("f"))
	refused := 0
	for range 6 {
		resp, err := flooder.Post(e.url+"/report", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("6 reports from one circuit: %d refused, want 3 (the budget is 3 an hour)", refused)
	}
	resp, err := honest.Post(e.url+"/report", ct, bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("a report from another circuit during the flood: %v %v", resp, err)
	}
}

func attackDeletedCode(t *testing.T, a attack) {
	e := newAttackEnv(t, server.Limits{}, false)
	_, code, _, _ := report(e.url, "to be deleted", "d.txt", []byte("d"))
	var id store.CaseID
	e.st.Cases(func(c *store.Case) error { id = c.ID; return nil })
	de, _ := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(time.Now()), Case: id, Actor: "server"}).Marshal()
	if _, err := e.st.DeleteCase(id, [][]byte{de}); err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(code)
	words[0] = map[bool]string{true: "abdomen", false: "abacus"}[words[0] == "abacus"]
	page := func(code string) (int, string) {
		resp, err := client.PostForm(e.url+"/followup", url.Values{"receipt": {code}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	s1, p1 := page(code)
	s2, p2 := page(strings.Join(words, " "))
	if s1 != s2 || p1 != p2 {
		t.Errorf("a deleted case's code (%d) and a code never issued (%d) get different answers", s1, s2)
	}
}
