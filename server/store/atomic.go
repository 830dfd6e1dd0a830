package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is a write transaction in which several case and reviewer changes happen together: all of
// them become durable at once, or — if any fails, or the commit does (a full disk, a failed fsync,
// the process killed) — none does. A push of reviewers' envelopes is applied in one Tx, so it is
// all-or-nothing not only when an envelope is refused but also when storage fails half-way. A Tx
// is valid only inside the function given to Atomic.
type Tx struct{ tx *bolt.Tx }

// Atomic runs fn in one durable write transaction; if fn returns an error nothing it did is
// stored. fn must not call the Store (its transaction holds the write lock) nor keep tx.
func (s *Store) Atomic(fn func(tx *Tx) error) error {
	return s.update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// Case returns the case with the given ID as the transaction sees it.
func (t *Tx) Case(id CaseID) (*Case, error) { return getCase(t.tx, id) }

// Reviewer returns the reviewer with fingerprint fp as the transaction sees it.
func (t *Tx) Reviewer(fp string) (*Reviewer, error) { return getReviewer(t.tx, fp) }

// AddMessage is Store.AddMessage inside the transaction.
func (t *Tx) AddMessage(id CaseID, m Message, entries [][]byte) ([]int64, error) {
	return addMessage(t.tx, id, m, entries)
}

// UpdateCase is Store.UpdateCase inside the transaction.
func (t *Tx) UpdateCase(id CaseID, fn func(*Case) error, entries [][]byte) ([]int64, error) {
	return updateCase(t.tx, id, fn, entries)
}

// UpdateReviewer is Store.UpdateReviewer inside the transaction.
func (t *Tx) UpdateReviewer(fp string, fn func(*Reviewer) error, entries [][]byte) ([]int64, error) {
	return updateReviewer(t.tx, fp, fn, entries)
}

// CreateCase is Store.CreateCase inside the transaction.
func (t *Tx) CreateCase(c *Case, blobs []BlobID, entries [][]byte) ([]int64, error) {
	nc, idx, err := createCaseTx(t.tx, c, blobs, entries)
	if err != nil {
		return nil, err
	}
	*c = *nc
	return idx, nil
}

// DeleteCaseNoting is Store.DeleteCaseNoting inside the transaction.
func (t *Tx) DeleteCaseNoting(id CaseID, entries [][]byte, key string, val []byte) ([]int64, error) {
	if key == "" {
		return nil, fmt.Errorf("store: deleting a case: empty meta key: %w", ErrInvalid)
	}
	return deleteCaseTx(t.tx, id, entries, key, val)
}
