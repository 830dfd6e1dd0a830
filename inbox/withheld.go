package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"candor/internal/logentry"
)

// storedCommitment returns the commitment (hex) the inbox keeps for case id, "" if none.
func (in *Inbox) storedCommitment(id [16]byte) (string, error) {
	var c caseRecord
	err := in.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(bucketCases), id[:], &c)
		return err
	})
	return c.Commitment, err
}

// held is what the inbox already holds of the cases a bundle's entries name.
type held struct {
	cases   map[[16]byte]bool // known cases
	deleted map[[16]byte]bool
	headers map[[32]byte]bool // header hashes of stored blobs
}

func (in *Inbox) held() (*held, error) {
	h := &held{cases: map[[16]byte]bool{}, deleted: map[[16]byte]bool{}, headers: map[[32]byte]bool{}}
	err := in.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			var c caseRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("inbox: corrupt record: %w", err)
			}
			h.cases[[16]byte(k)], h.deleted[[16]byte(k)] = true, c.Deleted
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketBlobs).ForEach(func(_, v []byte) error {
			var b blobRecord
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("inbox: corrupt record: %w", err)
			}
			if raw, err := hex.DecodeString(b.HeaderHash); err == nil && len(raw) == sha256.Size {
				h.headers[[32]byte(raw)] = true
			}
			return nil
		})
	})
	return h, err
}

// checkWithheld refuses a bundle that leaves out a message or reply the log says is addressed to
// this reviewer (its entry names the blob's header hash) whose blob neither the bundle nor the
// inbox holds, unless the case's deletion is logged. A case created for this reviewer (its
// CaseCreated entry) that the bundle does not describe and the inbox never had is noted in
// lv.undelivered: the import records it as missing, as it does a known case that vanished.
func (in *Inbox) checkWithheld(p *parsed, lv *logView) error {
	h, err := in.held()
	if err != nil {
		return err
	}
	inBundle := map[[16]byte]bool{}
	for _, c := range p.cases {
		inBundle[c.ID] = true
		h.deleted[c.ID] = h.deleted[c.ID] || c.Deleted
	}
	for _, b := range p.blobs {
		h.headers[sha256.Sum256(b.Header)] = true
	}
	for _, a := range lv.entries {
		if a.entry != nil && a.entry.Type == logentry.CaseDeleted {
			h.deleted[a.entry.Case] = true
		}
	}
	for _, a := range lv.entries {
		e := a.entry
		if e == nil || h.deleted[e.Case] || lv.undelivered[e.Case] {
			continue
		}
		id := hex.EncodeToString(e.Case[:])
		switch e.Type {
		case logentry.CaseCreated:
			if !inBundle[e.Case] && !h.cases[e.Case] {
				if lv.undelivered == nil {
					lv.undelivered = map[[16]byte]bool{}
				}
				lv.undelivered[e.Case] = true
			}
		case logentry.MessageAdded, logentry.ReplyAdded:
			if !h.headers[e.Subject] {
				return fmt.Errorf("%w: case %s: log entry %d records a %s for you whose ciphertext is neither in "+
					"the bundle nor in this inbox (nothing imported)", ErrWithheld, id, a.index, e.Type)
			}
		}
	}
	return nil
}
