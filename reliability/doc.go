// Package reliability holds Candor's reliability and abuse-resistance evidence (issue 8) as tests
// and benchmarks; it has no API of its own.
//
//   - Crash: SIGKILL `candor serve` during 50 concurrent uploads, restart, and check that every
//     issued receipt works, every stored case is complete and no pending chunk survives start-up.
//   - Disk full: the data directory on a small tmpfs (needs root); uploads that do not fit are
//     refused with a page, earlier cases stay intact.
//   - Floods: concurrent receipt logins (peak memory bounded by the KDF semaphore), slowloris
//     connections next to a real reporter, request smuggling.
//   - A corpus of hostile inputs (testdata/hostile): raw HTTP requests, outboxes and bundles, each
//     refused without a change to the store.
//   - Benchmarks: server-side encryption against gpg, and wrk on the reporter pages.
//
// The heavy tests are skipped with -short. Run them with
//
//	go test ./reliability
package reliability
