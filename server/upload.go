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

	"candor/cases"
	"candor/frontend"
	"candor/internal/filename"
	"candor/internal/frame"
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
	errTooSlow      = errors.New("request body slower than the minimum rate")
	errUploadsBusy  = errors.New("no upload memory free")
)

// Field names of the submission forms (DESIGN §11).
const (
	fieldCategory       = "category"
	fieldMessage        = "message"
	fieldReviewer       = "reviewer"
	fieldReviewerChoice = "reviewer-choice" // present when the form offered the reviewer choice
	fieldFile           = "file"
	fieldAnswerPrefix   = "q."
	fieldToken          = "form-token" // the report form's one-time token (formtoken.go)
)

// Bounds on the buffered text fields (besides the message).
const (
	maxFieldBytes = 16 << 10 // one questionnaire answer or other short field
	maxTextParts  = 200      // text fields of one submission
)

// upload is one submission being read.
type upload struct {
	s         *Server
	mem       *uploadMemory // nil: no reservation (the push path)
	body      *bodyReader
	budget    int64 // content bytes (message, answers, files) still allowed
	form      cases.Form
	texts     int
	mr        *multipart.Reader
	done      bool            // the body's parts are all read
	pending   *multipart.Part // the first file part, read up to pendFirst while the fields were read
	pendFirst []byte
	pendRaw   string
	release   func()        // returns the buffers
	sealer    *cases.Sealer // set when sealing starts (begin)
	files     int
	lastRead  error // the last error a part read returned (multipart-level errors)
	copyBufer []byte
	token     string   // the form token field, if any
	names     []string // names of the files the browser sent, to name them if the form is refused
	cut       bool     // the message was over the byte limit: form.Message holds its beginning
	claimed   bool     // this request claimed token (formtoken.go)
	over      bool     // the declared body is over the limit: only the text fields may be read
}

var (
	copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
	bodyBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// acquireUpload reserves an upload's base memory (uploadBaseMemory), waiting at most UploadWait
// (the client's body waits in the socket meanwhile); it returns a release func, which also returns
// the batch reservation if the upload took one, or the busy page.
func (s *Server) acquireUpload() (*uploadMemory, error) {
	if !s.uploads.acquire(uploadBaseMemory, s.limits.UploadWait) {
		return nil, pageErr(frontend.ErrorUploadsBusy, nil)
	}
	return &uploadMemory{s: s, held: uploadBaseMemory}, nil
}

// uploadMemory is what one upload has reserved of Limits.UploadMemory.
type uploadMemory struct {
	s    *Server
	held int64
}

// grow reserves the batch memory, once, before the sealed data outgrows the store's first chunk.
func (m *uploadMemory) grow() error {
	if m.held > uploadBaseMemory {
		return nil
	}
	if !m.s.uploads.acquire(uploadBatchMemory, m.s.limits.UploadWait) {
		return errUploadsBusy
	}
	m.held += uploadBatchMemory
	return nil
}

// release returns everything reserved.
func (m *uploadMemory) release() {
	if m.held > 0 {
		m.s.uploads.release(m.held)
		m.held = 0
	}
}

// reservingWriter passes the sealed data to the blob, reserving the upload's batch memory before
// the first byte past the store's first chunk.
type reservingWriter struct {
	w   io.Writer
	mem *uploadMemory
	n   int64
}

func (r *reservingWriter) Write(p []byte) (int, error) {
	if r.n+int64(len(p)) > firstChunk && r.mem != nil {
		if err := r.mem.grow(); err != nil {
			return 0, err
		}
	}
	n, err := r.w.Write(p)
	r.n += int64(n)
	return n, err
}

// An upload is read in plain steps by the handler: openUpload checks the request, fields buffers
// the text fields (up to the first file part), the handler asks package cases for the recipients,
// and seal encrypts the message, the answers and every file to them into a pending blob. On
// success the caller owns the pending blob (commit it with a case operation or Abort it); on
// failure nothing is left in the store and the error is a *pageError. close returns the buffers.

// openUpload prepares reading the request's multipart body; mem is the upload's reservation.
func (s *Server) openUpload(c *fiber.Ctx, mem *uploadMemory) (*upload, error) {
	boundary, err := multipartBoundary(c.Get(fiber.HeaderContentType))
	if err != nil {
		return nil, uploadPage(err)
	}
	maxRaw := s.limits.MaxTotalBytes + uploadOverhead
	declared := int64(c.Request().Header.ContentLength())
	over := declared > maxRaw
	if over {
		// Refused before reading the files: only the text fields, which come first, may be read
		// to show the form again. fasthttp closes the connection rather than draining a large
		// unread body, so nothing of it can be read as a next request.
		maxRaw = 4*int64(s.limits.MaxMessageChars) + uploadOverhead
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		stream = bytes.NewReader(c.Body())
	}
	s.extendBodyDeadline(c)
	u := &upload{s: s, mem: mem, body: &bodyReader{r: stream, max: maxRaw, declared: declared,
		now: s.now, start: s.now(), minRate: s.limits.MinUploadRate, grace: s.limits.UploadGrace},
		budget: s.limits.MaxTotalBytes, over: over}
	u.form.Answers = map[string]string{}
	bp := copyBuffers.Get().(*[]byte)
	u.copyBufer = *bp
	// multipart reads through a 4 KiB buffer of its own; the larger one below it turns those into
	// 64 KiB reads of the socket (one syscall each, not one per 4–8 KiB).
	br := bodyBuffers.Get().(*bufio.Reader)
	br.Reset(u.body)
	u.release = func() { copyBuffers.Put(bp); br.Reset(nil); bodyBuffers.Put(br) }
	u.mr = multipart.NewReader(br, boundary)
	if over {
		return u, uploadPage(errTooLarge)
	}
	return u, nil
}

// keep reads what a refused request still allows (see skim; only the text fields of a body
// declared over the limit) and returns what the reporter typed, for the form shown again.
func (u *upload) keep() frontend.Kept {
	if u.over {
		if !u.done && u.pending == nil && u.sealer == nil {
			u.fields()
		}
	} else {
		u.skim()
	}
	k := frontend.Kept{Answers: u.form.Answers, Reviewers: u.form.Reviewers,
		ReviewerChoice: u.form.ReviewerChoice, Files: u.names, MessageCut: u.cut,
		MoreFiles: !u.done && (len(u.names) > 0 || u.over)}
	if u.form.Message != nil {
		k.Message = *u.form.Message
	}
	return k
}

// close returns the upload's buffers; the pending blob, if any, is the caller's.
func (u *upload) close() {
	if u.pending != nil {
		u.pending.Close()
	}
	u.release()
}

// fields reads the text fields, up to the first file part that is not an unused file input.
func (u *upload) fields() (*cases.Form, error) {
	for {
		p, err := u.mr.NextPart()
		if err == io.EOF {
			u.done = true
			return &u.form, nil
		}
		if err != nil {
			u.lastRead = err
			return nil, u.fail(err)
		}
		if p.FormName() != fieldFile {
			err = u.text(p)
			p.Close()
			if err != nil {
				return nil, u.fail(err)
			}
			continue
		}
		first, raw, err := u.peek(p)
		if err != nil {
			p.Close()
			return nil, u.fail(err)
		}
		if len(first) == 0 && raw == "" {
			p.Close()
			continue
		}
		u.pending, u.pendFirst, u.pendRaw = p, first, raw
		u.addName(raw)
		return &u.form, nil
	}
}

// seal encrypts the buffered fields and the rest of the body to recipients into a pending blob.
func (u *upload) seal(recipients []age.Recipient) (*cases.Sealed, error) {
	sl, err := u.sealRest(recipients)
	if err != nil {
		return nil, u.fail(err)
	}
	return sl, nil
}

func (u *upload) sealRest(recipients []age.Recipient) (*cases.Sealed, error) {
	if err := u.begin(recipients); err != nil {
		return nil, err
	}
	if p := u.pending; p != nil {
		u.pending = nil
		err := u.writeFile(p, u.pendRaw, u.pendFirst)
		p.Close()
		if err != nil {
			return nil, err
		}
	}
	for !u.done {
		p, err := u.mr.NextPart()
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
	return u.finish()
}

// fail aborts the pending blob, if any, and returns the page for err.
func (u *upload) fail(err error) error {
	if u.sealer != nil {
		if aerr := u.sealer.Abort(); aerr != nil {
			u.s.log.Error("aborting upload", "err", aerr)
		}
		u.sealer = nil
	}
	return u.classify(err)
}

func multipartBoundary(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", errMalformed
	}
	return params["boundary"], nil
}

// text buffers one text field.
func (u *upload) text(p *multipart.Part) error {
	if u.sealer != nil {
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
	f := &u.form
	if errors.Is(err, errMessageLong) && f.Message == nil {
		// Kept for the refused form only: its first MaxMessageChars characters.
		v, u.cut = firstRunes(v, u.s.limits.MaxMessageChars), true
		f.Message = &v
	}
	if err != nil {
		return err
	}
	switch {
	case name == fieldMessage:
		if f.Message != nil {
			return errMalformed
		}
		f.Message = &v
		if utf8.RuneCountInString(v) > u.s.limits.MaxMessageChars {
			return errMessageLong
		}
	case name == fieldCategory:
		if f.Category != nil {
			return errMalformed
		}
		f.Category = &v
	case name == fieldReviewer:
		f.Reviewers = append(f.Reviewers, v)
	case name == fieldReviewerChoice:
		f.ReviewerChoice = true
	case name == fieldToken:
		u.token = v
	case strings.HasPrefix(name, fieldAnswerPrefix):
		f.Answers[strings.TrimPrefix(name, fieldAnswerPrefix)] = v
	}
	return nil
}

// readText reads a text field of at most limit bytes, as valid UTF-8 with "\n" line ends. A
// message over the limit gives errMessageLong with its first limit bytes (up to a whole
// character), for the refused form.
func (u *upload) readText(p *multipart.Part, limit int64, message bool) (string, error) {
	b, err := io.ReadAll(io.LimitReader(u.content(p), limit+1))
	if err != nil {
		return "", err
	}
	var over error
	if int64(len(b)) > limit {
		if !message {
			return "", errMalformed
		}
		b, over = b[:limit], errMessageLong
		for len(b) > 0 && !utf8.Valid(b) && len(b) > int(limit)-utf8.UTFMax {
			b = b[:len(b)-1] // a character cut in two at the limit
		}
	}
	if !utf8.Valid(b) {
		return "", errMalformed
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n"), over
}

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// addName records the name of a file the browser sent, cleaned for display.
func (u *upload) addName(raw string) {
	if raw == "" {
		return // an unused file input
	}
	if name := filename.Sanitize(raw, ""); name != "" && len(u.names) < maxKeptNames {
		u.names = append(u.names, name)
	}
}

// maxKeptNames bounds the file names kept for a refused form.
const maxKeptNames = 100

// skim reads what is left of an intact body after a refusal, so that the form can be shown
// again with everything: the text fields not read yet, and the names of the files (their
// content is discarded, never kept). It stops at the first failure; the body limit bounds it.
// Reading the rest also lets the browser, which is still sending, receive the answer.
func (u *upload) skim() {
	if p := u.pending; p != nil {
		u.pending = nil
		io.CopyBuffer(io.Discard, p, u.copyBufer)
		p.Close()
	}
	for !u.done && u.body.err == nil && u.lastRead == nil {
		p, err := u.mr.NextPart()
		if err == io.EOF {
			u.done = true
		}
		if err != nil {
			return
		}
		if p.FormName() == fieldFile {
			u.addName(dispositionFilename(p))
			_, err = io.CopyBuffer(io.Discard, p, u.copyBufer)
		} else if u.sealer == nil && u.budget > 0 {
			if terr := u.text(p); errors.Is(terr, errMalformed) {
				err = terr
			}
		} else {
			_, err = io.CopyBuffer(io.Discard, p, u.copyBufer)
		}
		p.Close()
		if err != nil {
			return
		}
	}
}

// file seals one file part; an empty part without a name (an unused file input) is skipped.
func (u *upload) file(p *multipart.Part) error {
	first, raw, err := u.peek(p)
	if err != nil || (len(first) == 0 && raw == "") {
		return err
	}
	u.addName(raw) // (the first file's name is recorded by fields)
	return u.writeFile(p, raw, first)
}

// peek reads the first byte of a file part and its raw file name.
func (u *upload) peek(p *multipart.Part) (first []byte, raw string, err error) {
	raw = dispositionFilename(p)
	first = make([]byte, 1)
	n, err := io.ReadFull(u.content(p), first)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, "", err
	}
	return first[:n], raw, nil
}

// writeFile seals the file part p (whose first bytes were already read) as the next file.
func (u *upload) writeFile(p *multipart.Part, raw string, first []byte) error {
	if u.files++; u.files > u.s.limits.MaxFiles {
		return errTooManyFiles
	}
	name := filename.Sanitize(raw, "file-"+strconv.Itoa(u.files))
	w, err := u.sealer.File(name, contentType(p.Header.Get("Content-Type")))
	if err != nil {
		return err
	}
	if _, err := w.Write(first); err != nil {
		return err
	}
	_, err = io.CopyBuffer(w, u.content(p), u.copyBufer)
	return err
}

// dispositionFilename returns the raw filename parameter (mime/multipart's FileName already cuts
// it with filepath.Base, which leaves Windows paths whole; filename.Sanitize does both).
func dispositionFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// begin starts the sealed blob to recipients and writes the buffered message and answers.
func (u *upload) begin(recipients []age.Recipient) error {
	wrap := func(w io.Writer) io.Writer { return &reservingWriter{w: w, mem: u.mem} }
	var err error
	if u.sealer, err = u.s.NewSealer(recipients, wrap); err != nil {
		return err
	}
	if m := u.form.Message; m != nil && *m != "" {
		if err := u.sealer.Text(frame.KindMessage, "message", *m); err != nil {
			return err
		}
	}
	if u.form.AnswersText != "" {
		return u.sealer.Text(frame.KindAnswers, "answers", u.form.AnswersText)
	}
	return nil
}

func (u *upload) finish() (*cases.Sealed, error) {
	return u.sealer.Finish()
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
	err = asPage(err)
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return err
	case errors.Is(err, errUploadsBusy):
		return pageErr(frontend.ErrorUploadsBusy, nil)
	case storageFull(err):
		return pageErr(frontend.ErrorStorageFull, nil)
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

// bodyReader counts the raw request body, stops it at max bytes, records the body's own failure,
// including a body that ends before its declared Content-Length, and ends a body that, once grace
// has passed, averages less than minRate bytes a second since start (a drip holding an upload's
// memory): an honest upload over Tor runs at tens of kB/s, a thousand times the floor, and a
// stalled one is ended by the idle timeout anyway.
type bodyReader struct {
	r        io.Reader
	n, max   int64
	declared int64 // Content-Length, or < 0 when chunked
	err      error
	now      func() time.Time
	start    time.Time
	minRate  int64
	grace    time.Duration
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
	if err == nil && b.tooSlow() {
		b.err = errTooSlow
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

// tooSlow reports whether the body, past its grace period, averages under the minimum rate.
func (b *bodyReader) tooSlow() bool {
	if b.minRate <= 0 || b.now == nil {
		return false
	}
	el := b.now().Sub(b.start)
	return el > b.grace && float64(b.n) < float64(b.minRate)*el.Seconds()
}

// contentType keeps a browser-sent media type only if it is short printable ASCII of the form
// type/subtype; otherwise application/octet-stream.
func contentType(ct string) string {
	const def = "application/octet-stream"
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "" || len(ct) > 100 || strings.Count(ct, "/") != 1 {
		return def
	}
	for _, r := range ct {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("/.+-_", r)) {
			return def
		}
	}
	return ct
}
