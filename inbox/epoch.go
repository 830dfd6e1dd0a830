package inbox

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"candor/internal/checkpoint"
	"candor/internal/logentry"
)

// Restore is what a restore of the server from a backup lost, as this inbox sees it: the epoch
// it started, the log it ended, and the entries of that log that are gone.
type Restore struct {
	Epoch     int    `json:"epoch"`     // the epoch the restore started
	Previous  string `json:"previous"`  // the origin of the log it ended
	Backup    string `json:"backup"`    // the origin of the restored backup's log
	Restored  int64  `json:"restored"`  // entries of the backup's log the new epoch carries
	Witnessed int64  `json:"witnessed"` // the largest witnessed size of Previous the server knew
	// LostFrom..LostTo (exclusive) are the entries of Previous that are gone, counting those this
	// inbox verified beyond what the server knew to be witnessed; Lost is their number.
	LostFrom, LostTo, Lost int64
	// Cases are the cases (IDs) this inbox holds that lost entries.
	Cases []string `json:"cases"`
	// Witnesses name the witnesses that had cosigned Previous's last checkpoint the server kept.
	Witnesses []string `json:"witnesses,omitempty"`
}

var metaRestores = []byte("restores") // JSON []Restore, oldest first

// Restores returns every restore this inbox has seen, oldest first.
func (in *Inbox) Restores() ([]Restore, error) {
	var out []Restore
	err := in.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(bucketMeta), metaRestores, &out)
		return err
	})
	return out, err
}

// checkEpoch verifies the epoch record of a log after a restore: the previous epoch's last
// cosigned checkpoint it encloses must verify with the same log keys and name the previous epoch,
// and its sizes must agree with it. An inbox that followed the previous epoch accepts the new one
// only from its epoch record (lv.start0; checkLog requires it at index 0).
func (in *Inbox) checkEpoch(lv *logView) error {
	e := lv.start0
	if e == nil {
		return nil
	}
	if _, n, err := checkpoint.ParseEpochOrigin(e.Previous); err != nil || n >= lv.epoch {
		return fmt.Errorf("%w: the epoch record names %q as the previous epoch of epoch %d", ErrBadBundle, e.Previous, lv.epoch)
	}
	if len(e.Note) == 0 {
		return nil
	}
	v, err := in.openPrevious(lv, e)
	if err != nil {
		return err
	}
	if e.Witnessed < v.Size {
		return fmt.Errorf("%w: the epoch record says %d entries were witnessed, its checkpoint has %d", ErrBadBundle, e.Witnessed, v.Size)
	}
	return nil
}

// openPrevious verifies the previous epoch's checkpoint enclosed in the epoch record.
func (in *Inbox) openPrevious(lv *logView, e *logentry.Epoch) (*checkpoint.Verified, error) {
	w, err := in.Witnesses()
	if err != nil {
		return nil, err
	}
	ws, err := w.verifiers()
	if err != nil {
		return nil, err
	}
	key, err := in.logKeyFor(lv, e.Previous)
	if err != nil {
		return nil, err
	}
	v, err := checkpoint.Open(e.Note, key, ws, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: the previous epoch's checkpoint in the epoch record: %w", ErrBadBundle, err)
	}
	return v, nil
}

// storeLog records the verified checkpoint, the origin, the addressing key and — on the first
// import of a new epoch — what the restore lost, marking the lost events.
func storeLog(tx *bolt.Tx, p *parsed, lv *logView, res *ImportResult) error {
	meta, cps := tx.Bucket(bucketMeta), tx.Bucket(bucketCheckpoints)
	prevOrigin := string(meta.Get(metaOrigin))
	if lv.newEpoch || prevOrigin == "" && lv.start0 != nil {
		r, err := recordRestore(tx, lv, prevOrigin)
		if err != nil {
			return err
		}
		res.Restore = r
	}
	if lv.newEpoch {
		if err := tx.DeleteBucket(bucketCheckpoints); err != nil {
			return err
		}
		var err error
		if cps, err = tx.CreateBucket(bucketCheckpoints); err != nil {
			return err
		}
	}
	v := lv.note
	if err := cps.Put(u64(uint64(v.Size)), v.Hash[:]); err != nil {
		return err
	}
	if err := meta.Put(metaOrigin, []byte(v.Origin)); err != nil {
		return err
	}
	if lv.newKey {
		if err := meta.Put(metaAddrKey, lv.key.Bytes()); err != nil {
			return err
		}
	}
	return meta.Put(metaNote, p.note)
}

// recordRestore works out what the restore that started lv's epoch lost for this inbox, marks
// the lost events of its cases and appends the restore to the inbox's list.
func recordRestore(tx *bolt.Tx, lv *logView, prevOrigin string) (*Restore, error) {
	e := lv.start0
	r := &Restore{Epoch: e.Epoch, Previous: e.Previous, Backup: e.Backup, Restored: e.Restored, Witnessed: e.Witnessed}
	_, prevEpoch, _ := checkpoint.ParseEpochOrigin(prevOrigin)
	var own int64 // the largest size of the previous epoch this inbox verified
	if prevOrigin == e.Previous {
		last, _ := tx.Bucket(bucketCheckpoints).Cursor().Last()
		if len(last) == 8 {
			own = int64(binary.BigEndian.Uint64(last))
		}
	}
	if e.Backup == e.Previous {
		r.LostFrom = e.Restored
	}
	r.LostTo = max(e.Witnessed, own, r.LostFrom)
	r.Lost = r.LostTo - r.LostFrom
	if prevOrigin != "" {
		cases, err := markLost(tx, prevEpoch, r)
		if err != nil {
			return nil, err
		}
		r.Cases = cases
	}
	var all []Restore
	meta := tx.Bucket(bucketMeta)
	if _, err := getJSON(meta, metaRestores, &all); err != nil {
		return nil, err
	}
	all = append(all, *r)
	return r, putJSON(meta, metaRestores, all)
}

// markLost marks the events of epoch that fall in r's lost range and returns their cases.
func markLost(tx *bolt.Tx, epoch int, r *Restore) ([]string, error) {
	cases := tx.Bucket(bucketCases)
	var touched []string
	type upd struct {
		k []byte
		c caseRecord
	}
	var updates []upd
	err := cases.ForEach(func(k, v []byte) error {
		var c caseRecord
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("inbox: corrupt record: %w", err)
		}
		hit := false
		for i, ev := range c.Events {
			if ev.Epoch == epoch && ev.Index >= r.LostFrom && ev.Index < r.LostTo {
				c.Events[i].Lost, hit = true, true
			}
		}
		if hit {
			touched = append(touched, c.ID)
			updates = append(updates, upd{slices.Clone(k), c})
		}
		return nil
	})
	for _, u := range updates {
		if err == nil {
			err = putJSON(cases, u.k, &u.c)
		}
	}
	return touched, err
}

// logKeyFor returns the log verifier of another epoch of the bundle's server: the same keys
// under that epoch's origin, which must be of the same installation.
func (in *Inbox) logKeyFor(lv *logView, origin string) (*checkpoint.LogVerifier, error) {
	id, _, err := checkpoint.ParseEpochOrigin(origin)
	cur, _, _ := checkpoint.ParseEpochOrigin(lv.note.Origin)
	if err != nil || id != cur {
		return nil, fmt.Errorf("%w: the epoch record names the log %q of another installation", ErrBadBundle, origin)
	}
	return lv.logKey.WithOrigin(origin)
}
