package inbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/checkpoint"
	"candor/internal/leaf"
	"candor/internal/logentry"
)

// Errors of the log checks (besides ErrRewrite, ErrFork and ErrNoProof).
var (
	// ErrRollback: the server's log went back: a witness refused it (the bundle carries the
	// server's alarm), or the bundle's checkpoint is smaller than one this inbox verified.
	ErrRollback = errors.New("inbox: ROLLBACK: the server's case log was rolled back")
	// ErrUnwitnessed: the checkpoint lacks the cosignatures of the configured witnesses.
	ErrUnwitnessed = errors.New("inbox: the bundle's checkpoint is not cosigned by enough of your witnesses")
	// ErrWithheld: something addressed to this reviewer was left out of the bundle.
	ErrWithheld = errors.New("inbox: WITHHELD: the bundle leaves out something addressed to you")
	// ErrRecipients: a case record names other recipients than the set its log entries commit to.
	ErrRecipients = errors.New("inbox: RECIPIENTS CHANGED: a case's recipients differ from the set committed in the log")
	// ErrOldBundle: the bundle is older than one already imported (nothing to do).
	ErrOldBundle = errors.New("inbox: this bundle is older than the last one imported")
)

// Meta keys of the log checks.
var (
	metaAddrKey = []byte("addressing-key")  // the reviewer's addressing key (32 bytes)
	metaNote    = []byte("checkpoint-note") // the latest verified checkpoint note
)

// TagCount is the constant number of tags of every leaf (leaf.DefaultTagCount; the server uses
// the same constant).
const TagCount = leaf.DefaultTagCount

// addressed is a leaf addressed to this reviewer, decoded.
type addressed struct {
	index int64
	entry *logentry.Entry // nil for the epoch record
	epoch *logentry.Epoch
}

// logView is what the checkpoint note and the leaf list proved.
type logView struct {
	note     *checkpoint.Verified
	logKey   *checkpoint.LogVerifier
	epoch    int
	newEpoch bool // the bundle is of a later epoch than the inbox's log
	key      *leaf.AddressingKey
	newKey   bool
	start    int64 // the size of the tree the list extends
	others   int   // leaves addressed to other reviewers
	entries  []addressed
	start0   *logentry.Epoch // the epoch record of a log after a restore (index 0)
	// undelivered are cases created for this reviewer that the bundle does not describe and the
	// inbox never had: recorded as missing.
	undelivered map[[16]byte]bool
}

// checkLog verifies the bundle's checkpoint note (the log's two signatures and the configured
// witnesses' cosignatures), that no witness refused the log (the server's alarms), and the leaf
// list against the trees this inbox verified before: every leaf since the inbox's checkpoint,
// nothing addressed to it withheld, no tree it saw contradicted.
func (in *Inbox) checkLog(p *parsed) (*logView, error) {
	if err := alarmErr(p); err != nil {
		return nil, err
	}
	v, key, epoch, err := in.openNote(p)
	if err != nil {
		return nil, err
	}
	lv := &logView{note: v, logKey: key, epoch: epoch, start: p.leaves.Start}
	st, err := in.logState()
	if err != nil {
		return nil, err
	}
	old, known, err := st.trees(lv, p)
	if err != nil {
		return nil, err
	}
	if lv.key, lv.newKey, err = in.addressingKey(st, p); err != nil {
		return nil, err
	}
	res, err := leaf.Verify(&p.leaves.List, old, tlog.Tree{N: v.Size, Hash: v.Hash},
		leaf.Options{Origin: v.Origin, Key: lv.key, TagCount: TagCount, Known: known})
	if err != nil {
		return nil, leafErr(err, v)
	}
	lv.others = res.Others
	return lv, lv.decode(res)
}

// alarmErr refuses a bundle whose server recorded a witness's refusal, naming the first.
func alarmErr(p *parsed) error {
	if len(p.alarms) == 0 {
		return nil
	}
	a, kind := p.alarms[0], ErrRollback
	if a.Kind == bundle.AlarmFork {
		kind = ErrFork
	}
	return fmt.Errorf("%w: a witness refused to cosign the server's log: %s. The store was rolled back "+
		"or forked; tell the other reviewers and ask the admin (nothing imported)", kind, a.Text)
}

// openNote verifies the checkpoint note with the log key of the pinned server key and the
// configured witnesses, and returns it with the log key and its epoch.
func (in *Inbox) openNote(p *parsed) (*checkpoint.Verified, *checkpoint.LogVerifier, int, error) {
	origin := p.header.ServerOrigin
	key := p.header.ServerKey
	if len(key) != crypto.VerifyKeySize {
		return nil, nil, 0, fmt.Errorf("%w: server key of %d bytes", ErrBadBundle, len(key))
	}
	_, epoch, err := checkpoint.ParseEpochOrigin(origin)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	if want, _ := checkpoint.EpochOrigin(key[:32], epoch); want != origin {
		return nil, nil, 0, fmt.Errorf("%w: the log origin %q is not the server key's", ErrBadBundle, origin)
	}
	lv, err := checkpoint.NewLogVerifierFromKeys(origin, key[:32], key[32:])
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	w, err := in.Witnesses()
	if err != nil {
		return nil, nil, 0, err
	}
	ws, err := w.verifiers()
	if err != nil {
		return nil, nil, 0, err
	}
	v, err := checkpoint.Open(p.note, lv, ws, w.Quorum)
	switch {
	case errors.Is(err, checkpoint.ErrQuorum):
		return nil, nil, 0, fmt.Errorf("%w (%d required): %v. Either the witnesses could not be reached when the "+
			"bundle was made (pull again later), or they refuse the server's log because it was rolled back "+
			"or forked (ask the admin for `candor status`; nothing imported)", ErrUnwitnessed, w.Quorum, err)
	case err != nil:
		return nil, nil, 0, fmt.Errorf("%w: checkpoint: %w", ErrBadBundle, err)
	}
	return v, lv, epoch, nil
}

// logState is what the inbox knows of the server's log.
type logState struct {
	origin string
	epoch  int
	known  []tlog.Tree // the verified trees of the current epoch, by increasing size
	key    []byte
}

func (in *Inbox) logState() (*logState, error) {
	st := &logState{}
	err := in.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		st.origin, st.key = string(meta.Get(metaOrigin)), bytes.Clone(meta.Get(metaAddrKey))
		return tx.Bucket(bucketCheckpoints).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != tlog.HashSize {
				return fmt.Errorf("inbox: corrupt checkpoint record")
			}
			st.known = append(st.known, tlog.Tree{N: int64(binary.BigEndian.Uint64(k)), Hash: tlog.Hash(v)})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if st.origin != "" {
		if _, st.epoch, err = checkpoint.ParseEpochOrigin(st.origin); err != nil {
			return nil, fmt.Errorf("inbox: stored origin: %w", err)
		}
	}
	return st, nil
}

// trees returns the tree the leaf list must extend and the verified trees it passes through. It
// refuses a bundle of an earlier epoch or of a smaller tree than this inbox verified (a
// rollback), and tells an older genuine bundle (ErrOldBundle) from one.
func (st *logState) trees(lv *logView, p *parsed) (tlog.Tree, []tlog.Tree, error) {
	v := lv.note
	switch {
	case st.epoch > lv.epoch:
		return tlog.Tree{}, nil, fmt.Errorf("%w: the bundle's log is of epoch %d, this inbox already follows epoch %d "+
			"(nothing imported)", ErrRollback, lv.epoch, st.epoch)
	case st.epoch < lv.epoch && st.epoch > 0:
		lv.newEpoch = true
		if lv.start != 0 {
			return tlog.Tree{}, nil, fmt.Errorf("%w: the leaves of a new epoch must start at 0", ErrBadBundle)
		}
		return tlog.Tree{}, nil, nil
	}
	var latest tlog.Tree
	byN := map[int64]tlog.Hash{}
	for _, k := range st.known {
		byN[k.N] = k.Hash
		latest = k
	}
	if h, ok := byN[v.Size]; ok && h != v.Hash {
		return tlog.Tree{}, nil, fmt.Errorf("%w: the bundle's checkpoint of size %d has root %s, but this inbox "+
			"verified root %s for size %d earlier: two different logs of the same size (nothing imported)",
			ErrFork, v.Size, root(v.Hash), root(h), v.Size)
	}
	if v.Size < latest.N {
		if h, ok := byN[v.Size]; ok && h == v.Hash {
			return tlog.Tree{}, nil, fmt.Errorf("%w (its checkpoint has size %d, this inbox has verified size %d): "+
				"nothing imported, nothing changed", ErrOldBundle, v.Size, latest.N)
		}
		return tlog.Tree{}, nil, fmt.Errorf("%w: the bundle's checkpoint has size %d (root %s), but this inbox verified "+
			"size %d (root %s) earlier: entries were removed from the log (nothing imported)",
			ErrRollback, v.Size, root(v.Hash), latest.N, root(latest.Hash))
	}
	old := tlog.Tree{N: lv.start}
	if lv.start > 0 {
		h, ok := byN[lv.start]
		if !ok {
			return tlog.Tree{}, nil, fmt.Errorf("%w (the leaves start at size %d, a tree this inbox never verified): pull "+
				"again with `candor sync pull --since 0`", ErrNoProof, lv.start)
		}
		old.Hash = h
	}
	var known []tlog.Tree
	for _, k := range st.known {
		if k.N > lv.start && k.N <= v.Size {
			known = append(known, k)
		}
	}
	return old, known, nil
}

// addressingKey returns the reviewer's addressing key: the stored one, or (on the first import)
// the one the bundle carries sealed to this reviewer, opened with the identity: the passphrase is
// asked once.
func (in *Inbox) addressingKey(st *logState, p *parsed) (*leaf.AddressingKey, bool, error) {
	if st.key != nil {
		k, err := leaf.NewAddressingKey(st.key) // the bundle's sealed copy is not opened again
		return k, false, err
	}
	if p.sealedKey == nil {
		return nil, false, fmt.Errorf("%w: the bundle lacks your addressing key and this inbox has none", ErrBadBundle)
	}
	id, err := in.Identity()
	if err != nil {
		return nil, false, err
	}
	raw, err := openSealed(p.sealedKey, id)
	if err != nil {
		return nil, false, fmt.Errorf("%w: your sealed addressing key: %w", ErrBadBundle, err)
	}
	k, err := leaf.NewAddressingKey(raw)
	return k, true, err
}

// leafErr says what a failed leaf.Verify means for the reviewer.
func leafErr(err error, v *checkpoint.Verified) error {
	where := fmt.Sprintf("the log of size %d", v.Size)
	switch {
	case errors.Is(err, leaf.ErrWithheld):
		return fmt.Errorf("%w: %s: a log entry addressed to you came without its content (nothing imported): %w",
			ErrWithheld, where, err)
	case errors.Is(err, leaf.ErrFork):
		return fmt.Errorf("%w: %s contradicts a checkpoint this inbox verified earlier: two different logs "+
			"(nothing imported): %w", ErrFork, where, err)
	case errors.Is(err, leaf.ErrRootMismatch), errors.Is(err, leaf.ErrFrontier):
		return fmt.Errorf("%w: the bundle's leaves do not make %s (an entry or its addressing was altered, "+
			"added or hidden; nothing imported): %w", ErrRewrite, where, err)
	case errors.Is(err, leaf.ErrTruncated), errors.Is(err, leaf.ErrRange):
		return fmt.Errorf("%w: the bundle does not carry every leaf since this inbox's checkpoint "+
			"(nothing imported): %w", ErrWithheld, err)
	}
	return fmt.Errorf("%w: leaf list: %w", ErrBadBundle, err)
}

// decode parses the leaves addressed to this reviewer: log entries, and the epoch record that
// starts every epoch after the first.
func (lv *logView) decode(res *leaf.Result) error {
	for _, d := range res.Addressed {
		a := addressed{index: d.Index}
		var err error
		if logentry.IsEpoch(d.Rest) {
			a.epoch, err = logentry.ParseEpoch(d.Rest)
		} else {
			a.entry, err = logentry.Parse(d.Rest)
		}
		if err != nil {
			return fmt.Errorf("%w: log entry %d: %w", ErrBadBundle, d.Index, err)
		}
		if (a.epoch != nil) != (d.Index == 0 && lv.epoch > 1) || a.epoch != nil && !d.Public {
			return fmt.Errorf("%w: log entry %d: an epoch starts with its epoch record, and only there", ErrBadBundle, d.Index)
		}
		if a.epoch != nil {
			if a.epoch.Epoch != lv.epoch {
				return fmt.Errorf("%w: the epoch record names epoch %d in epoch %d", ErrBadBundle, a.epoch.Epoch, lv.epoch)
			}
			lv.start0 = a.epoch
		}
		lv.entries = append(lv.entries, a)
	}
	if lv.epoch > 1 && lv.start == 0 && lv.start0 == nil && lv.note.Size > 0 {
		return fmt.Errorf("%w: epoch %d does not start with its epoch record", ErrBadBundle, lv.epoch)
	}
	return nil
}
