// Package installation owns a Candor data directory and what it holds besides cases: opening the
// store (OpenStore), creating an installation (Init: salt, KDF parameters, the server's signing key,
// the installation id, the onion service keys, settings, reviewers), loading the server keys
// (LoadKeys, OnionKeys, ClientAuthKeys), the admin-edited settings (categories, questionnaires,
// retention periods) and the Directive's deadlines (Deadlines, DueDates, Attention). It has no HTTP.
package installation
