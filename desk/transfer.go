package desk

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"candor/inbox"
)

// OutboxDir is the directory under the inbox home where the desk writes outbox files. They stay
// until the reviewer deletes them, so a download that failed or was cancelled can be repeated:
// inbox.Outbox takes the envelopes off the queue as it writes the file.
const OutboxDir = "outbox"

func (d *Desk) importPage(w http.ResponseWriter, r *http.Request) {
	data := &importData{page: d.unlockedPage(w, r, "import")}
	if err := d.do(func(in *inbox.Inbox) error { return data.trusted(in) }); err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, http.StatusOK, pageImport, data)
}

// trusted fills in the fingerprint of the server key the inbox trusts, if any.
func (data *importData) trusted(in *inbox.Inbox) error {
	fp, pinned, err := in.ServerFingerprint()
	if pinned {
		data.Trusted = fp
	}
	return err
}

// importBundle imports an uploaded bundle: inbox.Import, as `candor-inbox import BUNDLE`. On the
// first import the form carries the server key's fingerprint the admin gave the reviewer
// (inbox.TrustServer, as `--server-key`); without it the refusal names the bundle's key to compare.
func (d *Desk) importBundle(w http.ResponseWriter, r *http.Request) {
	path, serverKey, err := d.receiveBundle(r)
	if path != "" {
		defer os.Remove(path)
	}
	var res *inbox.ImportResult
	data := &importData{TypedKey: serverKey}
	if err == nil {
		err = d.do(func(in *inbox.Inbox) (err error) {
			if serverKey != "" {
				if err := in.TrustServer(serverKey); err != nil {
					return err
				}
			}
			res, err = in.Import(path)
			if terr := data.trusted(in); err == nil {
				err = terr
			}
			return err
		})
	}
	if errors.Is(err, errLocked) {
		d.locked(w, r)
		return
	}
	p := d.unlockedPage(w, r, "import")
	p.Path = d.base() + "/import"
	data.page, data.Result = p, res
	status := http.StatusOK
	if err != nil {
		d.logErr(err)
		data.Refusal, status = d.refusalFor(p.Lang, err), statusOf(err)
		if ue, ok := errors.AsType[*inbox.UnconfirmedServerError](err); ok {
			data.Refusal.Details = ""
			data.Refusal.Key = ue.Fingerprint
		}
	}
	d.render(w, status, pageImport, data)
}

// receiveBundle streams the form's "bundle" file into a temporary file in the inbox home (mode
// 0600) and returns its path, which the caller removes, and the "server_key" field. A bundle is
// ciphertext and signed records only, so this file holds nothing a reader of the disk could not
// already find in blobs/.
func (d *Desk) receiveBundle(r *http.Request) (path, serverKey string, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", "", errBadForm
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF && path != "" {
			return path, serverKey, nil
		}
		if err != nil {
			if path != "" {
				os.Remove(path)
			}
			if err == io.EOF {
				return "", "", errNoBundle
			}
			return "", "", fmt.Errorf("%w: %w", errUpload, err)
		}
		switch part.FormName() {
		case "server_key":
			b, err := io.ReadAll(io.LimitReader(part, 257))
			if err != nil || len(b) > 256 {
				if path != "" {
					os.Remove(path)
				}
				return "", "", errBadForm
			}
			serverKey = strings.TrimSpace(string(b))
		case "bundle":
			if path != "" {
				continue // one bundle per import
			}
			f, err := os.CreateTemp(d.cfg.Home, ".desk-import-*")
			if err != nil {
				return "", "", err
			}
			_, err = io.Copy(f, part)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(f.Name())
				return "", "", fmt.Errorf("%w: %w", errUpload, err)
			}
			path = f.Name()
		}
	}
}

var (
	errNoBundle = errors.New("desk: the form holds no bundle")
	errUpload   = errors.New("desk: the upload broke off")
)

func (d *Desk) outboxPage(w http.ResponseWriter, r *http.Request) {
	d.showOutbox(w, r, http.StatusOK, nil)
}

func (d *Desk) showOutbox(w http.ResponseWriter, r *http.Request, status int, ref *refusal) {
	var n int
	if err := d.do(func(in *inbox.Inbox) (err error) { n, err = in.Pending(); return err }); err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.unlockedPage(w, r, "outbox")
	p.Path = d.base() + "/outbox"
	d.render(w, status, pageOutbox, &outboxData{page: p, Pending: n, Files: d.outboxFiles(), Refusal: ref})
}

// writeOutbox writes the outbox into OutboxDir: inbox.Outbox, as `candor-inbox outbox -o FILE`.
func (d *Desk) writeOutbox(w http.ResponseWriter, r *http.Request) {
	dir := filepath.Join(d.cfg.Home, OutboxDir)
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = d.do(func(in *inbox.Inbox) error {
			_, err := in.Outbox(filepath.Join(dir, d.outboxName(dir)))
			return err
		})
	}
	if err != nil {
		if errors.Is(err, errLocked) {
			d.locked(w, r)
			return
		}
		d.logErr(err)
		d.showOutbox(w, r, statusOf(err), d.refusalFor(d.lang(w, r), err))
		return
	}
	http.Redirect(w, r, d.base()+"/outbox?done=outbox", http.StatusSeeOther)
}

// outboxName is a new file name in dir: outbox-DATE-TIME, numbered if taken.
func (d *Desk) outboxName(dir string) string {
	base := "outbox-" + d.cfg.Now().UTC().Format("2006-01-02-150405")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// outboxFiles lists OutboxDir, newest first.
func (d *Desk) outboxFiles() []outboxFile {
	entries, _ := os.ReadDir(filepath.Join(d.cfg.Home, OutboxDir))
	var out []outboxFile
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !validOutboxName(e.Name()) {
			continue
		}
		out = append(out, outboxFile{Name: e.Name(), Size: info.Size()})
	}
	slices.Reverse(out) // the names sort by time
	return out
}

func validOutboxName(name string) bool {
	return strings.HasPrefix(name, "outbox-") && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '-' || r >= 'a' && r <= 'z')
	})
}

// outboxFile downloads a file written by writeOutbox.
func (d *Desk) outboxFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validOutboxName(name) {
		d.notFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(d.cfg.Home, OutboxDir, name))
	if err != nil {
		d.notFound(w, r)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", attachment(name))
	io.Copy(w, f)
}
