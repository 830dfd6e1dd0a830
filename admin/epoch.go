package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/logentry"
	"candor/server/store"
	"candor/witnessclient"
)

// priorLog is what the store a restore replaces knew of its log: its origin, the witnesses'
// state (the largest witnessed size and the last cosigned note) and its witness configuration.
type priorLog struct {
	origin    string
	witnessed int64
	note      []byte
	witnesses []byte // the MetaWitnesses value, carried into the restored store
}

// readPrior reads the log of dataDir's current store, if it opens; zero otherwise.
func readPrior(dataDir string) priorLog {
	path := filepath.Join(dataDir, installation.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return priorLog{} // Open would create it
	}
	st, err := store.Open(path, &store.Options{LockTimeout: 500 * time.Millisecond})
	if err != nil {
		return priorLog{}
	}
	defer st.Close()
	return readLogState(st)
}

func readLogState(st *store.Store) priorLog {
	var p priorLog
	p.origin, _ = st.LogOrigin()
	if ws, err := installation.LoadWitnessState(st, p.origin); err == nil && p.origin != "" {
		p.witnessed, p.note = ws.Witnessed, ws.LastNote
	}
	p.witnesses, _ = st.Meta(installation.MetaWitnesses)
	return p
}

// EpochInfo says which log epoch a restore started and what it lost.
type EpochInfo struct {
	Epoch     int    `json:"epoch"`
	Origin    string `json:"log_origin"` // the new epoch's origin: tell every witness (witnessctl add-log)
	LogKey    string `json:"log_key"`    // the log's Ed25519 verifier key (witnessctl add-key)
	Previous  string `json:"previous"`   // the origin of the log the restore ended
	Restored  int64  `json:"restored"`   // entries of the backup's log carried into the new epoch
	Witnessed int64  `json:"witnessed"`  // the largest witnessed size of the previous log known
	Lost      int64  `json:"lost"`       // witnessed entries of the previous log that are gone
	// Unasked names the witnesses that could not be asked for the size they cosigned (onion
	// witnesses, or those that did not answer): the loss may be larger than Lost.
	Unasked []string `json:"unasked,omitempty"`
}

// startEpoch begins the next log epoch in the restored store st (DESIGN §7.4): its first leaf is
// an epoch record naming the previous log (prior's, else the backup's own), the largest size of
// it a witness cosigned (the server's records, and what each reachable witness answers), the
// backup's log and its size, and how many witnessed entries are lost; the backup's leaves follow,
// re-tagged for the new origin. The reviewers' acknowledged tree sizes are reset (their next
// bundles carry the new epoch from its start), and the prior store's witness configuration is
// kept.
func startEpoch(ctx context.Context, st *store.Store, prior priorLog) (EpochInfo, error) {
	backup := readLogState(st)
	previous := prior.origin
	if previous == "" {
		previous, prior = backup.origin, backup
	}
	_, prevEpoch, err1 := checkpoint.ParseEpochOrigin(previous)
	_, backupEpoch, err2 := checkpoint.ParseEpochOrigin(backup.origin)
	if err := errors.Join(err1, err2); err != nil {
		return EpochInfo{}, fmt.Errorf("%w: log origin: %v", ErrBadBackup, err)
	}
	restored, err := st.LogSize()
	if err != nil {
		return EpochInfo{}, err
	}
	k, err := installation.LoadKeys(st)
	if err != nil {
		return EpochInfo{}, err
	}
	if prior.witnesses != nil {
		if err := st.PutMeta(installation.MetaWitnesses, prior.witnesses); err != nil {
			return EpochInfo{}, err
		}
	}
	known, unasked := askWitnessed(ctx, st, k, previous)
	e := &logentry.Epoch{Epoch: max(prevEpoch, backupEpoch) + 1, Previous: previous, Backup: backup.origin,
		Restored: restored, Witnessed: max(prior.witnessed, known), Note: prior.note}
	e.Lost = e.Witnessed
	if e.Backup == e.Previous {
		e.Lost = max(0, e.Witnessed-e.Restored)
	}
	rec, err := e.Marshal()
	if err != nil {
		return EpochInfo{}, err
	}
	origin, err := checkpoint.EpochOrigin(k.Signer.Public().Bytes()[:32], e.Epoch)
	if err != nil {
		return EpochInfo{}, err
	}
	if err := st.StartEpoch(origin, rec); err != nil {
		return EpochInfo{}, err
	}
	if err := resetAcks(st); err != nil {
		return EpochInfo{}, err
	}
	signer, err := installation.LogSigner(k.Signer, origin)
	if err != nil {
		return EpochInfo{}, err
	}
	return EpochInfo{Epoch: e.Epoch, Origin: origin, LogKey: signer.Ed25519VerifierKey(), Previous: previous,
		Restored: restored, Witnessed: e.Witnessed, Lost: e.Lost, Unasked: unasked}, nil
}

// askWitnessed asks each configured witness that is reachable without tor which size of the log
// named origin it cosigned, by submitting that log's empty tree: a witness that knows a larger
// one answers with its size (witnessclient.RollbackError). It returns the largest size named
// and the witnesses that could not be asked.
func askWitnessed(ctx context.Context, st *store.Store, k *installation.Keys, origin string) (int64, []string) {
	ws, err := installation.LoadWitnesses(st)
	if err != nil || len(ws) == 0 {
		return 0, nil
	}
	signer, err := installation.LogSigner(k.Signer, origin)
	if err != nil {
		return 0, nil
	}
	empty, err := st.TreeHash(0)
	if err != nil {
		return 0, nil
	}
	note, err := signer.Sign(&checkpoint.Checkpoint{Origin: origin, Size: 0, Hash: empty})
	if err != nil {
		return 0, nil
	}
	c := witnessclient.New(witnessclient.Config{Timeout: 10 * time.Second})
	var known int64
	var unasked []string
	for _, w := range ws {
		v, err := checkpoint.NewCosignatureVerifier(w.Key)
		if err != nil || w.Onion() {
			unasked = append(unasked, w.Name())
			continue
		}
		_, err = c.AddCheckpoint(ctx, witnessclient.Witness{URL: w.URL, Key: v}, 0, note, nil)
		var rb *witnessclient.RollbackError
		switch {
		case errors.As(err, &rb):
			known = max(known, rb.Known)
		case err != nil && !errors.Is(err, witnessclient.ErrRefused):
			unasked = append(unasked, w.Name())
		}
	}
	return known, unasked
}

// resetAcks sets every reviewer's acknowledged tree size to 0: it was a size of the old epoch.
func resetAcks(st *store.Store) error {
	rs, err := st.Reviewers()
	if err != nil {
		return err
	}
	for _, r := range rs {
		if _, err := st.UpdateReviewer(r.Fingerprint, func(r *store.Reviewer) error { r.AckTreeSize = 0; return nil }, nil); err != nil {
			return err
		}
	}
	return nil
}
