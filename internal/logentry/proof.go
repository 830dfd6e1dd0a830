package logentry

import "golang.org/x/mod/sumdb/tlog"

// MaxProofHashes bounds the hashes of an encoded proof; a tree of 2^63 leaves needs at most 63
// for an inclusion proof and 126 for a consistency proof in theory, but tlog's consistency proofs
// for trees below 2^32 entries stay far below 64.
const MaxProofHashes = 64

// MarshalRecordProof encodes an inclusion proof: a count byte and the hashes.
func MarshalRecordProof(p tlog.RecordProof) ([]byte, error) { return marshalHashes(p) }

// ParseRecordProof decodes an inclusion proof.
func ParseRecordProof(b []byte) (tlog.RecordProof, error) { return parseHashes(b) }

// MarshalTreeProof encodes a consistency proof: a count byte and the hashes.
func MarshalTreeProof(p tlog.TreeProof) ([]byte, error) { return marshalHashes(p) }

// ParseTreeProof decodes a consistency proof.
func ParseTreeProof(b []byte) (tlog.TreeProof, error) { return parseHashes(b) }

// AppendHashes appends the encoding of hs to b (for formats that embed a proof).
func AppendHashes(b []byte, hs []tlog.Hash) ([]byte, error) {
	if len(hs) > MaxProofHashes {
		return nil, invalid("proof of %d hashes, limit %d", len(hs), MaxProofHashes)
	}
	b = append(b, byte(len(hs)))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b, nil
}

// ReadHashes decodes a proof at the start of b and returns it with the rest of b.
func ReadHashes(b []byte) ([]tlog.Hash, []byte, error) {
	if len(b) < 1 {
		return nil, nil, malformed("truncated proof")
	}
	n := int(b[0])
	if n > MaxProofHashes {
		return nil, nil, malformed("proof of %d hashes, limit %d", n, MaxProofHashes)
	}
	b = b[1:]
	if len(b) < n*tlog.HashSize {
		return nil, nil, malformed("truncated proof")
	}
	if n == 0 {
		return nil, b, nil // nil, not empty: decoding is canonical for reflect.DeepEqual
	}
	hs := make([]tlog.Hash, n)
	for i := range hs {
		copy(hs[i][:], b[i*tlog.HashSize:])
	}
	return hs, b[n*tlog.HashSize:], nil
}

func marshalHashes(hs []tlog.Hash) ([]byte, error) {
	return AppendHashes(make([]byte, 0, 1+len(hs)*tlog.HashSize), hs)
}

func parseHashes(b []byte) ([]tlog.Hash, error) {
	hs, rest, err := ReadHashes(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, malformed("%d bytes after the proof", len(rest))
	}
	return hs, nil
}
