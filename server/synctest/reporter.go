package synctest

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// Reporter is a reporter's browser session on the server's public pages: logged in with a
// receipt code, it reads the case page and sends follow-up messages as the page's forms do.
type Reporter struct {
	srv    *Server
	client *http.Client
}

// Login posts the receipt code to /followup and keeps the session cookie.
func (s *Server) Login(receipt string) (*Reporter, error) {
	jar, _ := cookiejar.New(nil)
	r := &Reporter{srv: s, client: &http.Client{Jar: jar}}
	resp, err := r.client.PostForm(s.URL+"/followup", url.Values{"receipt": {receipt}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `action="/followup/message"`) {
		return nil, fmt.Errorf("POST /followup: status %d, no case page", resp.StatusCode)
	}
	return r, nil
}

// CasePage returns the HTML of the case page (GET /followup).
func (r *Reporter) CasePage() (string, error) {
	resp, err := r.client.Get(r.srv.URL + "/followup")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /followup: status %d", resp.StatusCode)
	}
	return string(page), err
}

// Send posts a follow-up message (POST /followup/message, multipart, as the page's forms do).
func (r *Reporter) Send(message string) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("message", message)
	w.Close()
	resp, err := r.client.Post(r.srv.URL+"/followup/message", w.FormDataContentType(), &b)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /followup/message: status %d", resp.StatusCode)
	}
	return nil
}
