package inbox

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/atomicfile"
	"candor/internal/envelope"
	"candor/internal/filename"
	"candor/internal/frame"
)

// Attachment is a file to send with a reply.
type Attachment struct {
	Name string // shown to the reporter
	Open func() (io.ReadCloser, error)
}

// FileAttachment attaches the file at path under its base name.
func FileAttachment(path string) Attachment {
	return Attachment{Name: filepath.Base(path), Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// Reply encrypts a reply (text and files, framed and padded) to the case's reporter and every
// reviewer on the case, signs it into a reply envelope and queues it for the next outbox.
// It fails with ErrNoCard if the inbox lacks the card of a reviewer on the case.
func (in *Inbox) Reply(prefix, text string, files []Attachment) error {
	return in.reply(prefix, text, files, false)
}

func (in *Inbox) reply(prefix, text string, files []Attachment, feedback bool) error {
	c, err := in.openCase(prefix)
	if err != nil {
		return err
	}
	rs, err := in.recipients(c)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if err := seal(&body, rs, text, files); err != nil {
		return err
	}
	if body.Len() > envelope.MaxBodyLen {
		return fmt.Errorf("inbox: reply of %d bytes is larger than %d bytes", body.Len(), envelope.MaxBodyLen)
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindReply, Case: caseID(c), Body: body.Bytes(), Feedback: feedback})
}

// recipients returns the reporter's recipient and those of every reviewer on the case: the set
// its verified log entries commit to (checkCommitted), never more.
func (in *Inbox) recipients(c *caseRecord) ([]age.Recipient, error) {
	if err := checkCommitted(c); err != nil {
		return nil, err
	}
	rs, err := crypto.ParseRecipients([]string{c.ReporterRecipient})
	if err != nil {
		return nil, fmt.Errorf("inbox: the case's reporter recipient: %w", err)
	}
	err = in.db.View(func(tx *bolt.Tx) error {
		for _, fp := range c.Reviewers {
			b := tx.Bucket(bucketCards).Get([]byte(fp))
			if b == nil {
				return fmt.Errorf("%w: %s", ErrNoCard, fp)
			}
			card, err := crypto.ParseCard(b)
			if err != nil || card.Fingerprint() != fp {
				return fmt.Errorf("%w: %s", ErrNoCard, fp)
			}
			rs = append(rs, card.Recipient())
		}
		return nil
	})
	return rs, err
}

func seal(dst io.Writer, rs []age.Recipient, text string, files []Attachment) error {
	aw, err := age.Encrypt(dst, rs...)
	if err != nil {
		return err
	}
	fw := frame.NewWriter(aw)
	pw, err := fw.Part(frame.KindMessage, "", "text/plain; charset=utf-8")
	if err == nil {
		_, err = io.WriteString(pw, text)
	}
	for _, f := range files {
		if err == nil {
			err = addFile(fw, f)
		}
	}
	if err == nil {
		err = fw.Close()
	}
	if err == nil {
		err = aw.Close()
	}
	return err
}

func addFile(fw *frame.Writer, f Attachment) error {
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	pw, err := fw.Part(frame.KindFile, filename.Sanitize(f.Name, "file"), "application/octet-stream")
	if err != nil {
		return err
	}
	_, err = io.Copy(pw, r)
	return err
}

// SetStatus queues a signed status change of the case. Closing needs an outcome: use CloseCase
// (SetStatus with "closed" fails with an error wrapping envelope.ErrNoOutcome).
func (in *Inbox) SetStatus(prefix, status string) error {
	if err := envelope.CheckStatus(status); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if status == envelope.StatusClosed {
		return fmt.Errorf("inbox: %w", envelope.CheckOutcome(""))
	}
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return err
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindStatus, Case: caseID(c), Status: status})
}

// Hold queues a signed retention hold (on) or its release (off) on the case.
func (in *Inbox) Hold(prefix string, on bool) error {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return err
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindHold, Case: caseID(c), Hold: on})
}

func caseID(c *caseRecord) [16]byte {
	var id [16]byte
	hex.Decode(id[:], []byte(c.ID))
	return id
}

// queue signs e with the next sequence number and stores it until the next Outbox.
func (in *Inbox) queue(e *envelope.Envelope) error {
	sk, err := in.signingKey()
	if err != nil {
		return err
	}
	return in.db.Update(func(tx *bolt.Tx) error {
		_, err := in.sign(tx, sk, e)
		return err
	})
}

func (in *Inbox) sign(tx *bolt.Tx, sk *crypto.SigningKey, e *envelope.Envelope) ([]byte, error) {
	meta := tx.Bucket(bucketMeta)
	e.Reviewer, e.Day, e.Seq = in.fp, in.cfg.today(), getU64(meta, metaSeq)+1
	if err := envelope.Sign(e, sk); err != nil {
		return nil, err
	}
	b, err := e.Marshal()
	if err != nil {
		return nil, err
	}
	if err := meta.Put(metaSeq, u64(e.Seq)); err != nil {
		return nil, err
	}
	return b, tx.Bucket(bucketOutbox).Put(u64(e.Seq), b)
}

// Outbox writes every queued envelope and a new acknowledgement (the feed cursor and log size
// this inbox has imported) as an outbox file to path, atomically, and removes them from the queue.
// Keep the file until `candor sync push` has succeeded. It returns the number of envelopes.
func (in *Inbox) Outbox(path string) (int, error) {
	sk, err := in.signingKey()
	if err != nil {
		return 0, err
	}
	n := 0
	err = in.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var size uint64
		if k, _ := tx.Bucket(bucketCheckpoints).Cursor().Last(); len(k) == 8 {
			size = beU64(k)
		}
		ack := &envelope.Envelope{Kind: envelope.KindAck, Cursor: getU64(meta, metaCursor), TreeSize: size}
		if _, err := in.sign(tx, sk, ack); err != nil {
			return err
		}
		var envs []*envelope.Envelope
		ob := tx.Bucket(bucketOutbox)
		if err := ob.ForEach(func(k, v []byte) error {
			e, err := envelope.Parse(v)
			envs = append(envs, e)
			return err
		}); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := envelope.WriteOutbox(&buf, envs); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return err
		}
		n = len(envs)
		return clearBucket(ob)
	})
	return n, err
}

func beU64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func clearBucket(b *bolt.Bucket) error {
	var keys [][]byte
	b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
