package cases

import (
	"strings"

	"candor/server/store"
)

// Form is the text part of a submission, buffered until the recipients are known.
type Form struct {
	Category       *string
	Message        *string
	Answers        map[string]string
	Reviewers      []string
	ReviewerChoice bool
	AnswersText    string // the formatted answers, set by the start func
}

// Sealed is a finished, closed, still pending blob.
type Sealed struct {
	Blob   *store.BlobWriter
	ID     store.BlobID
	Header []byte
	Files  int
}

// CheckNotEmpty refuses, with ErrEmpty, a submission without text, answers (as ChooseCategory
// formatted them) and files: storing it would make a case, or a follow-up, with nothing in it.
func (f *Form) CheckNotEmpty(hasFiles bool) error {
	if hasFiles || f.AnswersText != "" || (f.Message != nil && strings.TrimSpace(*f.Message) != "") {
		return nil
	}
	return ErrEmpty
}
