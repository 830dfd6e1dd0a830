package e2e

// The accountability attacks of DESIGN §7 (issue 12), each run as the admin would: with write
// access to the real store file (bbolt edits, an older copy put back, a second copy served to some
// reviewers), the server's keys, and no code change. The servers run in-process (server/synctest)
// on real store files; the witness is the real litewitness; the reviewers are real inboxes.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/admin"
	"candor/candortest"
	"candor/crypto"
	"candor/inbox"
	"candor/installation"
	"candor/internal/bundle"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/internal/testenv"
	"candor/server/store"
	"candor/server/synctest"
)

const attackPass = "correct horse battery staple"

// site is one installation served in-process, with its witness client.
type site struct {
	t   testing.TB
	dir string
	srv *synctest.Server
	wc  *admin.WitnessClient
}

func newSite(t testing.TB, dir string) *site {
	t.Helper()
	s := &site{t: t, dir: dir}
	s.start()
	t.Cleanup(func() {
		if s.srv != nil {
			s.srv.Close()
		}
	})
	return s
}

func (s *site) start() {
	s.t.Helper()
	srv, err := synctest.Start(s.dir, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv, s.wc = srv, srv.Witness()
}

// stop closes the server and its store file (so that it can be copied or edited).
func (s *site) stop() {
	s.t.Helper()
	if err := s.srv.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.srv = nil
}

func (s *site) storePath() string { return filepath.Join(s.dir, installation.StoreFile) }

// edit stops the server, runs fn on the store file with bbolt (the admin's editor), and starts
// the server again.
func (s *site) edit(fn func(tx *bolt.Tx) error) {
	s.t.Helper()
	s.stop()
	db, err := bolt.Open(s.storePath(), 0o600, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		s.t.Fatal(err)
	}
	db.Close()
	s.start()
}

// copyStore stops the server, copies its store file to dst (a directory) and starts it again.
func (s *site) copyStore(dst string) {
	s.t.Helper()
	s.stop()
	copyFile(s.t, s.storePath(), filepath.Join(dst, installation.StoreFile))
	s.start()
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// witnessed registers the site's log with lw and configures lw as its witness.
func (s *site) witnessed(lw *testenv.Litewitness) {
	s.t.Helper()
	k, err := installation.LoadKeys(s.srv.Store)
	if err != nil {
		s.t.Fatal(err)
	}
	lw.AddLog(s.t, k.Origin, k.Log.Ed25519VerifierKey())
	if err := installation.AddWitness(s.srv.Store, installation.Witness{URL: lw.URL, Key: lw.VKey}, day.FromTime(time.Now())); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) cosign() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.wc.Cosign(ctx)
}

func (s *site) report(text string, reviewers ...string) string {
	s.t.Helper()
	code, err := s.srv.Submit(text, reviewers)
	if err != nil {
		s.t.Fatal(err)
	}
	return code
}

// alarms returns the site's alarms as candor status prints them.
func (s *site) alarms() []string {
	s.t.Helper()
	st, err := s.admin().Status()
	if err != nil {
		s.t.Fatal(err)
	}
	return st.Alarms
}

func (s *site) admin() *admin.Admin {
	s.t.Helper()
	a, err := admin.New(admin.Config{Store: s.srv.Store})
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// reviewerInbox is a reviewer's offline inbox registered at a site.
type reviewerInbox struct {
	t     testing.TB
	in    *inbox.Inbox
	fp    string
	token string
	dir   string
	id    *age.HybridIdentity
}

func newReviewerInbox(t testing.TB, s *site, name string) *reviewerInbox {
	t.Helper()
	dir := t.TempDir()
	cfg := inbox.Config{Home: filepath.Join(dir, "inbox"), WorkFactor: 10,
		Passphrase: func() ([]byte, error) { return []byte(attackPass), nil }}
	card, err := inbox.Init(cfg, name, []byte(attackPass))
	if err != nil {
		t.Fatal(err)
	}
	fp, token, err := s.srv.AddReviewer(card.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	in, err := inbox.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	if err := in.TrustServer(s.srv.ServerKey()); err != nil {
		t.Fatal(err)
	}
	r := &reviewerInbox{t: t, in: in, fp: fp, token: token, dir: dir}
	if r.id, err = in.Identity(); err != nil {
		t.Fatal(err)
	}
	return r
}

// pull downloads the reviewer's bundle from s into a new file.
func (r *reviewerInbox) pull(s *site) string {
	r.t.Helper()
	f, err := os.CreateTemp(r.dir, "bundle-*")
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if err := s.srv.Pull(r.token, "", f); err != nil {
		r.t.Fatal(err)
	}
	return f.Name()
}

func (r *reviewerInbox) importOK(path string) *inbox.ImportResult {
	r.t.Helper()
	res, err := r.in.Import(path)
	if err != nil {
		r.t.Fatalf("import: %v", err)
	}
	return res
}

func (r *reviewerInbox) list() []inbox.CaseInfo {
	r.t.Helper()
	cs, err := r.in.List()
	if err != nil {
		r.t.Fatal(err)
	}
	return cs
}

// editOnlyCase rewrites the record of the only case in the store with fn, framed as the store
// frames records (a version byte, the JSON, a CRC-32C): what an admin with a bbolt editor does.
func editOnlyCase(fn func(rec map[string]any)) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("cases"))
		k, v := b.Cursor().First()
		var rec map[string]any
		if err := json.Unmarshal(v[1:len(v)-4], &rec); err != nil {
			return err
		}
		fn(rec)
		js, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		nv := append([]byte{v[0]}, js...)
		nv = binary.BigEndian.AppendUint32(nv, crc32.Checksum(nv, crc32.MakeTable(crc32.Castagnoli)))
		return b.Put(slices.Clone(k), nv)
	}
}

// TestAttackRecipientSwap: the admin edits a case record so that the reporter recipient is the
// admin's own key and an excluded reviewer is on the case (no log entry). The reporter's next
// message is not sealed to the swapped set (the server refuses it), the included reviewer's import
// refuses the record, and the reply that reviewer writes is sealed to the committed set only: the
// admin's key and the excluded reviewer's open neither.
func TestAttackRecipientSwap(t *testing.T) {
	s := newSite(t, filepath.Join(t.TempDir(), "srv"))
	alice, carol := newReviewerInbox(t, s, "Alice"), newReviewerInbox(t, s, "Carol")
	code := s.report("the report, for Alice only", alice.fp)
	alice.importOK(alice.pull(s))
	adminID, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	s.edit(editOnlyCase(func(rec map[string]any) {
		rec["reporter_recipient"] = adminID.Recipient().String()
		rec["reviewers"] = []string{alice.fp, carol.fp}
	}))
	cs := onlyCase(t, s)
	// The reporter's follow-up: refused, nothing sealed to Carol.
	if status, err := s.srv.FollowUp(code, "a follow-up Carol must not read"); err == nil && status < 400 {
		t.Fatalf("a follow-up to the swapped recipients was accepted (status %d)", status)
	}
	if after := onlyCase(t, s); len(after.Messages) != len(cs.Messages) {
		t.Fatalf("a message was stored for the swapped recipients")
	}
	// Alice's import refuses the swapped record.
	_, err = alice.in.Import(alice.pull(s))
	if !errors.Is(err, inbox.ErrRecipients) {
		t.Fatalf("import of the swapped record: got %v, want ErrRecipients", err)
	}
	// Alice replies from her verified record: the admin and Carol cannot open the reply.
	caseID := alice.list()[0].Case
	if err := alice.in.Reply(caseID, "a reply for the reporter", nil); err != nil {
		t.Fatal(err)
	}
	box := outbox(t, alice)
	body := replyBody(t, box)
	for name, id := range map[string]age.Identity{"the admin": adminID, "Carol": carol.id} {
		if _, err := age.Decrypt(bytes.NewReader(body), id); err == nil {
			t.Errorf("%s decrypted the reply", name)
		}
	}
	if _, err := age.Decrypt(bytes.NewReader(body), alice.id); err != nil {
		t.Errorf("Alice cannot decrypt her own reply: %v", err)
	}
	// The server refuses to log entries of the altered case (the push).
	if n, err := s.srv.Push(alice.token, bytes.NewReader(box)); err == nil {
		t.Errorf("the push to the altered case was accepted (%d envelopes)", n)
	}
	// The admin also appends a share entry committing to the swapped set (with its salt), as if a
	// reviewer had shared the case: without a reviewer's signed share it changes nothing.
	s.stop()
	st, err := store.Open(s.storePath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	salt := [32]byte{7}
	forged := leaf.RecipientSet{Reporter: adminID.Recipient().String(), Reviewers: []string{alice.fp, carol.fp}}
	commitment, err := forged.Commit(&salt)
	if err != nil {
		t.Fatal(err)
	}
	share, _ := (&logentry.Entry{Type: logentry.CaseShared, Day: cs.Received, Case: cs.ID, Actor: alice.fp,
		Subject: commitment, Value: carol.fp}).Marshal()
	if _, err := st.UpdateCase(cs.ID, func(c *store.Case) error { c.Salt = salt; return nil }, [][]byte{share}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s.start()
	if status, err := s.srv.FollowUp(code, "another follow-up Carol must not read"); err == nil && status < 400 {
		t.Fatalf("a follow-up to the swapped recipients was accepted after a forged share entry (status %d)", status)
	}
	if _, err := alice.in.Import(alice.pull(s)); !errors.Is(err, inbox.ErrRecipients) {
		t.Fatalf("import after a forged share entry: got %v, want ErrRecipients", err)
	}
}

func onlyCase(t testing.TB, s *site) *store.Case {
	t.Helper()
	var out []*store.Case
	s.srv.Store.Cases(func(c *store.Case) error { out = append(out, c); return nil })
	if len(out) != 1 {
		t.Fatalf("%d cases, want 1", len(out))
	}
	return out[0]
}

// outbox writes the reviewer's outbox and returns it.
func outbox(t testing.TB, r *reviewerInbox) []byte {
	t.Helper()
	p := filepath.Join(r.dir, "outbox")
	os.Remove(p)
	if _, err := r.in.Outbox(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replyBody returns the age file of the reply envelope in the outbox box.
func replyBody(t testing.TB, box []byte) []byte {
	t.Helper()
	envs, err := envelope.ReadOutbox(bytes.NewReader(box), 100, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if e.Kind == envelope.KindReply {
			return e.Body
		}
	}
	t.Fatal("no reply in the outbox")
	return nil
}

// TestAttackRollbackBeforeSync: a reviewer syncs; a report arrives and is witnessed; the admin
// puts the older store file back before the reviewer's next sync. The witness refuses the older
// log: the server raises an alarm (status, health), keeps raising it even when the alarm is
// deleted from the store, and the reviewer's inbox refuses the next bundle, naming the rollback.
func TestAttackRollbackBeforeSync(t *testing.T) {
	lw := testenv.StartLitewitness(t)
	s := newSite(t, filepath.Join(t.TempDir(), "srv"))
	alice := newReviewerInbox(t, s, "Alice")
	s.witnessed(lw)
	if _, err := alice.in.AddWitness(lw.VKey, 0); err != nil {
		t.Fatal(err)
	}
	s.report("first report")
	s.cosign()
	first := alice.importOK(alice.pull(s))
	if !slices.Contains(first.Witnesses, lw.Name) {
		t.Fatalf("the first bundle was not cosigned by the witness: %v", first.Witnesses)
	}
	old := t.TempDir()
	s.copyStore(old)
	s.report("second report: the one the rollback removes")
	s.cosign()
	if a := s.alarms(); len(a) != 0 {
		t.Fatalf("alarms before the rollback: %v", a)
	}
	s.stop()
	copyFile(t, filepath.Join(old, installation.StoreFile), s.storePath())
	s.start()
	s.cosign()
	alarms := s.alarms()
	if len(alarms) == 0 || !strings.Contains(alarms[0], "ROLLBACK") {
		t.Fatalf("no rollback alarm after the older store was put back: %v", alarms)
	}
	// Deleting the alarm from the store does not hide the rollback: the witness refuses again.
	if err := s.srv.Store.PutMeta(installation.MetaWitnessState, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	s.cosign()
	if len(s.alarms()) == 0 {
		t.Fatal("the alarm did not come back")
	}
	_, err := alice.in.Import(alice.pull(s))
	if !errors.Is(err, inbox.ErrRollback) || !strings.Contains(strings.ToLower(err.Error()), "rollback") {
		t.Fatalf("import after the rollback: got %v, want ErrRollback naming the rollback", err)
	}
}

// TestAttackForkShownToTwoReviewers: the admin keeps a copy of the store and serves it to one
// reviewer while the other uses the original; each copy receives another report. The witness
// cosigns the first history it sees and refuses the other: that server raises a fork alarm and
// its reviewer's inbox refuses the bundle, naming the fork; the other reviewer imports.
func TestAttackForkShownToTwoReviewers(t *testing.T) {
	lw := testenv.StartLitewitness(t)
	s := newSite(t, filepath.Join(t.TempDir(), "srv"))
	alice, bob := newReviewerInbox(t, s, "Alice"), newReviewerInbox(t, s, "Bob")
	s.witnessed(lw)
	for _, r := range []*reviewerInbox{alice, bob} {
		if _, err := r.in.AddWitness(lw.VKey, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.report("a report both see")
	s.cosign()
	alice.importOK(alice.pull(s))
	bob.importOK(bob.pull(s))
	forkDir := filepath.Join(t.TempDir(), "fork")
	s.copyStore(forkDir)
	fork := newSite(t, forkDir)
	s.report("history one")
	fork.report("history two")
	s.cosign()
	fork.cosign()
	if a := s.alarms(); len(a) != 0 {
		t.Fatalf("the witness refused the first history: %v", a)
	}
	alarms := fork.alarms()
	if len(alarms) == 0 || !strings.Contains(alarms[0], "FORK") {
		t.Fatalf("no fork alarm on the second history: %v", alarms)
	}
	alice.importOK(alice.pull(s))
	_, err := bob.in.Import(bob.pull(fork))
	if !errors.Is(err, inbox.ErrFork) || !strings.Contains(err.Error(), "fork") {
		t.Fatalf("Bob's import of the forked history: got %v, want ErrFork naming the fork", err)
	}
}

// TestLegitimateRestore: the admin restores a backup after reports the backup lacks were
// witnessed. The restore starts a new log epoch whose record names what was lost; the reviewer's
// inbox imports it, shows the loss (the import's Restore and the lost events of the cases), and
// keeps importing afterwards.
func TestLegitimateRestore(t *testing.T) {
	lw := testenv.StartLitewitness(t)
	dir := filepath.Join(t.TempDir(), "srv")
	s := newSite(t, dir)
	alice := newReviewerInbox(t, s, "Alice")
	s.witnessed(lw)
	if _, err := alice.in.AddWitness(lw.VKey, 0); err != nil {
		t.Fatal(err)
	}
	s.report("a report the backup holds")
	s.cosign()
	alice.importOK(alice.pull(s))
	backupID, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if _, err := s.admin().Backup(&backup, []string{backupID.Recipient().String()}); err != nil {
		t.Fatal(err)
	}
	s.report("a report the restore loses")
	s.cosign()
	alice.importOK(alice.pull(s))
	lostCase := newestCase(t, alice)
	s.stop()
	info, err := admin.Restore(dir, &backup, admin.RestoreOptions{Identities: []age.Identity{backupID}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.Epoch.Epoch != 2 || info.Epoch.Lost < 1 || info.Epoch.Witnessed <= info.Epoch.Restored {
		t.Fatalf("restore: %+v, want epoch 2 with lost witnessed entries", info.Epoch)
	}
	lw.AddLog(t, info.Epoch.Origin, info.Epoch.LogKey)
	s.start()
	s.cosign()
	if a := s.alarms(); len(a) != 0 {
		t.Fatalf("alarms after a legitimate restore: %v", a)
	}
	res := alice.importOK(alice.pull(s))
	r := res.Restore
	if r == nil || r.Epoch != 2 || r.Lost < 1 || !slices.Contains(r.Cases, lostCase) {
		t.Fatalf("the import does not show the restore's loss: %+v", r)
	}
	for _, c := range alice.list() {
		if (c.Case == lostCase) != (c.Lost > 0) {
			t.Errorf("case %s: %d lost events", c.Case, c.Lost)
		}
	}
	// Reviewers are not refused after a restore: the next report imports.
	s.report("a report after the restore")
	s.cosign()
	if res := alice.importOK(alice.pull(s)); res.Restore != nil || res.Origin != info.Epoch.Origin {
		t.Fatalf("import after the restore: %+v", res)
	}
}

// newestCase returns the ID of the case whose CaseCreated entry is the latest in the inbox.
func newestCase(t testing.TB, r *reviewerInbox) string {
	t.Helper()
	var id string
	var last int64 = -1
	for _, c := range r.list() {
		for _, e := range c.Events {
			if e.Type == "case-created" && e.Index > last {
				id, last = c.Case, e.Index
			}
		}
	}
	return id
}

// chunkWriter keeps every write of a bundle.Writer apart: the magic, each record, and each blob
// payload write.
type chunkWriter struct{ chunks [][]byte }

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.chunks = append(c.chunks, bytes.Clone(p))
	return len(p), nil
}

// rewriteBundle re-writes the bundle at path with fn applied to its records and drops the records
// of the types in drop, byte for byte as a hostile server would (the format's writer refuses to
// leave out a mandatory record), then signs it with the server's key.
func rewriteBundle(t testing.TB, s *site, path string, fn func([]bundle.Record), drop ...bundle.RecordType) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bundle.NewReader(bytes.NewReader(b))
	var recs []bundle.Record
	var payloads [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var p []byte
		if _, ok := rec.(*bundle.Blob); ok {
			p, _ = io.ReadAll(r)
		}
		recs, payloads = append(recs, rec), append(payloads, p)
	}
	fn(recs)
	skb, _ := s.srv.Store.Meta(installation.MetaSigningKey)
	sk, err := crypto.ParseSigningKey(skb)
	if err != nil {
		t.Fatal(err)
	}
	var cw chunkWriter
	w := bundle.NewWriter(&cw)
	var keep [][]byte
	for i, rec := range recs {
		n := len(cw.chunks)
		if err := writeRecord(w, rec, payloads[i]); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(drop, rec.Type()) {
			keep = append(keep, cw.chunks[n:]...)
		}
	}
	body := bytes.Join(keep, nil)
	sum := sha256.Sum256(body)
	sig, err := sk.Sign(bundle.SignatureContext, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	end := append(sum[:], sig...)
	body = append(append(body, byte(bundle.TypeEnd)), binary.AppendUvarint(nil, uint64(len(end)))...)
	f, err := os.CreateTemp(filepath.Dir(path), "rewritten-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(body, end...)); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func writeRecord(w *bundle.Writer, rec bundle.Record, payload []byte) error {
	return candortest.CopyRecord(w, rec, bytes.NewReader(payload))
}

// TestAttackOmission: bundles re-signed with the server's key that leave out the case index, or
// send a leaf addressed to the reviewer without its content, are refused and nothing of them is
// imported; the genuine bundle then imports.
func TestAttackOmission(t *testing.T) {
	s := newSite(t, filepath.Join(t.TempDir(), "srv"))
	alice := newReviewerInbox(t, s, "Alice")
	s.report("a report")
	genuine := alice.pull(s)
	noop := func([]bundle.Record) {}
	withhold := func(recs []bundle.Record) {
		for _, rec := range recs {
			if l, ok := rec.(*bundle.LeafList); ok {
				for i := range l.Leaves {
					if l.Leaves[i].Rest != nil && l.Leaves[i].Scope == leaf.Addressed {
						l.Leaves[i].Rest = nil
						return
					}
				}
			}
		}
		t.Fatal("no leaf addressed to the reviewer")
	}
	tests := []struct {
		name   string
		bundle string
		want   error
		words  string
	}{
		{"case index omitted", rewriteBundle(t, s, genuine, noop, bundle.TypeCaseIndex), bundle.ErrMalformed, "case index"},
		{"leaf withheld", rewriteBundle(t, s, genuine, withhold), inbox.ErrWithheld, "withheld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alice.in.Import(tt.bundle)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.words) {
				t.Fatalf("got %v, want %v naming %q", err, tt.want, tt.words)
			}
			if len(alice.list()) != 0 {
				t.Fatal("a refused bundle changed the inbox")
			}
		})
	}
	alice.importOK(genuine)
	if len(alice.list()) != 1 {
		t.Fatal("the genuine bundle did not import")
	}
}

// TestAttackOlderBundleReimported: after a newer bundle moved a case's status on, the older
// genuine bundle is refused as older (ErrOldBundle) and changes nothing: no status rollback.
func TestAttackOlderBundleReimported(t *testing.T) {
	s := newSite(t, filepath.Join(t.TempDir(), "srv"))
	alice := newReviewerInbox(t, s, "Alice")
	s.report("a report")
	older := alice.pull(s)
	alice.importOK(older)
	caseID := alice.list()[0].Case
	if err := alice.in.SetStatus(caseID, envelope.StatusInReview); err != nil {
		t.Fatal(err)
	}
	if _, err := s.srv.Push(alice.token, bytes.NewReader(outbox(t, alice))); err != nil {
		t.Fatal(err)
	}
	alice.importOK(alice.pull(s))
	if st := alice.list()[0].Status; st != envelope.StatusInReview {
		t.Fatalf("status %q after the newer bundle", st)
	}
	_, err := alice.in.Import(older)
	if !errors.Is(err, inbox.ErrOldBundle) {
		t.Fatalf("re-import of the older bundle: got %v, want ErrOldBundle", err)
	}
	if st := alice.list()[0].Status; st != envelope.StatusInReview {
		t.Fatalf("the older bundle rolled the status back to %q", st)
	}
}
