package inbox

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"candor/internal/checkpoint"
)

// ErrWitness: a witness key or quorum given to AddWitness is not usable.
var ErrWitness = errors.New("inbox: bad witness configuration")

// Witnesses are the witnesses whose cosignatures every import needs.
type Witnesses struct {
	Keys   []string `json:"keys"`   // cosignature verifier keys, as litewitness prints them
	Quorum int      `json:"quorum"` // how many of Keys must have cosigned a bundle's checkpoint
}

var metaWitnesses = []byte("witnesses")

// AddWitness adds a witness's verifier key (idempotent) and sets the quorum: quorum 0 keeps the
// rule "every configured witness", otherwise quorum must be 1..the number of witnesses.
func (in *Inbox) AddWitness(vkey string, quorum int) (*Witnesses, error) {
	v, err := checkpoint.NewCosignatureVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWitness, err)
	}
	var w Witnesses
	err = in.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if _, err := getJSON(meta, metaWitnesses, &w); err != nil {
			return err
		}
		all := w.Quorum == len(w.Keys)
		if !slices.Contains(w.Keys, v.String()) {
			w.Keys = append(w.Keys, v.String())
		}
		switch {
		case quorum < 0 || quorum > len(w.Keys):
			return fmt.Errorf("%w: quorum %d of %d witnesses", ErrWitness, quorum, len(w.Keys))
		case quorum > 0:
			w.Quorum = quorum
		case all:
			w.Quorum = len(w.Keys)
		}
		return putJSON(meta, metaWitnesses, &w)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// Witnesses returns the configured witnesses (none: imports need no cosignature).
func (in *Inbox) Witnesses() (*Witnesses, error) {
	var w Witnesses
	err := in.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(bucketMeta), metaWitnesses, &w)
		return err
	})
	return &w, err
}

// verifiers parses the configured witnesses' keys.
func (w *Witnesses) verifiers() ([]*checkpoint.CosignatureVerifier, error) {
	out := make([]*checkpoint.CosignatureVerifier, len(w.Keys))
	for i, k := range w.Keys {
		v, err := checkpoint.NewCosignatureVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("inbox: stored witness key: %w", err)
		}
		out[i] = v
	}
	return out, nil
}
