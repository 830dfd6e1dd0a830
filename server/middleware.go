package server

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"candor/frontend"
)

// securityHeaders sets the headers every response carries, pages and errors alike. It runs first, so
// that even a request rejected by a later check gets them.
func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	for _, kv := range frontend.SecurityHeaders {
		h.Set(kv[0], kv[1])
	}
	return c.Next()
}

// crossOrigin reports whether a state-changing request comes from another origin, following Go's
// net/http CrossOriginProtection: browsers send Sec-Fetch-Site, which must be same-origin or none
// (typed into the address bar); older browsers send only Origin, whose host must be ours. Requests
// with neither header come from non-browser clients (curl, the sync client), which cannot carry a
// victim's cookies, and are allowed.
func crossOrigin(c *fiber.Ctx) bool {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	origin := c.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return true
	}
	return u.Host != string(c.Request().Host())
}
