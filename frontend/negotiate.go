package frontend

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// maxLanguageRanges bounds the work spent on one Accept-Language header.
const maxLanguageRanges = 32

// Negotiate picks the language of a response: the explicit choice in the query
// (?lang=) first, then the cookie, then the best supported entry of the
// Accept-Language header, else [DefaultLanguage]. Tor Browser always sends
// "en-US,en" whatever its own language, so the explicit choice matters. The
// result is always one of [Frontend.Languages].
func (f *Frontend) Negotiate(query, cookie, acceptLanguage string) string {
	if tag, ok := f.Match(query); ok {
		return tag
	}
	if tag, ok := f.Match(cookie); ok {
		return tag
	}
	for _, r := range parseAcceptLanguage(acceptLanguage) {
		if tag, ok := f.Match(r); ok {
			return tag
		}
	}
	return DefaultLanguage
}

// Match returns the supported language tag for s: an exact match ignoring case,
// else the match of its primary subtag ("de-AT" → "de"). Handlers use it to
// decide whether a ?lang= value deserves a cookie.
func (f *Frontend) Match(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 35 {
		return "", false
	}
	s = strings.ReplaceAll(s, "_", "-")
	for _, l := range f.langs {
		if strings.ToLower(l.Tag) == s {
			return l.Tag, true
		}
	}
	primary, _, _ := strings.Cut(s, "-")
	for _, l := range f.langs {
		if strings.ToLower(l.Tag) == primary {
			return l.Tag, true
		}
	}
	return "", false
}

// parseAcceptLanguage returns the language ranges of an Accept-Language header
// by falling quality, skipping q=0, "*" and malformed entries; equal
// qualities keep their order.
func parseAcceptLanguage(h string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var ranges []weighted
	for i, part := range strings.Split(h, ",") {
		if i == maxLanguageRanges {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		q, ok := parseQuality(params)
		if !ok || q == 0 || tag == "" || tag == "*" {
			continue
		}
		ranges = append(ranges, weighted{tag, q})
	}
	slices.SortStableFunc(ranges, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	tags := make([]string, len(ranges))
	for i, r := range ranges {
		tags[i] = r.tag
	}
	return tags
}

// parseQuality reads "q=0.8" (absent: 1).
func parseQuality(params string) (float64, bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1, true
	}
	v, ok := strings.CutPrefix(strings.ToLower(params), "q=")
	if !ok {
		return 0, false
	}
	q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || q < 0 || q > 1 {
		return 0, false
	}
	return q, true
}
