package admin_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"candor/admin"
	"candor/cases"
	"candor/crypto"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/onion/onionkey"
	"candor/server"
	"candor/server/store"
)

// adminEnv is an initialised installation in a temporary data directory.
type adminEnv struct {
	dir string
	st  *store.Store
	a   *admin.Admin
}

func newAdminEnv(t testing.TB, onChange func([]string)) *adminEnv {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := installation.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := installation.Init(st, installation.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(admin.Config{Store: st, DataDir: dir, OnReviewersChanged: onChange})
	if err != nil {
		t.Fatal(err)
	}
	return &adminEnv{dir: dir, st: st, a: a}
}

// adminCard returns a new reviewer card and the reviewer's age identity.
func adminCard(t testing.TB, name string) ([]byte, *age.HybridIdentity) {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypto.NewCard(name, id.Recipient().String(), sk)
	if err != nil {
		t.Fatal(err)
	}
	return c.Marshal(), id
}

func lastEntry(t *testing.T, st *store.Store) *logentry.Entry {
	t.Helper()
	n, err := st.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.LogEntry(n - 1)
	if err != nil {
		t.Fatal(err)
	}
	e, err := logentry.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAdminReviewers(t *testing.T) {
	var notified [][]string
	e := newAdminEnv(t, func(k []string) { notified = append(notified, k) })
	card, _ := adminCard(t, "Alice Example")
	r, err := e.a.AddReviewer(card)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastEntry(t, e.st); got.Type != logentry.ReviewerAdded || got.Subject != sha256.Sum256(card) {
		t.Errorf("last entry = %v %x, want reviewer-added with the card's hash", got.Type, got.Subject)
	}
	if _, err := e.a.AddReviewer(card); !errors.Is(err, admin.ErrReviewerExists) {
		t.Errorf("duplicate: got %v, want ErrReviewerExists", err)
	}
	for _, bad := range [][]byte{nil, []byte("candor-card/v1\n"), bytes.Replace(card, []byte("Alice"), []byte("Alicf"), 1)} {
		if _, err := e.a.AddReviewer(bad); err == nil {
			t.Errorf("AddReviewer(%.20q) succeeded", bad)
		}
	}
	if _, err := e.a.RemoveReviewer("aaaa-bbbb-cccc-dddd-eeee-ffff", false); !errors.Is(err, admin.ErrUnknownReviewer) {
		t.Errorf("remove unknown: got %v, want ErrUnknownReviewer", err)
	}
	if _, err := e.a.IssueToken("aaaa-bbbb-cccc-dddd-eeee-ffff"); !errors.Is(err, admin.ErrUnknownReviewer) {
		t.Errorf("token for unknown: got %v, want ErrUnknownReviewer", err)
	}
	if _, err := e.a.RemoveReviewer(strings.ToUpper(r.Fingerprint), false); err != nil {
		t.Fatal(err)
	}
	if got := lastEntry(t, e.st); got.Type != logentry.ReviewerRemoved || got.Subject != sha256.Sum256(card) {
		t.Errorf("last entry = %v, want reviewer-removed with the card's hash", got.Type)
	}
	if rs, _ := e.a.Reviewers(); len(rs) != 0 {
		t.Errorf("after remove: %d reviewers, want 0", len(rs))
	}
	if len(notified) != 2 {
		t.Errorf("OnReviewersChanged called %d times, want 2 (add, remove)", len(notified))
	}
}

func TestAdminIssueToken(t *testing.T) {
	var keys []string
	e := newAdminEnv(t, func(k []string) { keys = k })
	card, _ := adminCard(t, "Alice Example")
	r, _ := e.a.AddReviewer(card)
	size, _ := e.st.LogSize()
	tok, err := e.a.IssueToken(r.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	// The issuance is logged, naming the reviewer by their card's hash.
	if n, _ := e.st.LogSize(); n != size+1 {
		t.Fatalf("log grew by %d entries, want 1", n-size)
	}
	b, _ := e.st.LogEntry(size)
	le, err := logentry.Parse(b)
	if err != nil || le.Type != logentry.TokenIssued || le.Subject != sha256.Sum256([]byte(card)) {
		t.Errorf("log entry %+v (%v), want token-issued for the card", le, err)
	}
	got, err := e.st.ReviewerByTokenHash(sha256.Sum256([]byte(tok.Token)))
	if err != nil || got.Fingerprint != r.Fingerprint {
		t.Fatalf("token does not find its reviewer: %v", err)
	}
	// The line is "<restricted address>:descriptor:x25519:<private>", and the private half matches
	// the public half the server keeps and hands to tor.
	_, restricted, _ := installation.OnionKeys(e.st)
	parts := strings.Split(tok.ClientAuth, ":")
	if len(parts) != 4 || parts[0]+".onion" != onionkey.AddressOfKey(restricted) || parts[1] != "descriptor" || parts[2] != "x25519" {
		t.Fatalf("client_auth = %q, want ADDR:descriptor:x25519:KEY", tok.ClientAuth)
	}
	priv, err := onionkey.Encoding.DecodeString(parts[3])
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if want := onionkey.Encoding.EncodeToString(k.PublicKey().Bytes()); len(keys) != 1 || keys[0] != want {
		t.Errorf("client auth keys = %v, want [%s]", keys, want)
	}
	// Secrets never print by accident.
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v", tok, tok)} {
		if strings.Contains(s, tok.Token) || strings.Contains(s, parts[3]) {
			t.Errorf("token printed: %q", s)
		}
	}
	// A second token revokes the first.
	tok2, _ := e.a.IssueToken(r.Fingerprint)
	if _, err := e.st.ReviewerByTokenHash(sha256.Sum256([]byte(tok.Token))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old token still valid: %v", err)
	}
	if tok2.Token == tok.Token {
		t.Error("same token twice")
	}
}

func TestAdminLoadSettings(t *testing.T) {
	e := newAdminEnv(t, nil)
	tests := []struct {
		name, file, want string
	}{
		{"syntax", "{\n  \"categories\": [\n    {\"id\": \"general\" \"name\": \"x\"}\n  ]\n}", "line 3, column 22"},
		{"no general", `{"categories": [{"id": "fraud", "name": "Fraud"}]}`, `"general" must exist`},
		{"bad kind", `{"categories": [{"id": "general", "name": "G", "fields": [{"id": "a", "label": "A", "kind": "date"}]}]}`, `field 1 ("a")`},
		{"unknown field", `{"categories": [], "colour": 1}`, `unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.a.LoadSettings([]byte(tt.file))
			if !errors.Is(err, installation.ErrSettings) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrSettings mentioning %q", err, tt.want)
			}
		})
	}
	s, err := e.a.LoadSettings([]byte(`{"categories": [{"id": "general", "name": "General"}, {"id": "hr", "name": "HR"}]}`))
	if err != nil || len(s.Categories) != 2 {
		t.Fatalf("good settings: %v", err)
	}
	if got := lastEntry(t, e.st); got.Type != logentry.SettingsChanged {
		t.Errorf("last entry = %v, want settings-changed", got.Type)
	}
}

func TestAdminStatusOverdue(t *testing.T) {
	e := newAdminEnv(t, nil)
	card, id := adminCard(t, "Alice Example")
	r, _ := e.a.AddReviewer(card)
	today := day.FromTime(time.Now())
	adminCase(t, e.st, r.Fingerprint, id.Recipient(), today.AddDays(-10), 10)      // ack overdue
	adminCase(t, e.st, r.Fingerprint, id.Recipient(), today, 10)                   // fresh
	c := adminCase(t, e.st, r.Fingerprint, id.Recipient(), today.AddDays(-10), 10) // acknowledged in time
	e.st.UpdateCase(c.ID, func(c *store.Case) error { c.Acknowledged = c.Received.AddDays(2); return nil }, nil)
	s, err := e.a.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s.Cases != 3 || s.Overdue != 1 || s.Reviewers != 1 {
		t.Errorf("status = %d cases, %d overdue, %d reviewers; want 3, 1, 1", s.Cases, s.Overdue, s.Reviewers)
	}
	if !strings.HasSuffix(s.PublicOnion, ".onion") || len(s.PublicOnion) != 62 || s.PublicOnion == s.RestrictedOnion {
		t.Errorf("onion addresses %q %q", s.PublicOnion, s.RestrictedOnion)
	}
	if s.Tor != "not running" {
		t.Errorf("tor = %q without heartbeat, want not running", s.Tor)
	}
}

// TestAdminStatusUnusualRate: today's submissions are counted, and a day far above the two weeks
// before it is reported as unusual (from the store's case days, or a running server's counts).
func TestAdminStatusUnusualRate(t *testing.T) {
	e := newAdminEnv(t, nil)
	card, id := adminCard(t, "Alice Example")
	r, _ := e.a.AddReviewer(card)
	today := day.FromTime(time.Now())
	for i := range 14 {
		adminCase(t, e.st, r.Fingerprint, id.Recipient(), today.AddDays(-1-i), 10) // one a day
	}
	for range 9 {
		adminCase(t, e.st, r.Fingerprint, id.Recipient(), today, 10)
	}
	s, err := e.a.Status()
	if err != nil || s.SubmissionsToday != 9 || s.UnusualRate {
		t.Fatalf("9 today after 1 a day: %d, unusual %v, %v; want 9, not unusual (the floor is 10)", s.SubmissionsToday, s.UnusualRate, err)
	}
	adminCase(t, e.st, r.Fingerprint, id.Recipient(), today, 10)
	if s, _ = e.a.Status(); s.SubmissionsToday != 10 || !s.UnusualRate {
		t.Errorf("10 today after 1 a day: %d, unusual %v; want 10, unusual", s.SubmissionsToday, s.UnusualRate)
	}
	// A running server's counts take precedence (they include cases deleted since).
	a, err := admin.New(admin.Config{Store: e.st, SubmissionCounts: func() map[day.Day]int { return map[day.Day]int{today: 3} }})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ = a.Status(); s.SubmissionsToday != 3 || s.UnusualRate {
		t.Errorf("with the server's counts: %d, unusual %v; want 3, not unusual", s.SubmissionsToday, s.UnusualRate)
	}
}

// adminCase stores a case with one sealed report of size bytes, as the submit handler would.
func adminCase(t testing.TB, st *store.Store, fp string, rcpt age.Recipient, received day.Day, size int) *store.Case {
	t.Helper()
	c, err := makeCase(st, fp, rcpt, received, size)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func makeCase(st *store.Store, fp string, rcpt age.Recipient, received day.Day, size int) (*store.Case, error) {
	w, err := st.NewBlob()
	if err != nil {
		return nil, err
	}
	var hdr bytes.Buffer
	sw, err := crypto.Seal(&hdr, w, []age.Recipient{rcpt})
	if err != nil {
		return nil, err
	}
	if _, err := sw.Write(bytes.Repeat([]byte{'r'}, size)); err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	w.SetHeader(hdr.Bytes())
	id, err := w.Close()
	if err != nil {
		return nil, err
	}
	var lookup [32]byte
	rand.Read(lookup[:])
	c := &store.Case{Category: installation.DefaultCategory, Received: received, Status: "received", Reviewers: []string{fp},
		Lookup: lookup, Messages: []store.Message{{Blob: id, Kind: store.KindReport, Author: store.AuthorReporter, Day: received}}}
	e, _ := (&logentry.Entry{Type: logentry.CaseCreated, Day: received, Actor: "reporter",
		Subject: cases.LookupSubject(lookup)}).Marshal()
	_, err = st.CreateCase(c, []store.BlobID{id}, [][]byte{e})
	return c, err
}

// TestBackupDuringSubmissions takes backups while goroutines keep creating cases through the store
// API, then restores each backup into a fresh directory and checks that it is a consistent store:
// restore's own verification (schema, keys, log tree) passes, every case's report decrypts with the
// reviewer's key, and the case count lies between what existed before and after the backup.
func TestBackupDuringSubmissions(t *testing.T) {
	e := newAdminEnv(t, nil)
	card, rid := adminCard(t, "Alice Example")
	r, _ := e.a.AddReviewer(card)
	bid, _ := age.GenerateHybridIdentity()
	const writers, perWriter, size = 4, 15, 300 << 10
	var wg sync.WaitGroup
	var running atomic.Int32
	started := make(chan struct{}, writers)
	for range writers {
		wg.Add(1)
		running.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			for i := 0; i < perWriter; i++ {
				if _, err := makeCase(e.st, r.Fingerprint, rid.Recipient(), day.FromTime(time.Now()), size); err != nil {
					t.Error(err)
				}
				if i == 0 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range writers {
		<-started
	}
	type snap struct {
		file          string
		before, after int
	}
	var snaps []snap
	// Back up again and again while the writers run (at least twice, whatever the scheduling).
	for i := 0; len(snaps) < 2 || (running.Load() > 0 && len(snaps) < 8); i++ {
		before, _ := e.st.Stats()
		file := filepath.Join(t.TempDir(), fmt.Sprintf("b%d.age", i))
		f, _ := os.Create(file)
		if _, err := e.a.Backup(f, []string{bid.Recipient().String()}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		after, _ := e.st.Stats()
		snaps = append(snaps, snap{file, before.Cases, after.Cases})
	}
	wg.Wait()
	for i, s := range snaps {
		f, _ := os.Open(s.file)
		dir := filepath.Join(t.TempDir(), "restored")
		info, err := admin.Restore(dir, f, admin.RestoreOptions{Identities: []age.Identity{bid}})
		f.Close()
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if info.Cases < s.before || info.Cases > s.after {
			t.Errorf("backup %d: %d cases, want between %d and %d", i, info.Cases, s.before, s.after)
		}
		checkRestored(t, dir, rid, size)
		t.Logf("backup %d: %d cases (%d before it, %d after it)", i, info.Cases, s.before, s.after)
	}
}

// checkRestored opens a restored store and decrypts every case's report.
func checkRestored(t *testing.T, dir string, id age.Identity, size int) {
	t.Helper()
	st, err := installation.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if sw := st.Swept(); sw.Blobs != 0 {
		// Pending uploads in the snapshot are swept at open: that is the consistent outcome.
		t.Logf("swept %d pending blobs of uploads in progress", sw.Blobs)
	}
	err = st.Cases(func(c *store.Case) error {
		b, err := st.OpenBlob(c.Messages[0].Blob)
		if err != nil {
			return err
		}
		pr, err := crypto.Open(b.Header, b, id)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, pr)
		if err == nil && n != int64(size) {
			err = fmt.Errorf("report of %d bytes, want %d", n, size)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(server.Config{Store: st}); err != nil {
		t.Errorf("the restored store does not start a server: %v", err)
	}
}

func TestRestoreRefusals(t *testing.T) {
	e := newAdminEnv(t, nil)
	bid, _ := age.GenerateHybridIdentity()
	var good bytes.Buffer
	if _, err := e.a.Backup(&good, []string{bid.Recipient().String()}); err != nil {
		t.Fatal(err)
	}
	other := newAdminEnv(t, nil)
	var foreign bytes.Buffer
	other.a.Backup(&foreign, []string{bid.Recipient().String()})
	other.st.Close()
	wrong, _ := age.GenerateHybridIdentity()
	flipped := bytes.Clone(good.Bytes())
	flipped[len(flipped)-100] ^= 1
	tests := []struct {
		name   string
		data   []byte
		ids    []age.Identity
		force  bool
		target string
		want   error
	}{
		{"flipped byte", flipped, []age.Identity{bid}, false, "fresh", admin.ErrBadBackup},
		{"wrong key", good.Bytes(), []age.Identity{wrong}, false, "fresh", admin.ErrBadBackup},
		{"not age", []byte("hello"), []age.Identity{bid}, false, "fresh", admin.ErrBadBackup},
		{"foreign", good.Bytes(), []age.Identity{bid}, false, "other", admin.ErrForeignBackup},
		{"own over live", foreign.Bytes(), []age.Identity{bid}, false, "other", admin.ErrLiveStore},
		{"foreign forced", good.Bytes(), []age.Identity{bid}, true, "other", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "x")
			if tt.target == "other" {
				dir = other.dir
			}
			_, err := admin.Restore(dir, bytes.NewReader(tt.data), admin.RestoreOptions{Identities: tt.ids, Force: tt.force})
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, de := range entries {
				if strings.Contains(de.Name(), ".restore-") {
					t.Errorf("temporary file %s left behind", de.Name())
				}
			}
		})
	}
	// Into an empty directory, then over it again (same installation): ErrLiveStore.
	dir := filepath.Join(t.TempDir(), "same")
	if _, err := admin.Restore(dir, bytes.NewReader(good.Bytes()), admin.RestoreOptions{Identities: []age.Identity{bid}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Restore(dir, bytes.NewReader(good.Bytes()), admin.RestoreOptions{Identities: []age.Identity{bid}}); !errors.Is(err, admin.ErrLiveStore) {
		t.Errorf("over the same installation: got %v, want ErrLiveStore", err)
	}
	if _, err := admin.Restore(e.dir, bytes.NewReader(good.Bytes()), admin.RestoreOptions{Identities: []age.Identity{bid}, Force: true}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("over a store in use: got %v, want store.ErrLocked", err)
	}
}

// TestRestoreOverDamagedStore: a store that no longer opens is replaced only with Force.
func TestRestoreOverDamagedStore(t *testing.T) {
	e := newAdminEnv(t, nil)
	bid, _ := age.GenerateHybridIdentity()
	var b bytes.Buffer
	if _, err := e.a.Backup(&b, []string{bid.Recipient().String()}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "damaged")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, installation.StoreFile), bytes.Repeat([]byte{0xff}, 8192), 0o600)
	opts := admin.RestoreOptions{Identities: []age.Identity{bid}}
	if _, err := admin.Restore(dir, bytes.NewReader(b.Bytes()), opts); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("without force: got %v, want an error suggesting --force", err)
	}
	opts.Force = true
	info, err := admin.Restore(dir, bytes.NewReader(b.Bytes()), opts)
	if err != nil || !info.Replaced {
		t.Fatalf("with force: %+v, %v", info, err)
	}
}
