package candortest

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"regexp"
)

// Part is one part of a multipart/form-data body.
type Part struct {
	Name        string // form field name
	Filename    string // set for file parts (written raw, unescaped, as hostile clients do)
	ContentType string // optional
	Body        []byte
}

// Text is a form field.
func Text(name, value string) Part { return Part{Name: name, Body: []byte(value)} }

// File is a file part of field "file", as a browser sends it.
func File(filename string, body []byte) Part {
	return Part{Name: "file", Filename: filename, ContentType: "application/octet-stream", Body: body}
}

// Multipart encodes parts as a multipart/form-data body and returns it with its Content-Type.
// A part is a file part when its Name is "file" (then the filename parameter is always written,
// even empty) or its Filename is set.
func Multipart(parts ...Part) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.Name)
		if p.Name == "file" || p.Filename != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p.Filename)
		}
		h.Set("Content-Disposition", cd)
		if p.ContentType != "" {
			h.Set("Content-Type", p.ContentType)
		}
		pw, _ := w.CreatePart(h) // writing to a bytes.Buffer cannot fail
		pw.Write(p.Body)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// Report is the body of a report with a message and files, addressed to the given reviewers'
// fingerprints (none: the field is left out and the server picks all reviewers).
func Report(message string, reviewers []string, files ...Part) (body []byte, contentType string) {
	parts := []Part{Text("message", message)}
	for _, fp := range reviewers {
		parts = append(parts, Text("reviewer", fp))
	}
	return Multipart(append(parts, files...)...)
}

var receiptRE = regexp.MustCompile(`id="receipt-code">([^<]+)<`)

// ReceiptCode returns the receipt code shown on a page after a report (empty if there is none).
func ReceiptCode(page []byte) string {
	if m := receiptRE.FindSubmatch(page); m != nil {
		return string(m[1])
	}
	return ""
}
