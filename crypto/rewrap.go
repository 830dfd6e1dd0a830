package crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/hkdf"
)

// ErrRewrap: a header could not be re-wrapped (the identity cannot open it, or no recipients).
var ErrRewrap = errors.New("crypto: cannot re-wrap the age header")

// Rewrap returns a new age header for the age file whose header is header: the same file key,
// opened with id, wrapped to recipients (which must all be hybrid post-quantum recipients, or all
// classic ones), with the header MAC recomputed under that key. The payload is untouched, so
// newHeader ‖ payload decrypts, with any of the recipients' identities and the stock age CLI, to
// the same plaintext as header ‖ payload. This is how a reviewer shares a case with another
// reviewer without re-encrypting gigabytes (DESIGN §12).
//
// The file key never leaves this function, and errors never quote it.
func Rewrap(header []byte, id age.Identity, recipients []age.Recipient) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrRewrap)
	}
	fileKey, err := age.DecryptHeader(header, id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRewrap, openError(err))
	}
	defer clear(fileKey)
	var b bytes.Buffer
	b.WriteString("age-encryption.org/v1\n")
	var labels string
	for i, r := range recipients {
		stanzas, l, err := wrap(r, fileKey)
		if err != nil {
			return nil, fmt.Errorf("%w: recipient %d: %w", ErrRewrap, i+1, err)
		}
		if i > 0 && l != labels {
			return nil, fmt.Errorf("%w: post-quantum and classic recipients cannot be mixed", ErrRewrap)
		}
		labels = l
		for _, s := range stanzas {
			writeStanza(&b, s)
		}
	}
	b.WriteString("---")
	mac, err := headerMAC(fileKey, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRewrap, err)
	}
	b.WriteString(" " + base64.RawStdEncoding.EncodeToString(mac) + "\n")
	return b.Bytes(), nil
}

// wrap wraps fileKey for r and returns its stanzas and its labels (sorted, joined).
func wrap(r age.Recipient, fileKey []byte) ([]*age.Stanza, string, error) {
	if rl, ok := r.(age.RecipientWithLabels); ok {
		s, l, err := rl.WrapWithLabels(fileKey)
		l = slices.Clone(l)
		slices.Sort(l)
		return s, strings.Join(l, ","), err
	}
	s, err := r.Wrap(fileKey)
	return s, "", err
}

// writeStanza writes s as age's format does: "-> TYPE ARGS\n", then the body in unpadded
// standard base64 wrapped at 64 columns, the last line shorter than 64 (possibly empty).
func writeStanza(w *bytes.Buffer, s *age.Stanza) {
	w.WriteString("-> " + s.Type)
	for _, a := range s.Args {
		w.WriteString(" " + a)
	}
	w.WriteString("\n")
	enc := base64.RawStdEncoding.EncodeToString(s.Body)
	for len(enc) >= 64 {
		w.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	w.WriteString(enc + "\n")
}

// headerMAC is age's header MAC: HMAC-SHA-256 under HKDF-SHA-256(fileKey, info "header") over the
// header up to and including "---".
func headerMAC(fileKey, header []byte) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, fileKey, nil, []byte("header")), key); err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, key)
	h.Write(header)
	return h.Sum(nil), nil
}
