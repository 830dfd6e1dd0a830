package cases

import (
	"bytes"
	"io"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/frame"
	"candor/server/store"
)

// Sealer encrypts one submission — its message, its answers and its files, as frames (padded)
// under age to the submission's recipients — into a pending blob, streamed: nothing of it is
// buffered beyond age's and frame's 64 KiB chunks and the store's batch. Start it with
// [Service.NewSealer], write the parts in order, and Finish it; the caller then owns the pending
// blob of the returned Sealed (commit it with CreateCase or AddFollowup, or Abort it). After an
// error, Abort deletes everything written. The HTTP shell feeds it from a multipart stream; a test
// or another front end feeds it from any io.Reader.
type Sealer struct {
	blob   *store.BlobWriter
	header bytes.Buffer
	enc    io.WriteCloser
	fw     *frame.Writer
	files  int
}

// NewSealer starts a pending blob sealed to recipients. wrap, if not nil, wraps the writer of the
// ciphertext payload (the HTTP shell charges each batch to the upload's memory reservation).
func (s *Service) NewSealer(recipients []age.Recipient, wrap func(io.Writer) io.Writer) (*Sealer, error) {
	blob, err := s.st.NewBlob()
	if err != nil {
		return nil, err
	}
	sl := &Sealer{blob: blob}
	var dst io.Writer = blob
	if wrap != nil {
		dst = wrap(blob)
	}
	if sl.enc, err = crypto.Seal(&sl.header, dst, recipients); err != nil {
		sl.Abort()
		return nil, err
	}
	sl.fw = frame.NewWriter(sl.enc)
	return sl, nil
}

// Text writes a text part: the message (frame.KindMessage) or the formatted answers
// (frame.KindAnswers).
func (sl *Sealer) Text(k frame.Kind, name, text string) error {
	w, err := sl.fw.Part(k, name, "text/plain; charset=utf-8")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

// File starts the next file part; name must already be sanitised (internal/filename). The file's
// bytes go to the returned writer until the next part or Finish.
func (sl *Sealer) File(name, contentType string) (io.Writer, error) {
	sl.files++
	return sl.fw.Part(frame.KindFile, name, contentType)
}

// Files is the number of file parts started.
func (sl *Sealer) Files() int { return sl.files }

// Finish closes the frames and age, stores the header and closes the pending blob durably.
func (sl *Sealer) Finish() (*Sealed, error) {
	if err := sl.fw.Close(); err != nil {
		return nil, err
	}
	if err := sl.enc.Close(); err != nil {
		return nil, err
	}
	if err := sl.blob.SetHeader(sl.header.Bytes()); err != nil {
		return nil, err
	}
	id, err := sl.blob.Close()
	if err != nil {
		return nil, err
	}
	return &Sealed{Blob: sl.blob, ID: id, Header: bytes.Clone(sl.header.Bytes()), Files: sl.files}, nil
}

// Abort deletes the pending blob and everything written to it.
func (sl *Sealer) Abort() error { return sl.blob.Abort() }
