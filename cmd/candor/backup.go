package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"golang.org/x/term"

	"candor/admin"
	"candor/internal/atomicfile"
	"candor/internal/passfile"
	"candor/server/store"
)

const backupSynopsis = "candor backup --data DIR --to FILE [--recipient age1pq1…]... [--recipients-file F] [--save-recipients]"

func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", backupSynopsis, stderr)
	data := dataFlag(fs)
	to := fs.String("to", "", "write the encrypted backup to this new `file`")
	var recips fileList
	fs.Var(&recips, "recipient", "age hybrid `recipient` (age1pq1…) to encrypt to (repeatable; default: the saved ones)")
	recipFile := fs.String("recipients-file", "", "`file` of recipients, one per line")
	save := fs.Bool("save-recipients", false, "remember the given recipients as the default (needs the store, not a running server)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 0); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return errUsage
	}
	rs, err := readRecipients(recips, *recipFile)
	if err != nil {
		return err
	}
	a, done, err := openAdmin(*data)
	if err != nil {
		return err
	}
	defer done()
	if *save {
		local, ok := a.(*admin.Admin)
		if !ok {
			return errors.New("--save-recipients needs the store: stop candor serve first")
		}
		if err := local.SetBackupRecipients(rs); err != nil {
			return err
		}
	}
	info, err := writeNewFile(*to, func(w io.Writer) (admin.BackupInfo, error) { return a.Backup(w, rs) })
	if errors.Is(err, admin.ErrNoBackupRecipient) {
		return withHint(err, "give --recipient age1pq1… (make a key offline with: age-keygen -pq -o backup.key); --save-recipients remembers it")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes of store, encrypted)\n", *to, info.Bytes)
	return nil
}

func readRecipients(flags []string, file string) ([]string, error) {
	rs := append([]string(nil), flags...)
	if file == "" {
		return rs, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			rs = append(rs, l)
		}
	}
	return rs, nil
}

// writeNewFile runs fn on a temporary file next to name and renames it to name on success; on
// failure nothing is left behind. An existing name is refused.
func writeNewFile(name string, fn func(io.Writer) (admin.BackupInfo, error)) (admin.BackupInfo, error) {
	if _, err := os.Lstat(name); err == nil {
		return admin.BackupInfo{}, fmt.Errorf("%s already exists (choose a new file name)", name)
	}
	var info admin.BackupInfo
	err := atomicfile.Write(name, 0o600, func(w io.Writer) (err error) {
		info, err = fn(w)
		return err
	})
	if err != nil {
		return admin.BackupInfo{}, err
	}
	return info, nil
}

const restoreSynopsis = "candor restore --data DIR --from FILE --identity FILE [--passphrase-file F] [--force]"

func runRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", restoreSynopsis, stderr)
	data := dataFlag(fs)
	from := fs.String("from", "", "the encrypted backup `file`")
	idFile := fs.String("identity", "", "age identity `file` of the backup key (plain or passphrase-encrypted)")
	passFile := fs.String("passphrase-file", "", "read the identity file's passphrase from this `file`")
	force := fs.Bool("force", false, "replace an existing store, even with a backup of another installation")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 0); err != nil {
		return err
	}
	if *from == "" || *idFile == "" {
		fs.Usage()
		return errUsage
	}
	ids, err := readIdentities(*idFile, *passFile, stderr)
	if err != nil {
		return err
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := admin.Restore(*data, bufio.NewReaderSize(f, 1<<20), admin.RestoreOptions{Identities: ids, Force: *force})
	switch {
	case errors.Is(err, store.ErrLocked):
		return withHint(err, "restore replaces the store file: stop candor serve, restore, start it again")
	case errors.Is(err, admin.ErrLiveStore), errors.Is(err, admin.ErrForeignBackup):
		return withHint(err, "nothing was changed; take a backup of the current store first if you may need it")
	case errors.Is(err, admin.ErrBadBackup):
		return withHint(err, "nothing was changed")
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "restored installation %s: %d cases, %d reviewers, %d log entries\n",
		info.Installation, info.Cases, info.Reviewers, info.LogSize)
	ep := info.Epoch
	fmt.Fprintf(stdout, "new log epoch %d: %s (the previous log %s had %d witnessed entries; %d of them are lost)\n",
		ep.Epoch, ep.Origin, ep.Previous, ep.Witnessed, ep.Lost)
	if len(ep.Unasked) > 0 {
		fmt.Fprintf(stderr, "Witnesses not asked how far they cosigned (the loss may be larger): %s\n", strings.Join(ep.Unasked, ", "))
	}
	fmt.Fprintf(stderr, "Tell every witness's operator the new log: witnessctl add-log -origin %s; witnessctl add-key -origin %s -key %s\n",
		ep.Origin, ep.Origin, ep.LogKey)
	if info.Replaced {
		fmt.Fprintln(stderr, "The previous store was replaced. Reviewers' inboxes will show what the restore lost.")
	}
	return nil
}

// readIdentities reads an age identity file; a passphrase-encrypted one (as age -p writes, or
// candor-inbox) is decrypted with the passphrase from passFile or the terminal.
func readIdentities(name, passFile string, stderr io.Writer) ([]age.Identity, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) {
		pass, err := readPassphrase(passFile, stderr)
		if err != nil {
			return nil, err
		}
		sid, err := age.NewScryptIdentity(pass)
		if err != nil {
			return nil, err
		}
		r, err := age.Decrypt(bytes.NewReader(b), sid)
		if err != nil {
			return nil, fmt.Errorf("identity file %s: wrong passphrase or damaged file", name)
		}
		if b, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("identity file %s: %w", name, err)
		}
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("identity file %s: no age identity in it", name)
	}
	return ids, nil
}

// readPassphrase reads the passphrase from file (internal/passfile) or the terminal.
func readPassphrase(file string, stderr io.Writer) (string, error) {
	if file != "" {
		b, err := passfile.Read(file)
		return string(b), err
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", errors.New("the identity file is encrypted: give --passphrase-file or run on a terminal")
	}
	fmt.Fprint(stderr, "Passphrase for the backup identity: ")
	p, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(stderr)
	return string(p), err
}
