package cases

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"filippo.io/age"

	"candor/crypto"
	"candor/frontend"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/filename"
	"candor/internal/frame"
	"candor/internal/logentry"
	"candor/server/store"
)

// Replies decrypts the case's replies with the reporter's identity, in memory. Only a reply that
// decrypts, and whose author is a reviewer of the case (of the set its log entries commit to)
// who signed it (their envelope signature, verified with their registered card), is shown;
// unreadable counts the others, so that the page warns instead of leaving them out silently.
func (s *Service) Replies(cs *store.Case, id *age.HybridIdentity) (replies []frontend.Reply, unreadable int) {
	names := s.ReviewerNames()
	committed := s.CheckRecipients(cs) == nil
	for _, m := range cs.Messages {
		if m.Kind != store.KindReply {
			continue
		}
		if !committed || !slices.Contains(cs.Reviewers, m.Author) || s.checkReplySignature(cs.ID, m) != nil {
			unreadable++
			continue
		}
		r, err := s.ReadReply(m, id)
		if err != nil {
			s.log.Error("decrypting a reply", "err", err)
			unreadable++
			continue
		}
		r.Day, r.Author = m.Day, m.Author
		if n, ok := names[m.Author]; ok {
			r.Author = n
		} else if c, err := s.Card(m.Author); err == nil {
			r.Author = c.Name() // removed since
		}
		replies = append(replies, r)
	}
	return replies, unreadable
}

// checkReplySignature verifies the reply envelope signature kept with reply m of case id with its
// author's card (also if they were removed since).
func (s *Service) checkReplySignature(id store.CaseID, m store.Message) error {
	if m.Signature == nil {
		return errors.New("reply without signature")
	}
	card, err := s.Card(m.Author)
	if err != nil {
		return err
	}
	b, err := s.st.OpenBlob(m.Blob)
	if err != nil {
		return err
	}
	if int64(len(b.Header))+b.Size > envelope.MaxBodyLen {
		return errors.New("reply larger than an envelope")
	}
	body := bytes.NewBuffer(bytes.Clone(b.Header))
	if _, err := io.Copy(body, b); err != nil {
		return err
	}
	e := &envelope.Envelope{Kind: envelope.KindReply, Reviewer: m.Author, Seq: m.Signature.Seq, Case: id,
		Day: m.Signature.Day, Feedback: m.Feedback, Body: body.Bytes(), Sig: m.Signature.Sig}
	return envelope.Verify(e, card.VerifyKey())
}

func (s *Service) ReviewerNames() map[string]string {
	rs, _ := s.Reviewers()
	m := make(map[string]string, len(rs))
	for _, r := range rs {
		m[r.Fingerprint] = r.Name
	}
	return m
}

// ReadReply decrypts one reply: its message text (up to maxReplyText bytes shown) and the names
// and sizes of its files, whose download links name the blob and the file's position.
func (s *Service) ReadReply(m store.Message, id *age.HybridIdentity) (frontend.Reply, error) {
	var r frontend.Reply
	fr, err := s.OpenSealed(m.Blob, id)
	if err != nil {
		return r, err
	}
	var text strings.Builder
	for n := 0; ; {
		p, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, err
		}
		switch p.Kind {
		case frame.KindMessage:
			if _, err := io.Copy(&text, io.LimitReader(fr, int64(maxReplyText-text.Len()))); err != nil {
				return r, err
			}
		case frame.KindFile:
			size, err := io.Copy(io.Discard, fr)
			if err != nil {
				return r, err
			}
			r.Files = append(r.Files, frontend.ReplyFile{Name: p.Name, Size: size,
				URL: DownloadPathRoot + m.Blob.String() + "/" + strconv.Itoa(n)})
			n++
		}
	}
	r.Text = text.String()
	return r, nil
}

func (s *Service) OpenSealed(id store.BlobID, ident *age.HybridIdentity) (*frame.Reader, error) {
	b, err := s.st.OpenBlob(id)
	if err != nil {
		return nil, err
	}
	pt, err := crypto.Open(b.Header, b, ident)
	if err != nil {
		return nil, err
	}
	return frame.NewReader(pt), nil
}

func HasReply(cs *store.Case, blob store.BlobID) bool {
	for _, m := range cs.Messages {
		if m.Blob == blob && m.Kind == store.KindReply {
			return true
		}
	}
	return false
}

// SeekFile opens a reply and positions it at the body of its n-th file.
func (s *Service) SeekFile(blob store.BlobID, id *age.HybridIdentity, n int) (io.Reader, string, error) {
	fr, err := s.OpenSealed(blob, id)
	if err != nil {
		return nil, "", err
	}
	for i := 0; ; {
		p, err := fr.Next()
		if err == io.EOF {
			return nil, "", ErrNoSuchFile
		}
		if err != nil {
			return nil, "", err
		}
		if p.Kind != frame.KindFile {
			continue
		}
		if i == n {
			return fr, filename.Sanitize(p.Name, filename.DefaultName), nil
		}
		i++
	}
}

// CaseRecipients returns the recipients of the case's reviewers that are still registered, once
// CheckRecipients confirmed that the record's reviewers are the set its log entries commit to.
func (s *Service) CaseRecipients(cs *store.Case) ([]age.Recipient, error) {
	if err := s.CheckRecipients(cs); err != nil {
		return nil, err
	}
	all, err := s.Reviewers()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, fp := range cs.Reviewers {
		want[fp] = true
	}
	var rs []age.Recipient
	for _, r := range all {
		if want[r.Fingerprint] {
			rs = append(rs, r.Card.Recipient())
		}
	}
	if len(rs) == 0 {
		return nil, errors.New("no reviewer of the case is registered")
	}
	return rs, nil
}

// AddFollowup commits sl as a follow-up message of the case with its MessageAdded log entry.
func (s *Service) AddFollowup(id store.CaseID, sl *Sealed) error {
	today := day.FromTime(s.now())
	e, err := (&logentry.Entry{Type: logentry.MessageAdded, Day: today, Case: id, Actor: store.AuthorReporter,
		Subject: HeaderSubject(sl.Header)}).Marshal()
	if err != nil {
		return err
	}
	_, err = s.st.AddMessage(id, store.Message{Blob: sl.ID, Kind: store.KindFollowup,
		Author: store.AuthorReporter, Day: today}, [][]byte{e})
	if err == nil {
		s.notifyAppended()
	}
	return err
}

const maxReplyText = 1 << 20 // bytes of a reply's text shown on the case page

// DownloadPathRoot is the path under which the case page links a reply's files (DownloadPathRoot + blob/n).
const DownloadPathRoot = "/followup/file/"
