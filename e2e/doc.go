// Package e2e holds Candor's end-to-end tests: the candor binary, built from source, serving its
// two onion services on a private Tor network on loopback (candor/onion/tornet), driven by real
// headless Chromium with JavaScript off and by candor sync through the restricted onion.
//
// The tests need tor and Chromium. Without them they are skipped with an install hint, except
// under CANDOR_CI=1, where a missing tool fails the run. They are skipped in -short mode.
//
//	go test -race ./e2e                       # the tests (about two to three minutes)
//	go test -run '^$' -bench . ./e2e          # the onion upload benchmark
//
// CANDOR_SCREENSHOTS=DIR keeps the browser's screenshots; CANDOR_E2E_LOG=1 logs the output of
// candor serve (tor's warnings included) even when a test passes.
package e2e
