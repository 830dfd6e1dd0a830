package crypto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// MaxHeaderSize bounds the age header that [SplitHeader] and [Open] accept: about 650 hybrid
// recipient stanzas.
const MaxHeaderSize = 1 << 20

// maxHeaderLine bounds one header line in SplitHeader; a hybrid stanza's first line is about
// 1,500 bytes.
const maxHeaderLine = 16 << 10

const (
	ageIntro     = "age-encryption.org/v1\n"
	ageMACPrefix = "--- "
)

// ParseRecipients parses age recipient strings, accepting only hybrid post-quantum recipients
// (age1pq1…). Classic X25519 recipients, SSH keys, plugin recipients and anything else are
// rejected: age refuses to mix classic and post-quantum recipients, and Candor uses only the
// latter. An empty list is an error. Surrounding whitespace of each entry is ignored.
//
// Errors wrap [ErrRecipient] or [ErrNoRecipients] and name an entry by its position, never by its
// text (a pasted secret key must not end up in a log).
func ParseRecipients(ss []string) ([]age.Recipient, error) {
	if len(ss) == 0 {
		return nil, ErrNoRecipients
	}
	out := make([]age.Recipient, 0, len(ss))
	for i, s := range ss {
		r, err := parseHybridRecipient(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// parseHybridRecipient parses one age1pq1… recipient, explaining what else s looks like.
func parseHybridRecipient(s string) (*age.HybridRecipient, error) {
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "age-secret-key-"):
		return nil, fmt.Errorf("%w: this is a secret key, not a recipient: keep it private and give the age1pq1… recipient instead (age-keygen -y prints it)", ErrRecipient)
	case strings.HasPrefix(lower, "ssh-") || strings.HasPrefix(lower, "ecdsa-"):
		return nil, fmt.Errorf("%w: SSH keys are not accepted; use a hybrid post-quantum age recipient (age1pq1…, from age-keygen -pq)", ErrRecipient)
	case !strings.HasPrefix(lower, "age1"):
		return nil, fmt.Errorf("%w: not an age recipient; want a hybrid post-quantum recipient (age1pq1…)", ErrRecipient)
	}
	hrp, _, err := bech32Decode(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: malformed age recipient (%v)", ErrRecipient, err)
	case hrp == "age":
		return nil, fmt.Errorf("%w: classic X25519 recipients (age1…) are not post-quantum and cannot be mixed with hybrid ones; use a hybrid recipient (age1pq1…, from age-keygen -pq)", ErrRecipient)
	case hrp != "age1pq":
		return nil, fmt.Errorf("%w: plugin recipients are not accepted; use a hybrid post-quantum recipient (age1pq1…)", ErrRecipient)
	}
	r, err := age.ParseHybridRecipient(s)
	if err != nil {
		// age's error quotes the input; ours does not.
		return nil, fmt.Errorf("%w: malformed hybrid recipient key", ErrRecipient)
	}
	return r, nil
}

// Seal starts an age encryption to recipients, which must all be [*age.HybridRecipient] (at least
// one). The age header (everything up to and including the "--- MAC" line) is written to header
// before Seal returns; everything after it — the nonce and the encrypted chunks — goes to payload
// as it is written. Concatenating the two gives a standard age file that the stock age CLI
// decrypts; keeping them apart lets a store delete the header, and so the only way to decrypt.
//
// The caller writes plaintext to the returned WriteCloser and must Close it to flush the last
// chunk. Memory use is constant whatever the plaintext size (age buffers one 64 KiB chunk).
func Seal(header, payload io.Writer, recipients []age.Recipient) (io.WriteCloser, error) {
	if len(recipients) == 0 {
		return nil, ErrNoRecipients
	}
	for i, r := range recipients {
		if h, ok := r.(*age.HybridRecipient); !ok || h == nil {
			return nil, fmt.Errorf("%w: recipient %d is a %T, not a hybrid post-quantum recipient", ErrRecipient, i+1, r)
		}
	}
	s := &headerSplitter{header: header, payload: payload, lineStart: true}
	w, err := age.Encrypt(s, recipients...)
	if err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	if !s.done {
		return nil, errors.New("sealing: age wrote no complete header")
	}
	return w, nil
}

// headerSplitter sends bytes to header up to and including the end of the first line that starts
// with "--- " (the MAC line; stanza lines start with "-> " and stanza bodies are base64, which has
// no '-'), and everything after to payload.
type headerSplitter struct {
	header, payload io.Writer
	col             int  // bytes seen on the current line
	lineStart       bool // the current line still matches "--- " so far
	done            bool
}

func (s *headerSplitter) Write(p []byte) (int, error) {
	if s.done {
		return s.payload.Write(p)
	}
	end := s.scan(p)
	if end < 0 {
		return s.header.Write(p)
	}
	if n, err := s.header.Write(p[:end]); err != nil {
		return n, err
	}
	s.done = true
	n, err := s.payload.Write(p[end:])
	return end + n, err
}

// scan returns the index just past the header's last byte in p, or -1 if the header goes on.
func (s *headerSplitter) scan(p []byte) int {
	for i, c := range p {
		if c == '\n' {
			if s.lineStart && s.col >= len(ageMACPrefix) {
				return i + 1
			}
			s.col, s.lineStart = 0, true
			continue
		}
		if s.col < len(ageMACPrefix) && c != ageMACPrefix[s.col] {
			s.lineStart = false
		}
		s.col++
	}
	return -1
}

// SplitHeader reads the age header of a joined age file from r and returns it, with a reader for
// the rest of the file (the payload to pass to [Open]). It reads no further than it must, through
// a buffer: use the returned payload reader, not r, afterwards. Headers over [MaxHeaderSize] and
// anything that is not an age v1 header are rejected with [ErrInvalidHeader].
func SplitHeader(r io.Reader) (header []byte, payload io.Reader, err error) {
	br := bufio.NewReaderSize(r, maxHeaderLine)
	var buf bytes.Buffer
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, nil, fmt.Errorf("%w: a line is longer than %d bytes", ErrInvalidHeader, maxHeaderLine)
		}
		if buf.Len()+len(line) > MaxHeaderSize {
			return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidHeader, MaxHeaderSize)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: truncated: %v", ErrInvalidHeader, err)
		}
		if first && string(line) != ageIntro {
			return nil, nil, fmt.Errorf("%w: not an age v1 file", ErrInvalidHeader)
		}
		buf.Write(line)
		if bytes.HasPrefix(line, []byte(ageMACPrefix)) {
			return buf.Bytes(), br, nil
		}
	}
}

// Open decrypts a sealed file from its header and payload with the first of ids that matches.
// The returned reader yields the plaintext as payload is read and returns an error if the payload
// has been altered or truncated; callers must treat the plaintext as untrusted until it reaches
// io.EOF. Memory use is constant whatever the payload size.
func Open(header []byte, payload io.Reader, ids ...age.Identity) (io.Reader, error) {
	if len(ids) == 0 {
		return nil, errors.New("opening: no identities")
	}
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	r, err := age.Decrypt(io.MultiReader(bytes.NewReader(header), payload), ids...)
	if err != nil {
		return nil, openError(err)
	}
	return r, nil
}

// openError describes a failure of age.Decrypt. age's header-parsing errors quote the offending
// line, which could be anything (a secret key pasted in the wrong place), so only a fixed message
// is shown; the original stays reachable with errors.Is and errors.As.
func openError(err error) error {
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return fmt.Errorf("opening: %w", err) // fixed texts only
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &redactedError{"opening: the age file is truncated", err}
	}
	return &redactedError{"opening: malformed age header or bad header MAC", err}
}

// redactedError has a fixed message and wraps [ErrInvalidHeader] and the original error, whose
// text is not shown.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return []error{ErrInvalidHeader, e.err} }

// checkHeader checks that header is exactly one age header: it starts with the age intro line and
// ends with the MAC line and its newline, so that no payload byte was moved into it.
func checkHeader(header []byte) error {
	if len(header) > MaxHeaderSize {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidHeader, MaxHeaderSize)
	}
	if !bytes.HasPrefix(header, []byte(ageIntro)) || !bytes.HasSuffix(header, []byte("\n")) {
		return fmt.Errorf("%w: not an age v1 header", ErrInvalidHeader)
	}
	body := header[:len(header)-1]
	last := body[bytes.LastIndexByte(body, '\n')+1:]
	if !bytes.HasPrefix(last, []byte(ageMACPrefix)) {
		return fmt.Errorf("%w: does not end with the MAC line", ErrInvalidHeader)
	}
	return nil
}
