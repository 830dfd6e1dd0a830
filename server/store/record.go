package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
)

// Stored records (cases, reviewers, feed items) are server-internal and never
// leave the server, so they use encoding/json for easy evolution, framed as
//
//	version (1 byte, recordVersion) ‖ JSON ‖ CRC-32C of the preceding bytes (4 bytes, big-endian)
//
// bbolt checksums only its meta pages; the CRC turns a damaged page into a
// clean ErrCorrupt instead of a plausible but wrong record. Blob headers and
// chunks are stored raw: they are age ciphertext, authenticated by age itself.
const recordVersion = 1

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord frames v. v is always one of the store's record types, which
// cannot fail to marshal.
func encodeRecord(v any) []byte {
	js, err := json.Marshal(v)
	if err != nil {
		panic("store: encoding record: " + err.Error())
	}
	b := make([]byte, 0, 1+len(js)+4)
	b = append(b, recordVersion)
	b = append(b, js...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeRecord checks the frame of b and decodes its JSON into v, refusing
// unknown fields and trailing data. b may be a bbolt value: decoding copies
// everything it keeps.
func decodeRecord(b []byte, v any) error {
	if len(b) < 1+2+4 {
		return fmt.Errorf("%w: record too short", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if body[0] != recordVersion {
		return fmt.Errorf("%w: unknown record version %d", ErrCorrupt, body[0])
	}
	dec := json.NewDecoder(bytes.NewReader(body[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The JSON error may quote record content; keep only its kind.
		return fmt.Errorf("%w: undecodable record", ErrCorrupt)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrCorrupt)
	}
	return nil
}

// u64 returns the 8-byte big-endian key for n, so that bbolt's byte order is
// numeric order.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// chunkKey returns blob ‖ seq (big-endian), the key of one payload chunk.
func chunkKey(id BlobID, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), id[:]...), seq)
}

// clone returns a copy of a bbolt value (valid only inside its transaction).
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
