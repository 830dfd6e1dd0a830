package frontend

// ContentSecurityPolicy is DESIGN §9's policy for every page Candor serves (the reporter's pages and
// the reviewer's desk): nothing but our own stylesheet and images, no scripts, forms only to
// ourselves, never framed.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders are the headers every response carries, pages and errors alike: the policy
// above, no referrer, no sniffing, no framing, no caching, and a page isolated from other sites.
var SecurityHeaders = [...][2]string{
	{"Content-Security-Policy", ContentSecurityPolicy},
	{"Referrer-Policy", "no-referrer"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Cache-Control", "no-store"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"},
}
