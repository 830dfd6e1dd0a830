package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Errors of Backup and Restore. None of them contains a key or content.
var (
	// ErrBadBackup: the backup cannot be decrypted, is not a Candor store, or fails verification
	// (schema, keys, log consistency, records). Nothing was replaced.
	ErrBadBackup = errors.New("backup is not a valid Candor backup")
	// ErrLiveStore: the data directory already holds an installation; Restore replaces it only
	// with Force.
	ErrLiveStore = errors.New("the data directory already holds a store (use --force to replace it)")
	// ErrForeignBackup: the backup belongs to another installation (different installation id);
	// Restore accepts it only with Force.
	ErrForeignBackup = errors.New("the backup belongs to a different installation (use --force to restore it anyway)")
)

// SetBackupRecipients stores the age recipients (age1pq1…, hybrid post-quantum only) that Backup
// encrypts to when it is given none. The admin keeps the matching identity offline.
func (a *Admin) SetBackupRecipients(recipients []string) error {
	if _, err := crypto.ParseRecipients(recipients); err != nil {
		return fmt.Errorf("backup recipient: %w", err)
	}
	b, _ := json.Marshal(recipients)
	return a.st.PutMeta(MetaBackupRecipients, b)
}

// BackupRecipients returns the configured backup recipients (none: nil).
func (a *Admin) BackupRecipients() ([]string, error) {
	b, err := a.st.Meta(MetaBackupRecipients)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs []string
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("backup recipients: %w", store.ErrCorrupt)
	}
	return rs, nil
}

// BackupInfo describes a backup that was written.
type BackupInfo struct {
	Bytes    int64 `json:"bytes"`     // size of the store snapshot (before encryption)
	LogIndex int64 `json:"log_index"` // index of the BackupTaken entry (it is inside the backup)
}

// Backup writes an age-encrypted, consistent and compacted snapshot of the store to w: a standard
// age file (decryptable with the stock age CLI) whose plaintext is a bbolt store file. It encrypts
// to recipients, or to the configured backup recipients if there are none (ErrNoBackupRecipient if
// neither). Writers continue meanwhile. The BackupTaken entry (Subject: SHA-256 of the backup's age
// header) is appended before the snapshot, so the backup holds it; if the snapshot then fails, the
// entry records an attempt.
func (a *Admin) Backup(w io.Writer, recipients []string) (BackupInfo, error) {
	if len(recipients) == 0 {
		rs, err := a.BackupRecipients()
		if err != nil {
			return BackupInfo{}, err
		}
		if len(rs) == 0 {
			return BackupInfo{}, ErrNoBackupRecipient
		}
		recipients = rs
	}
	rs, err := crypto.ParseRecipients(recipients)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup recipient: %w", err)
	}
	var hdr bytes.Buffer
	wc, err := crypto.Seal(&hdr, &headerFirst{w: w, hdr: &hdr}, rs)
	if err != nil {
		return BackupInfo{}, err
	}
	e, err := (&logentry.Entry{Type: logentry.BackupTaken, Day: a.today(), Actor: "admin",
		Subject: sha256.Sum256(hdr.Bytes())}).Marshal()
	if err != nil {
		return BackupInfo{}, err
	}
	idx, err := a.st.AppendLog([][]byte{e})
	if err != nil {
		return BackupInfo{}, err
	}
	n, err := a.st.Backup(wc)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	if err := wc.Close(); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	return BackupInfo{Bytes: n, LogIndex: idx[0]}, nil
}

// headerFirst writes the age header (complete once crypto.Seal returns) to w before the first
// payload byte, so w receives one joined age file.
type headerFirst struct {
	w       io.Writer
	hdr     *bytes.Buffer
	started bool
}

func (h *headerFirst) Write(p []byte) (int, error) {
	if !h.started {
		h.started = true
		if _, err := h.w.Write(h.hdr.Bytes()); err != nil {
			return 0, err
		}
	}
	return h.w.Write(p)
}

// RestoreOptions configures Restore.
type RestoreOptions struct {
	// Identities decrypt the backup (the backup identity the admin keeps offline).
	Identities []age.Identity
	// Force replaces an existing installation, and accepts a backup of another installation.
	Force bool
	// Now dates the RestoreDone entry; nil means time.Now.
	Now func() time.Time
}

// RestoreInfo describes a restored store.
type RestoreInfo struct {
	Installation string `json:"installation"`
	LogSize      int64  `json:"log_size"` // including the RestoreDone entry
	Cases        int    `json:"cases"`
	Reviewers    int    `json:"reviewers"`
	Replaced     bool   `json:"replaced"` // an existing installation was replaced (Force)
	// Epoch is the log epoch the restore started (DESIGN §7.4): a restore is never silent.
	Epoch EpochInfo `json:"epoch"`
}

// Restore decrypts the backup r into dataDir's store. It first decrypts into a temporary file
// next to the store and verifies it completely — it opens as a store of the current schema, holds
// an installation with valid keys, every case-log entry parses and the log's stored tree matches
// the entries (a checkpoint signed with the backup's server key verifies), every record decodes —
// and only then renames it over the store, after appending a RestoreDone entry (Subject: SHA-256
// of the backup's age header). It refuses a data directory whose store is in use by a running
// server (store.ErrLocked: stop it first) in any case. Over an existing installation it refuses a
// backup of another installation (ErrForeignBackup) or, if it is of the same one, to roll the
// store back (ErrLiveStore), unless opts.Force. With no store (or an empty one) in dataDir, any
// valid backup is restored; a store that cannot be opened is replaced only with opts.Force. On any
// failure the data directory is unchanged.
func Restore(dataDir string, r io.Reader, opts RestoreOptions) (RestoreInfo, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	current, err := currentInstallation(dataDir)
	switch {
	case errors.Is(err, store.ErrLocked):
		return RestoreInfo{}, err
	case err != nil && !opts.Force:
		return RestoreInfo{}, fmt.Errorf("%w (--force replaces it)", err)
	case err != nil:
		current = "unreadable" // a damaged store: --force replaces it
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return RestoreInfo{}, fmt.Errorf("data directory: %w", err)
	}
	prior := readPrior(dataDir)
	tmp, hdr, err := decryptBackup(dataDir, r, opts.Identities)
	if err != nil {
		return RestoreInfo{}, err
	}
	defer os.Remove(tmp) // after the rename, a no-op
	info, err := verifyBackup(tmp, hdr, day.FromTime(opts.Now()), prior)
	if err != nil {
		return RestoreInfo{}, err
	}
	switch {
	case current != "" && info.Installation != current && !opts.Force:
		return RestoreInfo{}, ErrForeignBackup
	case current != "" && !opts.Force:
		return RestoreInfo{}, ErrLiveStore
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, installation.StoreFile)); err != nil {
		return RestoreInfo{}, fmt.Errorf("restore: %w", err)
	}
	syncDir(dataDir)
	info.Replaced = current != ""
	return info, nil
}

// currentInstallation returns the installation id of dataDir's store ("" if there is no store or
// it holds no installation). A store held by a running server fails with store.ErrLocked.
func currentInstallation(dataDir string) (string, error) {
	path := filepath.Join(dataDir, installation.StoreFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	st, err := store.Open(path, &store.Options{LockTimeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return "", fmt.Errorf("restore: %w (stop candor serve first)", err)
	}
	if err != nil {
		return "", fmt.Errorf("restore: current store: %w", err)
	}
	defer st.Close()
	id, err := st.Meta(installation.MetaInstallation)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return string(id), err
}

// decryptBackup decrypts r into a new temporary file in dir and returns its path and the backup's
// age header.
func decryptBackup(dir string, r io.Reader, ids []age.Identity) (string, []byte, error) {
	if len(ids) == 0 {
		return "", nil, fmt.Errorf("%w: no identity to decrypt it", ErrBadBackup)
	}
	hdr, payload, err := crypto.SplitHeader(r)
	if err != nil {
		return "", nil, fmt.Errorf("%w: not an age file: %v", ErrBadBackup, err)
	}
	plain, err := age.Decrypt(io.MultiReader(bytes.NewReader(hdr), payload), ids...)
	if err != nil {
		return "", nil, fmt.Errorf("%w: cannot decrypt: %v", ErrBadBackup, err)
	}
	suffix := make([]byte, 8)
	rand.Read(suffix)
	tmp := filepath.Join(dir, installation.StoreFile+".restore-"+hex.EncodeToString(suffix))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(f, plain)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", nil, fmt.Errorf("%w: decrypting: %v", ErrBadBackup, err)
	}
	return tmp, hdr, nil
}

// verifyBackup checks the decrypted store at path, starts the next log epoch (startEpoch) and
// appends the RestoreDone entry to it.
func verifyBackup(path string, hdr []byte, today day.Day, prior priorLog) (RestoreInfo, error) {
	st, err := store.Open(path, &store.Options{LockTimeout: time.Second})
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	defer st.Close()
	k, err := installation.LoadKeys(st)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if _, _, err := installation.OnionKeys(st); err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if err := verifyLog(st, k); err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: case log: %v", ErrBadBackup, err)
	}
	stats, err := st.Stats() // decodes every case record
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if _, err := st.Reviewers(); err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if _, err := installation.LoadSettings(st); err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	id, err := st.Meta(installation.MetaInstallation)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: installation id: %v", ErrBadBackup, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := startEpoch(ctx, st, prior)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("restore: new log epoch: %w", err)
	}
	e, err := (&logentry.Entry{Type: logentry.RestoreDone, Day: today, Actor: "admin",
		Subject: sha256.Sum256(hdr)}).Marshal()
	if err != nil {
		return RestoreInfo{}, err
	}
	idx, err := st.AppendLog([][]byte{e})
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("restore: %w", err)
	}
	return RestoreInfo{Installation: string(id), LogSize: idx[0] + 1,
		Cases: stats.Cases, Reviewers: stats.Reviewers, Epoch: ep}, nil
}

// verifyLog checks the restored log with CheckLog (entries against stored hashes and the last
// signed checkpoint) and that the installation's key signs a checkpoint of it that verifies.
func verifyLog(st *store.Store, k *installation.Keys) error {
	if _, err := CheckLog(st); err != nil {
		return err
	}
	size, root, err := st.LogHead()
	if err != nil {
		return err
	}
	note, err := k.Log.Sign(&checkpoint.Checkpoint{Origin: k.Origin, Size: size, Hash: root})
	if err != nil {
		return err
	}
	v, err := checkpoint.NewLogVerifierFromKeys(k.Origin, k.Signer.Public().Bytes()[:32], k.Signer.Public().Bytes()[32:])
	if err != nil {
		return err
	}
	_, err = checkpoint.Open(note, v, nil, 0)
	return err
}

// syncDir fsyncs a directory so that a rename in it is durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
