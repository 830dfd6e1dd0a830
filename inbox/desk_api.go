package inbox

// The calls the reviewer's desk (package desk) makes besides those candor-inbox makes: keeping the
// keys unlocked while the desk runs, a case as data instead of text, one decrypted file streamed,
// and the list's filters. They use the same verification, decryption and sanitising as Read and
// Export, so the desk has no logic of its own.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
	"candor/internal/filename"
	"candor/internal/frame"
)

// Unlock decrypts the reviewer's key files once with the passphrase and keeps them in memory, so
// later calls neither ask for the passphrase nor run scrypt again, until Lock. A wrong passphrase
// gives ErrPassphrase and keeps nothing.
func (in *Inbox) Unlock() error {
	keys := map[string][]byte{}
	for _, name := range []string{IdentityFile, SigningFile} {
		b, err := in.decryptKeyFile(name)
		if err != nil {
			wipe(keys)
			return err
		}
		keys[name] = b
	}
	in.keys = keys
	return nil
}

// Lock overwrites the key material Unlock kept and forgets it; later calls that need a key ask
// cfg.Passphrase again. Copies made while a call ran (parsed identities) are garbage by then and
// cannot be overwritten from here.
func (in *Inbox) Lock() {
	wipe(in.keys)
	in.keys = nil
}

// Unlocked reports whether Unlock keeps the keys.
func (in *Inbox) Unlocked() bool { return in.keys != nil }

func wipe(keys map[string][]byte) {
	for _, b := range keys {
		clear(b)
	}
}

// CaseView is a decrypted case: what Read prints, as data.
type CaseView struct {
	CaseInfo
	Reviewers []string // "Name (fingerprint)" of each reviewer on the case
	Messages  []Message
	// ActorNames maps the fingerprints of Events' actors to "Name (fingerprint)".
	ActorNames map[string]string
}

// Message is one report, follow-up or reply of a case, decrypted.
type Message struct {
	N      int    // 1-based, in arrival order
	Blob   string // the blob's ID
	Kind   string // "report", "follow-up" or "reply"
	Author string // "Name (fingerprint)" of a reviewer; empty for the reporter
	Day    day.Day
	Signed bool   // a reply whose author's signature Import verified
	Text   string // control characters replaced, as Read does
	// Answers are the questionnaire's answers ("label: value" lines), if any.
	Answers string
	Files   []File
}

// File is one attached file of a Message.
type File struct {
	Index int    // the part's index in its blob, for WriteFile
	Name  string // sanitised as Export names it
	Size  int64
}

// Case decrypts every message of the case in memory; files are only counted (WriteFile streams
// one). It needs the identity, as Read does.
func (in *Inbox) Case(prefix string) (*CaseView, error) {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return nil, err
	}
	id, err := in.Identity()
	if err != nil {
		return nil, err
	}
	names := in.names()
	v := &CaseView{CaseInfo: info(c, in.cfg.today()), ActorNames: map[string]string{}}
	for _, r := range c.Reviewers {
		v.Reviewers = append(v.Reviewers, names.of(r))
	}
	for _, e := range c.Events {
		v.ActorNames[e.Actor] = names.of(e.Actor)
	}
	for i, bid := range c.Blobs {
		m, err := in.message(i+1, bid, id, names)
		if err != nil {
			return nil, err
		}
		v.Messages = append(v.Messages, *m)
	}
	return v, nil
}

func (in *Inbox) message(n int, bid string, id age.Identity, names names) (*Message, error) {
	b, err := in.blob(bid)
	if err != nil {
		return nil, err
	}
	m := &Message{N: n, Blob: bid, Kind: b.Kind, Day: b.Day, Signed: b.Signed}
	if b.Kind == "reply" {
		m.Author = names.of(b.Author)
	}
	idx := 0
	err = in.walk(bid, id, func(p *frame.Part, r io.Reader) error {
		defer func() { idx++ }()
		switch p.Kind {
		case frame.KindMessage, frame.KindAnswers:
			var sb strings.Builder
			if _, err := io.Copy(&sb, r); err != nil {
				return err
			}
			if p.Kind == frame.KindAnswers {
				m.Answers = clean(sb.String())
			} else {
				m.Text = clean(sb.String())
			}
		case frame.KindFile:
			size, err := io.Copy(io.Discard, r)
			if err != nil {
				return err
			}
			m.Files = append(m.Files, File{Index: idx, Name: filename.Sanitize(p.Name, "file"), Size: size})
		}
		return nil
	})
	return m, err
}

// ErrNoFile: the case has no such blob, or the blob no file part of that index.
var ErrNoFile = fmt.Errorf("%w: no such file in the case", ErrNoCase)

// WriteFile decrypts the file part index of blob in the case and streams its bytes, unchanged, to
// the writer open returns for the file's sanitised name. It reads the blob once and holds at most
// one chunk of it in memory. If decryption fails midway, part of the file has been written: the
// caller must treat the output as lost (age authenticates every chunk before it is written, so
// nothing unauthenticated is).
func (in *Inbox) WriteFile(prefix, blob string, index int, open func(name string) (io.Writer, error)) error {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return err
	}
	if !slices.Contains(c.Blobs, blob) {
		return ErrNoFile
	}
	id, err := in.Identity()
	if err != nil {
		return err
	}
	found, idx := false, 0
	err = in.walk(blob, id, func(p *frame.Part, r io.Reader) error {
		defer func() { idx++ }()
		if idx != index || p.Kind != frame.KindFile {
			return nil
		}
		found = true
		w, err := open(filename.Sanitize(p.Name, "file"))
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(w, r, make([]byte, 64<<10))
		return err
	})
	if err == nil && !found {
		err = ErrNoFile
	}
	return err
}

// ListFilter selects cases of List. The zero value selects every case.
type ListFilter struct {
	Status  string // a status List shows ("received", …, "deleted", "missing"); empty: any
	Overdue bool   // only overdue cases
	// Search keeps cases whose ID, category or status contains it, ignoring case. Message
	// content is not searched: it is not decrypted for the list.
	Search string
}

// Filter returns the cases of list that f selects, in their order.
func Filter(list []CaseInfo, f ListFilter) []CaseInfo {
	q := strings.ToLower(strings.TrimSpace(f.Search))
	var out []CaseInfo
	for _, c := range list {
		if f.Status != "" && c.Status != f.Status || f.Overdue && !c.Overdue {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(c.Case+" "+c.Category+" "+c.Status), q) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Pending returns the number of signed envelopes queued for the next Outbox (the acknowledgement
// Outbox adds is not counted).
func (in *Inbox) Pending() (int, error) {
	n := 0
	err := in.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	return n, err
}
