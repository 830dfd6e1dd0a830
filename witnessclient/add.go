package witnessclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"candor/internal/checkpoint"

	"golang.org/x/mod/sumdb/tlog"
)

// AddCheckpoint submits signedNote (a checkpoint note signed by the log) to w, claiming that the
// witness last cosigned size oldSize, and returns w's verified cosignature. When the witness
// answers 409 with the size it knows, AddCheckpoint resends from that size with a proof from
// prove (at most twice); a known size larger than the checkpoint's is ErrRollback. Each request
// is bounded by the configured timeout and ctx.
func (c *Client) AddCheckpoint(ctx context.Context, w Witness, oldSize int64, signedNote []byte, prove Prover) (*Result, error) {
	text, cp, err := splitNote(signedNote)
	if err != nil {
		return nil, err
	}
	if w.Key == nil {
		return nil, errors.New("witnessclient: witness has no key")
	}
	for range maxAttempts {
		if oldSize > cp.Size {
			return nil, &RollbackError{Known: oldSize, Size: cp.Size}
		}
		body, err := requestBody(oldSize, cp.Size, signedNote, prove)
		if err != nil {
			return nil, err
		}
		known, answer, err := c.post(ctx, w, body)
		switch {
		case err != nil:
			return nil, err
		case known < 0:
			lines, cs, err := checkpoint.VerifyCosignatures(text, answer, w.Key)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrBadResponse, w.URL, err)
			}
			return &Result{Lines: lines, Cosignature: cs, OldSize: oldSize}, nil
		case known == oldSize && known == cp.Size:
			// A 409 naming the size we sent: same size, other root (the spec's answer to a fork).
			return nil, fmt.Errorf("%w: %s holds another root for size %d", ErrFork, w.URL, known)
		case known == oldSize:
			return nil, fmt.Errorf("%w: %s: 409 naming the old size that was sent", ErrBadResponse, w.URL)
		}
		oldSize = known
	}
	return nil, fmt.Errorf("%w: %s: its size kept changing (another submitter of this log?)", ErrUnavailable, w.URL)
}

// splitNote returns the text of a signed note and its checkpoint.
func splitNote(signedNote []byte) ([]byte, *checkpoint.Checkpoint, error) {
	i := bytes.LastIndex(signedNote, []byte("\n\n"))
	if i < 0 || len(signedNote) > checkpoint.MaxNoteSize {
		return nil, nil, errors.New("witnessclient: not a signed checkpoint note")
	}
	cp, err := checkpoint.ParseText(signedNote[:i+1])
	if err != nil {
		return nil, nil, fmt.Errorf("witnessclient: %w", err)
	}
	return signedNote[:i+1], cp, nil
}

// requestBody builds "old N\n", the proof lines, a blank line and the note.
func requestBody(oldSize, size int64, signedNote []byte, prove Prover) ([]byte, error) {
	var proof tlog.TreeProof
	if oldSize > 0 && oldSize < size {
		p, err := prove(oldSize)
		if err != nil {
			return nil, fmt.Errorf("witnessclient: proving size %d to %d: %w", oldSize, size, err)
		}
		proof = p
	}
	if len(proof) > maxProofLines {
		return nil, fmt.Errorf("witnessclient: consistency proof of %d hashes, limit %d", len(proof), maxProofLines)
	}
	b := fmt.Appendf(nil, "old %d\n", oldSize)
	for _, h := range proof {
		b = append(base64.StdEncoding.AppendEncode(b, h[:]), '\n')
	}
	return append(append(b, '\n'), signedNote...), nil
}

// post sends one add-checkpoint request. It returns (-1, body) on 200, (size, nil) on a
// well-formed 409, and an error otherwise.
func (c *Client) post(ctx context.Context, w Witness, body []byte) (int64, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	url := strings.TrimSuffix(w.URL, "/") + "/add-checkpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("witnessclient: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, w.URL, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponse+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s: reading the answer: %v", ErrUnavailable, w.URL, err)
	}
	if int64(len(answer)) > c.maxResponse {
		return 0, nil, fmt.Errorf("%w: %s: answer longer than %d bytes", ErrBadResponse, w.URL, c.maxResponse)
	}
	return verdict(w.URL, resp, answer)
}

// verdict maps a witness's status code to the package's errors.
func verdict(url string, resp *http.Response, answer []byte) (int64, []byte, error) {
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return -1, answer, nil
	case code == http.StatusConflict:
		n, err := parseSize(resp, answer)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %s: 409 %v", ErrBadResponse, url, err)
		}
		return n, nil, nil
	case code == http.StatusUnprocessableEntity:
		return 0, nil, fmt.Errorf("%w: %s: the consistency proof does not verify against the tree it cosigned", ErrFork, url)
	case code == http.StatusForbidden, code == http.StatusNotFound:
		return 0, nil, fmt.Errorf("%w: %s: %d (unknown log origin or key)", ErrRefused, url, code)
	case code == http.StatusBadRequest:
		return 0, nil, fmt.Errorf("%w: %s: 400 bad request", ErrRefused, url)
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return 0, nil, fmt.Errorf("%w: %s: %d", ErrUnavailable, url, code)
	default:
		return 0, nil, fmt.Errorf("%w: %s: unexpected status %d", ErrBadResponse, url, code)
	}
}

// parseSize reads a 409 answer: Content-Type text/x.tlog.size, a canonical decimal and a newline.
func parseSize(resp *http.Response, answer []byte) (int64, error) {
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/x.tlog.size" {
		return 0, fmt.Errorf("content type %q, want text/x.tlog.size", resp.Header.Get("Content-Type"))
	}
	s, ok := strings.CutSuffix(string(answer), "\n")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, errors.New("body is not a tree size")
	}
	return n, nil
}

// RollbackError is the ErrRollback of a witness that named the larger size it knows (its 409
// answer): a restore uses Known to tell how many witnessed entries it lost.
type RollbackError struct {
	Known int64 // the size the witness cosigned
	Size  int64 // the submitted checkpoint's size
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("%v: it knows size %d, the checkpoint has %d", ErrRollback, e.Known, e.Size)
}

// Unwrap makes errors.Is(err, ErrRollback) hold.
func (e *RollbackError) Unwrap() error { return ErrRollback }
