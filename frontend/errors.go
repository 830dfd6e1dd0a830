package frontend

import "net/http"

// ErrorKey names one of the fixed error messages of the "error" page. Build the
// page with [Frontend.Error]; a handler that shows the message elsewhere (the
// login form's FollowupData.Error) uses [Frontend.T] with [ErrorKey.MessageKey].
type ErrorKey string

// The errors a reporter can meet. Each message says what happened and what to
// do; those about uploads say that nothing was stored.
const (
	ErrorTooLarge          ErrorKey = "too_large"          // upload over Limits.MaxTotalBytes (413)
	ErrorTooManyFiles      ErrorKey = "too_many_files"     // more than Limits.MaxFiles (413)
	ErrorMessageTooLong    ErrorKey = "message_too_long"   // message over Limits.MaxMessageChars (413)
	ErrorUploadsBusy       ErrorKey = "uploads_busy"       // concurrent-upload cap reached (503)
	ErrorUploadInterrupted ErrorKey = "upload_interrupted" // body ended early or timed out (400)
	ErrorMalformedForm     ErrorKey = "malformed_form"     // not parseable multipart/form (400)
	ErrorUnknownCategory   ErrorKey = "unknown_category"   // category not configured (400)
	ErrorUnknownReviewer   ErrorKey = "unknown_reviewer"   // reviewer fingerprint not registered (400)
	ErrorNoReviewer        ErrorKey = "no_reviewer"        // every reviewer unticked (400)
	ErrorInvalidFilename   ErrorKey = "invalid_filename"   // file name refused (400)
	ErrorWrongReceipt      ErrorKey = "wrong_receipt"      // unknown or garbled receipt code (403)
	ErrorSessionExpired    ErrorKey = "session_expired"    // no or expired session (403)
	ErrorCrossOrigin       ErrorKey = "cross_origin"       // cross-origin POST refused (403)
	ErrorNotFound          ErrorKey = "not_found"          // (404)
	ErrorMethodNotAllowed  ErrorKey = "method_not_allowed" // (405)
	ErrorBusy              ErrorKey = "busy"               // global caps, KDF semaphore full (503)
	ErrorOverBudget        ErrorKey = "over_budget"        // this Tor circuit's budget is spent (429)
	ErrorStorageFull       ErrorKey = "storage_full"       // the server's disk is full (503)
	ErrorInternal          ErrorKey = "internal"           // anything else (500)
	ErrorEmptyReport       ErrorKey = "empty_report"       // no text, no answer, no file (400)
	ErrorEmptyMessage      ErrorKey = "empty_message"      // a follow-up without text or file (400)
	ErrorAlreadyReceived   ErrorKey = "already_received"   // a form token that made a case before (409)
	ErrorReceiptShown      ErrorKey = "receipt_shown"      // the receipt page after it was shown once (410)
)

// ErrorKeys returns every ErrorKey.
func ErrorKeys() []ErrorKey {
	return []ErrorKey{ErrorTooLarge, ErrorTooManyFiles, ErrorMessageTooLong, ErrorUploadsBusy,
		ErrorUploadInterrupted, ErrorMalformedForm, ErrorUnknownCategory, ErrorUnknownReviewer,
		ErrorNoReviewer, ErrorInvalidFilename, ErrorWrongReceipt, ErrorSessionExpired,
		ErrorCrossOrigin, ErrorNotFound, ErrorMethodNotAllowed, ErrorBusy, ErrorOverBudget, ErrorStorageFull, ErrorInternal,
		ErrorEmptyReport, ErrorEmptyMessage, ErrorAlreadyReceived, ErrorReceiptShown}
}

// Status returns the HTTP status for k (500 for an unknown key).
func (k ErrorKey) Status() int {
	switch k {
	case ErrorTooLarge, ErrorTooManyFiles, ErrorMessageTooLong:
		return http.StatusRequestEntityTooLarge
	case ErrorUploadsBusy, ErrorBusy, ErrorStorageFull:
		return http.StatusServiceUnavailable
	case ErrorOverBudget:
		return http.StatusTooManyRequests
	case ErrorUploadInterrupted, ErrorMalformedForm, ErrorUnknownCategory, ErrorUnknownReviewer,
		ErrorNoReviewer, ErrorInvalidFilename, ErrorEmptyReport, ErrorEmptyMessage:
		return http.StatusBadRequest
	case ErrorAlreadyReceived:
		return http.StatusConflict
	case ErrorReceiptShown:
		return http.StatusGone
	case ErrorWrongReceipt, ErrorSessionExpired, ErrorCrossOrigin:
		return http.StatusForbidden
	case ErrorNotFound:
		return http.StatusNotFound
	case ErrorMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// TitleKey is the catalog key of k's heading.
func (k ErrorKey) TitleKey() string { return "error." + string(k) + ".title" }

// MessageKey is the catalog key of k's explanation.
func (k ErrorKey) MessageKey() string { return "error." + string(k) + ".message" }

// back is where the "go back" link of k's page leads by default.
func (k ErrorKey) back() string {
	switch k {
	case ErrorTooLarge, ErrorTooManyFiles, ErrorMessageTooLong, ErrorUploadsBusy,
		ErrorUploadInterrupted, ErrorMalformedForm, ErrorUnknownCategory, ErrorUnknownReviewer,
		ErrorNoReviewer, ErrorInvalidFilename, ErrorEmptyReport:
		return "/report"
	case ErrorWrongReceipt, ErrorSessionExpired, ErrorEmptyMessage:
		return "/followup"
	}
	return "/"
}

// Error returns the data of the error page for k: status, localised title and
// message, the exceeded limit from lim (for the three size limits) and a back
// link (/report for upload errors, /followup for login errors, else /). A
// handler may change Back, e.g. to "/followup" for a follow-up message that was
// too long. An unknown k gives the ErrorInternal page.
func (f *Frontend) Error(p Page, k ErrorKey, lim Limits) ErrorData {
	if k.Status() == http.StatusInternalServerError {
		k = ErrorInternal
	}
	d := ErrorData{Page: p, Status: k.Status(), Back: k.back(),
		Heading: f.T(p.Lang, k.TitleKey()), Message: f.T(p.Lang, k.MessageKey())}
	c, ok := f.cats[p.Lang]
	if !ok {
		c = f.cats[DefaultLanguage]
	}
	en := f.cats[DefaultLanguage]
	switch k {
	case ErrorTooLarge:
		d.Limit = formatSize(c, en, lim.MaxTotalBytes)
	case ErrorTooManyFiles:
		d.Limit = c.format(en, "limit.files."+c.plural(lim.MaxFiles), lim.MaxFiles)
	case ErrorMessageTooLong:
		d.Limit = c.format(en, "limit.chars."+c.plural(lim.MaxMessageChars),
			formatInt(c.format(en, "number.group"), int64(lim.MaxMessageChars)))
	}
	return d
}

// Field names the part of a submission form that k is about ("message", "reviewers", "files"),
// or "" when k concerns the whole form.
func (k ErrorKey) Field() string {
	switch k {
	case ErrorMessageTooLong, ErrorEmptyReport, ErrorEmptyMessage:
		return "message"
	case ErrorNoReviewer, ErrorUnknownReviewer:
		return "reviewers"
	case ErrorTooLarge, ErrorTooManyFiles, ErrorInvalidFilename:
		return "files"
	}
	return ""
}

// Problem returns k as a problem of a refused form: the error's message (and the exceeded
// limit) for the summary, and its heading (and the limit) next to the field it concerns.
func (f *Frontend) Problem(p Page, k ErrorKey, lim Limits) Problem {
	d := f.Error(p, k, lim)
	pr := Problem{Field: k.Field(), Heading: d.Heading, Summary: d.Message}
	limit := ""
	if d.Limit != "" {
		limit = " " + f.T(p.Lang, "error.limit", d.Limit)
	}
	pr.Summary += limit
	if pr.Field != "" {
		pr.Fix = d.Heading + "." + limit
	}
	return pr
}

// OverBudget returns the data of the page for a request over its Tor circuit's budget: wait
// minutes (at least 1), or open a new identity in Tor Browser (a new circuit). back is where the
// "go back" link leads.
func (f *Frontend) OverBudget(p Page, minutes int, back string) ErrorData {
	d := f.Error(p, ErrorOverBudget, Limits{})
	d.Wait = max(minutes, 1)
	if back != "" {
		d.Back = back
	}
	return d
}
