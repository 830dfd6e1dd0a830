package logentry

import "golang.org/x/mod/sumdb/tlog"

// MaxOriginLen bounds a log's origin (a checkpoint note's first line).
const MaxOriginLen = 255

// Checkpoint is a tree head the history checks compare: the log's origin, size and root. Its signed
// form, the checkpoint note, is internal/checkpoint's.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}
