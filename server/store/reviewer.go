package store

import (
	"crypto/subtle"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

// Reviewer is a registered reviewer, keyed by the fingerprint of its card.
type Reviewer struct {
	Fingerprint   string
	Card          []byte   // the marshalled, self-signed card
	TokenHash     [32]byte // SHA-256 of the sync token; zero: no token issued
	ClientAuthPub string   // x25519 public key for onion client authorisation
	Seq           uint64   // last accepted envelope sequence number
	AckCursor     uint64   // feed Seq the reviewer's last push acknowledged
	AckTreeSize   int64    // log size the reviewer's last push acknowledged
	Added         day.Day
	// AddressingKey is the secret the leaves addressed to the reviewer are tagged with
	// (internal/leaf); nil for a reviewer registered without one.
	AddressingKey []byte
	// LastPush is SHA-256 over the signatures of the envelopes of the reviewer's last accepted
	// push (zero: none yet), so that a second push of the same outbox can be told from a replay.
	LastPush [32]byte
}

type reviewerRecord struct {
	Fingerprint   string  `json:"fingerprint"`
	Card          []byte  `json:"card"`
	TokenHash     []byte  `json:"token_hash"`
	ClientAuthPub string  `json:"client_auth_pub"`
	Seq           uint64  `json:"seq"`
	AckCursor     uint64  `json:"ack_cursor"`
	AckTreeSize   int64   `json:"ack_tree_size"`
	Added         day.Day `json:"added"`
	AddressingKey []byte  `json:"addressing_key,omitempty"`
	LastPush      []byte  `json:"last_push,omitempty"`
}

func encodeReviewer(r *Reviewer) []byte {
	return encodeRecord(reviewerRecord{r.Fingerprint, r.Card, r.TokenHash[:], r.ClientAuthPub,
		r.Seq, r.AckCursor, r.AckTreeSize, r.Added, r.AddressingKey, lastPush(r.LastPush)})
}

func decodeReviewer(key, v []byte) (*Reviewer, error) {
	var r reviewerRecord
	if err := decodeRecord(v, &r); err != nil {
		return nil, err
	}
	if r.Fingerprint != string(key) || len(r.TokenHash) != 32 || (r.LastPush != nil && len(r.LastPush) != 32) {
		return nil, fmt.Errorf("%w: reviewer record does not match its key", ErrCorrupt)
	}
	rv := &Reviewer{r.Fingerprint, r.Card, [32]byte(r.TokenHash), r.ClientAuthPub,
		r.Seq, r.AckCursor, r.AckTreeSize, r.Added, r.AddressingKey, [32]byte{}}
	if r.LastPush != nil {
		rv.LastPush = [32]byte(r.LastPush)
	}
	return rv, nil
}

// lastPush encodes LastPush, omitting the zero value (records written before the field existed
// decode the same).
func lastPush(h [32]byte) []byte {
	if h == ([32]byte{}) {
		return nil
	}
	return h[:]
}

func getReviewer(tx *bolt.Tx, fp string) (*Reviewer, error) {
	v := tx.Bucket(bucketReviewers).Get([]byte(fp))
	if v == nil {
		return nil, fmt.Errorf("store: reviewer: %w", ErrNotFound)
	}
	return decodeReviewer([]byte(fp), v)
}

// PutReviewer creates or replaces a reviewer and appends entries to the case
// log, in one transaction, returning their indices.
func (s *Store) PutReviewer(r *Reviewer, entries [][]byte) ([]int64, error) {
	if r.Fingerprint == "" {
		return nil, fmt.Errorf("store: reviewer without fingerprint: %w", ErrInvalid)
	}
	var idx []int64
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if idx, err = appendLog(tx, entries, nil); err != nil {
			return err
		}
		return tx.Bucket(bucketReviewers).Put([]byte(r.Fingerprint), encodeReviewer(r))
	})
	return idx, err
}

// UpdateReviewer calls fn with a copy of the reviewer and stores the result
// with entries, in one transaction (so that, say, an envelope's sequence
// number is checked and advanced atomically). If fn fails nothing is stored;
// changing the fingerprint fails with ErrImmutable. fn runs inside the
// transaction: it must be quick and must not call the Store.
func (s *Store) UpdateReviewer(fp string, fn func(*Reviewer) error, entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) (err error) {
		idx, err = updateReviewer(tx, fp, fn, entries)
		return err
	})
	return idx, err
}

func updateReviewer(tx *bolt.Tx, fp string, fn func(*Reviewer) error, entries [][]byte) ([]int64, error) {
	r, err := getReviewer(tx, fp)
	if err != nil {
		return nil, err
	}
	if err := fn(r); err != nil {
		return nil, err
	}
	if r.Fingerprint != fp {
		return nil, ErrImmutable
	}
	idx, err := appendLog(tx, entries, nil)
	if err != nil {
		return nil, err
	}
	return idx, tx.Bucket(bucketReviewers).Put([]byte(fp), encodeReviewer(r))
}

// Reviewer returns the reviewer with fingerprint fp.
func (s *Store) Reviewer(fp string) (*Reviewer, error) {
	var r *Reviewer
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = getReviewer(tx, fp)
		return err
	})
	return r, err
}

// Reviewers returns every reviewer, in fingerprint order.
func (s *Store) Reviewers() ([]*Reviewer, error) {
	var out []*Reviewer
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReviewers).ForEach(func(k, v []byte) error {
			r, err := decodeReviewer(k, v)
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReviewerByTokenHash returns the reviewer whose TokenHash is h (compared in
// constant time). The zero hash never matches.
func (s *Store) ReviewerByTokenHash(h [32]byte) (*Reviewer, error) {
	rs, err := s.Reviewers()
	if err != nil {
		return nil, err
	}
	var found *Reviewer
	for _, r := range rs {
		if subtle.ConstantTimeCompare(r.TokenHash[:], h[:]) == 1 {
			found = r
		}
	}
	if found == nil || h == [32]byte{} {
		return nil, fmt.Errorf("store: reviewer: %w", ErrNotFound)
	}
	return found, nil
}

// DeleteReviewer removes a reviewer and appends entries, in one transaction.
// Cases encrypted to the reviewer are unchanged. The reviewer's card (public) is kept among the
// former reviewers' (FormerCard): their signed replies, notes and changes stay verifiable.
func (s *Store) DeleteReviewer(fp string, entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) error {
		r, err := getReviewer(tx, fp)
		if err != nil {
			return err
		}
		if idx, err = appendLog(tx, entries, nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFormer).Put([]byte(fp), clone(r.Card)); err != nil {
			return err
		}
		return tx.Bucket(bucketReviewers).Delete([]byte(fp))
	})
	return idx, err
}

// FormerCard returns the card of a reviewer who was removed (DeleteReviewer), or ErrNotFound.
func (s *Store) FormerCard(fp string) ([]byte, error) {
	var card []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFormer).Get([]byte(fp))
		if v == nil {
			return fmt.Errorf("store: former reviewer: %w", ErrNotFound)
		}
		card = clone(v)
		return nil
	})
	return card, err
}

// Meta returns the value stored under key (installation salt, server keys,
// settings), or ErrNotFound.
func (s *Store) Meta(key string) ([]byte, error) {
	var val []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("store: meta key: %w", ErrNotFound)
		}
		val = clone(v)
		return nil
	})
	return val, err
}

// PutMeta stores val under key. Keys starting with "store." belong to the
// store and are refused.
func (s *Store) PutMeta(key string, val []byte) error {
	if key == "" || strings.HasPrefix(key, reservedMeta) {
		return fmt.Errorf("store: meta key is empty or reserved: %w", ErrInvalid)
	}
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), clone(val))
	})
}
