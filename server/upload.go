package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"candor/crypto"
	"candor/frontend"
	"candor/internal/frame"
	"candor/server/store"
)

// The upload path. A submission's multipart body is read as a stream (never through fiber's
// FormFile/FormValue/MultipartForm, which write plaintext temp files). The text fields, which come
// first in our forms, are buffered in memory (bounded by the message limit) until the first file
// part or the end of the body: only then are the recipients known. From there on, every byte goes
// through frame.Writer (framing and Padmé padding) into crypto.Seal (age), whose header is kept in
// memory and whose payload goes into a store.BlobWriter in chunks. Memory per upload is one
// 64 KiB copy buffer, age's and frame's 64 KiB chunks, and the store's 1 MiB chunk.

// Sentinel errors of the upload path, mapped to pages by uploadPage.
var (
	errTooLarge     = errors.New("upload over the size limit")
	errTooManyFiles = errors.New("upload over the file limit")
	errMessageLong  = errors.New("message over the character limit")
	errMalformed    = errors.New("malformed multipart body")
	errInterrupted  = errors.New("request body ended early or failed")
)

// Field names of the submission forms (DESIGN §11).
const (
	fieldCategory       = "category"
	fieldMessage        = "message"
	fieldReviewer       = "reviewer"
	fieldReviewerChoice = "reviewer-choice" // present when the form offered the reviewer choice
	fieldFile           = "file"
	fieldAnswerPrefix   = "q."
)

// Bounds on the buffered text fields (besides the message).
const (
	maxFieldBytes = 16 << 10 // one questionnaire answer or other short field
	maxTextParts  = 200      // text fields of one submission
)

// form is the text part of a submission, buffered until the recipients are known.
type form struct {
	category       *string
	message        *string
	answers        map[string]string
	reviewers      []string
	reviewerChoice bool
	answersText    string // the formatted answers, set by the start func
}

// sealed is a finished, closed, still pending blob.
type sealed struct {
	blob   *store.BlobWriter
	id     store.BlobID
	header []byte
	files  int
}

// upload is one submission being read.
type upload struct {
	s         *Server
	body      *bodyReader
	budget    int64 // content bytes (message, answers, files) still allowed
	form      form
	texts     int
	start     func(*form) ([]age.Recipient, error)
	blob      *store.BlobWriter
	header    bytes.Buffer
	enc       io.WriteCloser
	fw        *frame.Writer
	files     int
	lastRead  error // the last error a part read returned (multipart-level errors)
	copyBufer []byte
}

var (
	copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
	bodyBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// acquireUpload takes an upload slot, waiting at most UploadWait (the client's body waits in the
// socket meanwhile); it returns a release func or the busy page.
func (s *Server) acquireUpload() (func(), error) {
	t := time.NewTimer(s.limits.UploadWait)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	case <-t.C:
		return nil, pageErr(frontend.ErrorUploadsBusy, nil)
	}
}

// readUpload reads a whole submission from the request body. start validates the buffered text
// fields and returns the recipients; it is called once, at the first file or at the end. On
// success the caller owns the pending blob (commit it with a case operation or Abort it); on
// failure nothing is left in the store and the error is a *pageError.
func (s *Server) readUpload(c *fiber.Ctx, start func(*form) ([]age.Recipient, error)) (*sealed, error) {
	boundary, err := multipartBoundary(c.Get(fiber.HeaderContentType))
	if err != nil {
		return nil, uploadPage(err)
	}
	maxRaw := s.limits.MaxTotalBytes + uploadOverhead
	declared := int64(c.Request().Header.ContentLength())
	if declared > maxRaw {
		// Refused before reading: fasthttp closes the connection rather than draining a large
		// unread body, so nothing of it can be read as a next request.
		return nil, uploadPage(errTooLarge)
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		stream = bytes.NewReader(c.Body())
	}
	u := &upload{s: s, body: &bodyReader{r: stream, max: maxRaw, declared: declared},
		budget: s.limits.MaxTotalBytes, start: start}
	u.form.answers = map[string]string{}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	u.copyBufer = *bp
	// multipart reads through a 4 KiB buffer of its own; the larger one below it turns those into
	// 64 KiB reads of the socket (one syscall each, not one per 4–8 KiB).
	br := bodyBuffers.Get().(*bufio.Reader)
	br.Reset(u.body)
	defer func() { br.Reset(nil); bodyBuffers.Put(br) }()
	res, err := u.run(multipart.NewReader(br, boundary))
	if err != nil {
		if u.blob != nil {
			if aerr := u.blob.Abort(); aerr != nil {
				s.log.Error("aborting upload", "err", aerr)
			}
		}
		return nil, u.classify(err)
	}
	return res, nil
}

func multipartBoundary(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", errMalformed
	}
	return params["boundary"], nil
}

func (u *upload) run(mr *multipart.Reader) (*sealed, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			u.lastRead = err
			return nil, err
		}
		if p.FormName() == fieldFile {
			err = u.file(p)
		} else {
			err = u.text(p)
		}
		p.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := u.begin(); err != nil {
		return nil, err
	}
	return u.finish()
}

// text buffers one text field.
func (u *upload) text(p *multipart.Part) error {
	if u.fw != nil {
		// Our forms put every text field before the files; a field after a file would have to be
		// sealed before the recipients it chooses are known.
		return errMalformed
	}
	if u.texts++; u.texts > maxTextParts {
		return errMalformed
	}
	name := p.FormName()
	limit := int64(maxFieldBytes)
	if name == fieldMessage {
		limit = 4*int64(u.s.limits.MaxMessageChars) + 4
	}
	v, err := u.readText(p, limit, name == fieldMessage)
	if err != nil {
		return err
	}
	f := &u.form
	switch {
	case name == fieldMessage:
		if f.message != nil {
			return errMalformed
		}
		if utf8.RuneCountInString(v) > u.s.limits.MaxMessageChars {
			return errMessageLong
		}
		f.message = &v
	case name == fieldCategory:
		if f.category != nil {
			return errMalformed
		}
		f.category = &v
	case name == fieldReviewer:
		f.reviewers = append(f.reviewers, v)
	case name == fieldReviewerChoice:
		f.reviewerChoice = true
	case strings.HasPrefix(name, fieldAnswerPrefix):
		f.answers[strings.TrimPrefix(name, fieldAnswerPrefix)] = v
	}
	return nil
}

// readText reads a text field of at most limit bytes, as valid UTF-8 with "\n" line ends.
func (u *upload) readText(p *multipart.Part, limit int64, message bool) (string, error) {
	b, err := io.ReadAll(io.LimitReader(u.content(p), limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > limit {
		if message {
			return "", errMessageLong
		}
		return "", errMalformed
	}
	if !utf8.Valid(b) {
		return "", errMalformed
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n"), nil
}

// file seals one file part; an empty part without a name (an unused file input) is skipped.
func (u *upload) file(p *multipart.Part) error {
	raw := dispositionFilename(p)
	first := make([]byte, 1)
	n, err := io.ReadFull(u.content(p), first)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	if n == 0 && raw == "" {
		return nil
	}
	if u.files++; u.files > u.s.limits.MaxFiles {
		return errTooManyFiles
	}
	if err := u.begin(); err != nil {
		return err
	}
	name := SanitizeFilename(raw)
	if name == "" {
		name = "file-" + strconv.Itoa(u.files)
	}
	w, err := u.fw.Part(frame.KindFile, name, sanitizeContentType(p.Header.Get("Content-Type")))
	if err != nil {
		return err
	}
	if _, err := w.Write(first[:n]); err != nil {
		return err
	}
	_, err = io.CopyBuffer(w, u.content(p), u.copyBufer)
	return err
}

// dispositionFilename returns the raw filename parameter (mime/multipart's FileName already cuts
// it with filepath.Base, which leaves Windows paths whole; SanitizeFilename does both).
func dispositionFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// begin starts the sealed blob once: it asks start for the recipients and writes the buffered
// message and answers.
func (u *upload) begin() error {
	if u.fw != nil {
		return nil
	}
	recipients, err := u.start(&u.form)
	if err != nil {
		return err
	}
	if u.blob, err = u.s.st.NewBlob(); err != nil {
		return err
	}
	if u.enc, err = crypto.Seal(&u.header, u.blob, recipients); err != nil {
		return err
	}
	u.fw = frame.NewWriter(u.enc)
	if m := u.form.message; m != nil && *m != "" {
		if err := u.writePart(frame.KindMessage, "message", *m); err != nil {
			return err
		}
	}
	if u.form.answersText != "" {
		return u.writePart(frame.KindAnswers, "answers", u.form.answersText)
	}
	return nil
}

func (u *upload) writePart(k frame.Kind, name, text string) error {
	w, err := u.fw.Part(k, name, "text/plain; charset=utf-8")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

func (u *upload) finish() (*sealed, error) {
	if err := u.fw.Close(); err != nil {
		return nil, err
	}
	if err := u.enc.Close(); err != nil {
		return nil, err
	}
	if err := u.blob.SetHeader(u.header.Bytes()); err != nil {
		return nil, err
	}
	id, err := u.blob.Close()
	if err != nil {
		return nil, err
	}
	return &sealed{blob: u.blob, id: id, header: bytes.Clone(u.header.Bytes()), files: u.files}, nil
}

// content returns a reader of p that charges its bytes to the upload's content budget and records
// multipart-level read errors.
func (u *upload) content(p *multipart.Part) io.Reader { return &contentReader{u: u, r: p} }

type contentReader struct {
	u *upload
	r io.Reader
}

func (c *contentReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.u.budget -= int64(n)
	if c.u.budget < 0 {
		return n, errTooLarge
	}
	if err != nil && err != io.EOF {
		c.u.lastRead = err
	}
	return n, err
}

// classify turns an upload failure into the page to show. A failure of the body itself (a broken
// connection, an idle timeout, a body shorter than its Content-Length) is an interruption; a
// parse failure over an intact body is a malformed form; a failure to write is internal.
func (u *upload) classify(err error) error {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return err
	case errors.Is(err, errTooLarge), errors.Is(u.body.err, errTooLarge):
		return uploadPage(errTooLarge)
	case u.body.err != nil, u.body.n > 0 && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		// The body failed, or ended before the closing boundary (fasthttp reports a chunked body
		// cut off between chunks as a plain EOF, so multipart is the one to notice).
		return uploadPage(errInterrupted)
	case errors.Is(err, errTooManyFiles), errors.Is(err, errMessageLong), errors.Is(err, errMalformed):
		return uploadPage(err)
	case u.lastRead != nil:
		return uploadPage(errMalformed)
	}
	return pageErr(frontend.ErrorInternal, err)
}

func uploadPage(err error) error {
	switch {
	case errors.Is(err, errTooLarge):
		return pageErr(frontend.ErrorTooLarge, nil)
	case errors.Is(err, errTooManyFiles):
		return pageErr(frontend.ErrorTooManyFiles, nil)
	case errors.Is(err, errMessageLong):
		return pageErr(frontend.ErrorMessageTooLong, nil)
	case errors.Is(err, errInterrupted):
		return pageErr(frontend.ErrorUploadInterrupted, nil)
	}
	return pageErr(frontend.ErrorMalformedForm, nil)
}

// bodyReader counts the raw request body, stops it at max bytes, and records the body's own
// failure, including a body that ends before its declared Content-Length.
type bodyReader struct {
	r        io.Reader
	n, max   int64
	declared int64 // Content-Length, or < 0 when chunked
	err      error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.err = errTooLarge
		return n, b.err
	}
	if err == io.EOF && b.declared >= 0 && b.n < b.declared {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
