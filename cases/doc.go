// Package cases owns the case domain of a Candor server, with no HTTP types: choosing a report's
// category and reviewers (Form → ChooseCategory, ChooseReviewers), sealing its parts from plain
// io.Readers to those reviewers (NewSealer → Sealer.Text, File, Finish), creating a case from a sealed
// blob with its receipt code and CaseCreated log entry (CreateCase), the reporter's Argon2id login
// derivation (Derive) and what the log says about a code whose case is gone (Trace), follow-up
// messages (AddFollowup, CaseRecipients), reading replies in memory (Replies, ReadReply,
// SeekFile), reviewers' pushes of signed envelopes (Push), and a reviewer's bundle: planning it
// without writing anything (PlanBundle), then writing it and recording what was sent (SendBundle).
// The case log's checkpoints and views live here too. server/ is the HTTP shell over a Service.
package cases
