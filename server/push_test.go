package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/logentry"
	"candor/server/store"
)

// pusher pushes outboxes as one of the env's reviewers.
type pusher struct {
	e     *env
	r     testReviewer
	token string
	seq   uint64
}

func (e *env) pusher(i int) *pusher {
	e.t.Helper()
	p := &pusher{e: e, r: e.reviewers[i], token: "push-token-" + e.reviewers[i].fp}
	_, err := e.st.UpdateReviewer(p.r.fp, func(r *store.Reviewer) error {
		r.TokenHash = sha256.Sum256([]byte(p.token))
		return nil
	}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// outboxFrame returns the outbox frame of a signed envelope encoding.
func outboxFrame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// signed returns the encoding of the next envelope.
func (p *pusher) signed(kind envelope.Kind, id store.CaseID, size int) []byte {
	p.e.t.Helper()
	p.seq++
	env := &envelope.Envelope{Kind: kind, Reviewer: p.r.fp, Seq: p.seq, Case: id, Day: day.FromTime(p.e.clock.t)}
	switch kind {
	case envelope.KindReply:
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, p.r.id.Recipient())
		if err != nil {
			p.e.t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("r"), size))
		w.Close()
		env.Body = buf.Bytes()
	case envelope.KindStatus:
		env.Status = envelope.StatusInReview
	}
	if err := envelope.Sign(env, p.r.sk); err != nil {
		p.e.t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		p.e.t.Fatal(err)
	}
	return b
}

func outboxHead(n int) []byte {
	return binary.BigEndian.AppendUint32([]byte("candor-outbox/v1\n"), uint32(n))
}

func (p *pusher) post(body io.Reader) (int, string) {
	p.e.t.Helper()
	req, _ := http.NewRequest("POST", p.e.url+"/api/v1/push", body)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := p.e.client().Do(req)
	if err != nil {
		p.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPushAppliedWhole: an outbox of replies and status changes is applied in one go.
func TestPushAppliedWhole(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.submitCase("general", "a").c
	p := e.pusher(0)
	body := outboxHead(3)
	body = append(body, outboxFrame(p.signed(envelope.KindReply, a.ID, 200<<10))...)
	body = append(body, outboxFrame(p.signed(envelope.KindStatus, a.ID, 0))...)
	body = append(body, outboxFrame(p.signed(envelope.KindReply, a.ID, 10))...)
	if status, page := p.post(bytes.NewReader(body)); status != 200 || !strings.Contains(page, `"accepted":3`) {
		t.Fatalf("push: %d %s", status, page)
	}
	c, _ := e.st.Case(a.ID)
	if len(c.Messages) != 3 || c.Status != envelope.StatusInReview {
		t.Errorf("case after the push: %d messages, status %s", len(c.Messages), c.Status)
	}
	if n := e.counts().Pending; n != 0 {
		t.Errorf("%d pending blobs after a push", n)
	}
}

// TestPushFailsWhole: an outbox whose last step fails after earlier envelopes were read, checked
// and staged — here the case of the first envelope is deleted (and logged) while the outbox is
// still arriving, so applying it fails inside the transaction — leaves nothing: no reply, no
// status change, no sequence number used, no pending blob.
func TestPushFailsWhole(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.submitCase("general", "a").c
	b := e.submitCase("general", "b").c
	p := e.pusher(0)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { st, _ := p.post(pr); done <- st }()
	pw.Write(outboxHead(3))
	pw.Write(outboxFrame(p.signed(envelope.KindReply, a.ID, 300<<10)))
	pw.Write(outboxFrame(p.signed(envelope.KindStatus, b.ID, 0)))
	waitFor(t, func() bool {
		select {
		case st := <-done:
			t.Fatalf("push ended early: %d", st)
		default:
		}
		return e.counts().Pending == 1
	}) // the reply is staged
	de, _ := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(e.clock.t), Case: a.ID, Actor: "server"}).Marshal()
	if _, err := e.st.DeleteCase(a.ID, [][]byte{de}); err != nil {
		t.Fatal(err)
	}
	before := e.counts()
	before.Pending, before.Blobs = 0, before.Blobs-1
	rev, _ := e.st.Reviewer(p.r.fp)
	pw.Write(outboxFrame(p.signed(envelope.KindReply, b.ID, 10)))
	pw.Close()
	if st := <-done; st < 400 {
		t.Fatalf("push with a failing step: status %d", st)
	}
	waitFor(t, func() bool { return e.counts().Pending == 0 })
	after := e.counts()
	if after.Cases != before.Cases || after.LogSize != before.LogSize || after.FeedHead != before.FeedHead || after.Pending != 0 {
		t.Errorf("store changed by a failed push: %+v → %+v", before, after)
	}
	cb, _ := e.st.Case(b.ID)
	if len(cb.Messages) != 1 || cb.Status == envelope.StatusInReview {
		t.Errorf("case b changed: %d messages, status %s", len(cb.Messages), cb.Status)
	}
	if r, _ := e.st.Reviewer(p.r.fp); r.Seq != rev.Seq {
		t.Errorf("sequence number moved from %d to %d", rev.Seq, r.Seq)
	}
}

// TestPushSlots: at most maxPushes pushes run at once; the next waits for a slot, then runs.
func TestPushSlots(t *testing.T) {
	e := newEnv(t, envOptions{})
	for range maxPushes {
		e.srv.pushes <- struct{}{}
	}
	p := e.pusher(0)
	done := make(chan int, 1)
	go func() { st, _ := p.post(bytes.NewReader(outboxHead(0))); done <- st }()
	select {
	case st := <-done:
		t.Fatalf("a push ran while every slot was taken: %d", st)
	case <-time.After(300 * time.Millisecond):
	}
	<-e.srv.pushes
	if st := <-done; st != 200 {
		t.Fatalf("push after a slot freed: %d", st)
	}
	for range maxPushes - 1 {
		<-e.srv.pushes
	}
}
