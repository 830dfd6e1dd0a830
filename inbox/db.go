package inbox

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

type bytesBuffer = bytes.Buffer

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Buckets of inbox.db.
var (
	bucketMeta        = []byte("meta")        // key → value (below)
	bucketCheckpoints = []byte("checkpoints") // size (8 bytes) → root (32 bytes)
	bucketCases       = []byte("cases")       // case ID (16) → JSON caseRecord
	bucketBlobs       = []byte("blobs")       // blob ID (16) → JSON blobRecord
	bucketBlobData    = []byte("blob-data")   // blob ID (16) → age file, for blobs ≤ smallBlob bytes
	bucketCards       = []byte("cards")       // fingerprint → card text
	bucketOutbox      = []byte("outbox")      // seq (8) → signed envelope, waiting for `outbox`
)

// Meta keys.
var (
	metaServerKey = []byte("server-key")
	// metaExpectServer: the server key fingerprint the reviewer confirmed (TrustServer) before the
	// first import; cleared when that import pins the key.
	metaExpectServer = []byte("expect-server")
	metaOrigin       = []byte("origin")
	metaCursor       = []byte("cursor")
	metaSeq          = []byte("seq")
)

// Event is one case-log entry about a case, as the inbox verified it.
type Event struct {
	Epoch int     `json:"epoch,omitempty"` // the log epoch the entry was first seen in
	Index int64   `json:"index"`           // its index in that epoch's log
	Type  string  `json:"type"`
	Day   day.Day `json:"day"`
	Actor string  `json:"actor"`
	Value string  `json:"value,omitempty"`
	// Subject is the entry's subject hash (hex): a message's header hash, a commitment.
	Subject string `json:"subject,omitempty"`
	// Lost: a restore from a backup dropped this entry from the server's log (see Restore).
	Lost bool `json:"lost,omitempty"`
}

// same reports whether e and o record one entry: the same position in one epoch, or the same
// event re-logged by a restore into a later epoch.
func (e Event) same(o Event) bool {
	if e.Epoch == o.Epoch {
		return e.Index == o.Index
	}
	return e.Type == o.Type && e.Day == o.Day && e.Actor == o.Actor && e.Value == o.Value && e.Subject == o.Subject
}

// caseRecord is what the inbox keeps of a case.
type caseRecord struct {
	ID                string   `json:"id"`
	Category          string   `json:"category"`
	Received          day.Day  `json:"received"`
	AckDue            day.Day  `json:"ack_due"`
	FeedbackDue       day.Day  `json:"feedback_due"`
	Closed            day.Day  `json:"closed"`
	Status            string   `json:"status"`
	Reviewers         []string `json:"reviewers"`
	ReporterRecipient string   `json:"reporter_recipient"`
	Holds             []string `json:"holds"`
	Blobs             []string `json:"blobs"` // in arrival order
	Events            []Event  `json:"events"`
	Deleted           bool     `json:"deleted"`
	Missing           bool     `json:"missing"` // gone from the server without a logged deletion
	// Commitment is the recipient-set commitment (hex) the case's verified log entries carry.
	Commitment string `json:"commitment,omitempty"`
	// Salt is the commitment's salt, so that replies are sealed to the committed set only.
	Salt string `json:"salt,omitempty"`
	// Team work (team.go), derived from verified signatures at each import.
	Team teamState `json:"team"`
}

// blobRecord is what the inbox keeps of a blob besides its file.
type blobRecord struct {
	Case   string  `json:"case"`
	Kind   string  `json:"kind"`
	Author string  `json:"author"`
	Day    day.Day `json:"day"`
	Size   int64   `json:"size"` // of the age file
	// Signed: a reply whose author's envelope signature Import verified (every reply imported
	// since signatures travel with replies; see checkReplies).
	Signed bool `json:"signed,omitempty"`
	// Seq is a signed reply's envelope sequence number: the inbox refuses a second reply with the
	// same author and Seq (the server replaying a genuine reply as a new one).
	Seq uint64 `json:"seq,omitempty"`
	// HeaderHash is SHA-256 of the blob's age header (hex): the subject of its log entry.
	HeaderHash string `json:"header_hash,omitempty"`
	// Feedback: a signed reply that is the Directive's feedback.
	Feedback bool `json:"feedback,omitempty"`
}

func (in *Inbox) createBuckets() error {
	return in.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketCheckpoints, bucketCases, bucketBlobs, bucketBlobData, bucketCards, bucketOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("inbox: corrupt record: %w", err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// findCase resolves a case ID or a unique prefix of at least 6 hex characters.
func findCase(tx *bolt.Tx, prefix string) (*caseRecord, error) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if len(prefix) < 6 {
		return nil, fmt.Errorf("%w: give at least 6 characters of the case ID", ErrNoCase)
	}
	var found *caseRecord
	c := tx.Bucket(bucketCases).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !strings.HasPrefix(hex.EncodeToString(k), prefix) {
			continue
		}
		if found != nil {
			return nil, ErrAmbiguous
		}
		found = new(caseRecord)
		if err := json.Unmarshal(v, found); err != nil {
			return nil, fmt.Errorf("inbox: corrupt record: %w", err)
		}
	}
	if found == nil {
		return nil, ErrNoCase
	}
	return found, nil
}

func (in *Inbox) caseByPrefix(prefix string) (*caseRecord, error) {
	var c *caseRecord
	err := in.db.View(func(tx *bolt.Tx) (err error) {
		c, err = findCase(tx, prefix)
		return err
	})
	return c, err
}

func (in *Inbox) blob(id string) (*blobRecord, error) {
	k, err := hex.DecodeString(id)
	if err != nil {
		return nil, err
	}
	var b blobRecord
	err = in.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketBlobs), k, &b)
		if err == nil && !ok {
			err = fmt.Errorf("inbox: blob record missing")
		}
		return err
	})
	return &b, err
}
